"""Global sensitivity over the priors (``flowsim.sensitivity``, ``flowsim sensitivity``).

The closed-form toy: one weekly step, two cohorts of ``N = 1000`` leaving with their own
hazards ``h1 ~ U(0.1, 0.3)`` and ``h2 ~ U(0.1, 0.2)`` (independent priors). The number
abroad at the end is ``Y = Bin(N, h1) + Bin(N, h2)``, so ``E[Y | h] = N h1 + N h2`` is
additive and linear, and

* ``Var E[Y | h] = N² Var h1 + N² Var h2`` (3,333 + 833);
* the model's randomness adds ``E Var(Y | h) = N E[h1 (1 - h1)] + N E[h2 (1 - h2)]``
  (157 + 127);

so the first-order and total indices are equal, ``S1 = 0.749`` and ``S2 = 0.187``, and the
randomness share is 0.064. For Morris, moving ``h_i`` by half its prior's probability
changes ``E[Y]`` by ``N (b_i - a_i) / 2``: ``mu`` is 100 and 50.

Statistical checks use 99% bootstrap intervals with fixed seeds: over seeds, each check
would fail about 1% of the time (at most 5% for the five Sobol indices together).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import invoke
from scipy import stats

import flowsim
from conftest import write_yaml
from flowsim.calibration.morris import elementary_effects, morris_design
from flowsim.calibration.sensitivity import Sensitivity, _sobol_statistic, sensitivity
from flowsim.cli._common import EXIT_BAD_INPUT
from flowsim.scenario.model import Scenario

N = 1000
PRIORS = {"h1": (0.1, 0.3), "h2": (0.1, 0.2)}
ABROAD = "abroad (left and not returned) at 2022-01-09"


def _toy_data() -> dict:
    return {
        "name": "two hazards",
        "calendar": {"start": "2022-01-03", "end": "2022-01-09", "step": "week"},
        "countries": [{"id": "ORG", "name": "Origin", "roles": ["origin"]},
                      {"id": "AAA", "name": "A", "roles": ["destination"],
                       "groups": ["west"]}],
        "routes": [{"from": "ORG", "to": "AAA"}],
        "cohorts": [{"name": "one", "population": N, "baseline_hazard": "h1"},
                    {"name": "two", "population": N, "baseline_hazard": "h2"}],
        "parameters": {p: {"value": (lo + hi) / 2,
                           "prior": {"dist": "uniform", "low": lo, "high": hi}}
                       for p, (lo, hi) in PRIORS.items()},
        "targets": [{"id": "leavers", "observable": "departures", "kind": "at_least",
                     "value": 300, "start": "2022-01-03", "end": "2022-01-09",
                     "source": "made up for the test"}],
    }


@pytest.fixture(scope="module")
def toy() -> Scenario:
    return Scenario.model_validate(_toy_data())


def _closed_form() -> dict[str, float]:
    var = {p: (hi - lo) ** 2 / 12 for p, (lo, hi) in PRIORS.items()}
    mean = {p: (hi + lo) / 2 for p, (lo, hi) in PRIORS.items()}
    explained = {p: N**2 * v for p, v in var.items()}
    noise = sum(N * (mean[p] - var[p] - mean[p] ** 2) for p in PRIORS)
    total = sum(explained.values()) + noise
    return {"h1": explained["h1"] / total, "h2": explained["h2"] / total,
            "randomness": noise / total}


@pytest.fixture(scope="module")
def sobol(toy: Scenario) -> Sensitivity:
    return sensitivity(toy, samples=512, seed=11, workers=1, confidence=0.99, resamples=400)


def test_sobol_indices_of_an_additive_model_match_the_closed_form(sobol: Sensitivity) -> None:
    exact = _closed_form()
    assert exact["h1"] == pytest.approx(0.749, abs=1e-3)
    o = sobol.outcomes.index(ABROAD)
    for kind in ("first_order", "total_order"):  # additive: total = first order
        for p, name in enumerate(sobol.parameters):
            lo, hi = sobol.low[kind][o, p], sobol.high[kind][o, p]
            assert lo <= exact[name] <= hi, (kind, name, lo, sobol.estimate[kind][o, p], hi)
            assert hi - lo < 0.3  # an interval that says something
    lo, hi = sobol.randomness[1][o], sobol.randomness[2][o]
    assert lo <= exact["randomness"] <= hi


def test_the_bootstrap_statistic_is_scipys_estimator() -> None:
    rng = np.random.default_rng(0)
    s, d, n = 3, 4, 64
    f_a, f_b = rng.normal(size=(s, n)), rng.normal(size=(s, n))
    f_ab = rng.normal(size=(d, s, n)) + f_a
    res = stats.sobol_indices(func={"f_A": f_a, "f_B": f_b, "f_AB": f_ab}, n=n)
    mean = np.mean([f_a, f_b], axis=(0, -1))[:, None]
    mine = _sobol_statistic(f_a - mean, f_b - mean, f_ab - mean, f_a - mean)
    np.testing.assert_allclose(mine[:s * d].reshape(s, d), res.first_order, rtol=1e-12)
    np.testing.assert_allclose(mine[s * d:2 * s * d].reshape(s, d), res.total_order,
                               rtol=1e-12)
    assert np.all(mine[2 * s * d:] == 0)  # the same runs twice: no randomness


def test_morris_effects_of_a_linear_model_match_the_closed_form(toy: Scenario) -> None:
    res = sensitivity(toy, method="morris", samples=64, seed=3, workers=1, confidence=0.99)
    o = res.outcomes.index(ABROAD)
    for p, name in enumerate(res.parameters):
        lo, hi = PRIORS[name]
        exact = N * (hi - lo) / 2
        assert res.low["mu"][o, p] <= exact <= res.high["mu"][o, p]
        # the effects never change sign here, so mu* is mu
        assert res.estimate["mu_star"][o, p] == pytest.approx(res.estimate["mu"][o, p])
    assert res.simulations == 64 * 3 + 1  # r (d + 1) and the run that names the outcomes


def test_morris_design_moves_one_parameter_by_half_the_probability() -> None:
    u, order, sign = morris_design(5, 7, np.random.default_rng(1), levels=4)
    assert u.shape == (7, 6, 5)
    assert set(np.unique(u)) <= {0.125, 0.375, 0.625, 0.875}
    step = np.diff(u, axis=1)  # (r, d, d)
    moved = np.abs(step) > 0
    assert np.all(moved.sum(axis=2) == 1)
    assert np.all(np.abs(step[moved]) == 0.5)
    for t in range(7):
        assert sorted(order[t]) == list(range(5))
        assert np.all(np.argmax(moved[t], axis=1) == order[t])
        assert np.all(np.sign(step[t][moved[t]]) == sign[t])
    f = u.sum(axis=2, keepdims=True) * np.array([2.0])  # f = 2 Σ u: every effect is 1
    np.testing.assert_allclose(elementary_effects(f, order, sign), 1.0)
    with pytest.raises(ValueError, match="even"):
        morris_design(2, 2, np.random.default_rng(1), levels=3)


def test_the_same_seed_gives_the_same_indices(toy: Scenario) -> None:
    a = sensitivity(toy, samples=16, seed=5, workers=1, resamples=50).to_dataframe()
    b = sensitivity(toy, samples=16, seed=5, workers=1, resamples=50).to_dataframe()
    c = sensitivity(toy, samples=16, seed=6, workers=1, resamples=50).to_dataframe()
    assert a.equals(b)
    assert not a["estimate"].equals(c["estimate"])


def test_the_result_is_a_tidy_table_with_an_html_view(sobol: Sensitivity,
                                                      tmp_path: Path) -> None:
    df = sobol.to_dataframe()
    assert list(df.columns) == ["outcome", "source", "parameter", "index", "estimate",
                                "low", "high"]
    assert set(df["index"]) == {"first_order", "total_order", "randomness"}
    assert set(df["source"]) == {"headline", "target"}
    assert "leavers" in set(df["outcome"])  # the target
    assert "stock in west at 2022-01-09" in set(df["outcome"])  # the group's stock
    assert len(df) == len(sobol.outcomes) * (2 * 2 + 1)
    # outcomes that cannot vary (nobody returns in this toy) are left out, and said so
    assert any(c.startswith("returned to the origin") for c in sobol.constant)
    path = sobol.to_csv(tmp_path / "s.csv")
    assert path.read_text(encoding="utf-8").startswith("outcome,source,parameter,index")
    html = sobol._repr_html_()
    assert "<table>" in html and "h1" in html and "two hazards" in html


def test_parameters_are_checked(toy: Scenario) -> None:
    one = sensitivity(toy, method="morris", samples=4, parameters=["h2"], workers=1,
                      resamples=20)
    assert one.parameters == ("h2",)
    with pytest.raises(KeyError, match="unknown parameter 'h3'"):
        sensitivity(toy, parameters=["h3"])
    with pytest.raises(ValueError, match="power of 2"):
        sensitivity(toy, samples=48)
    with pytest.raises(ValueError, match="unknown method"):
        sensitivity(toy, method="fast")
    assert flowsim.sensitivity is sensitivity


# -- the command ---------------------------------------------------------------------------


@pytest.fixture
def toy_file(tmp_path: Path) -> Path:
    return write_yaml(tmp_path / "toy.yaml", _toy_data())


def test_the_command_writes_its_files(toy_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("sensitivity", str(toy_file), "-n", "16", "--workers", "1", "--out",
                    str(out), "--seed", "4", "--report")
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"sensitivity.csv", "sensitivity.png",
                                                "run.json", "report.html"}
    assert "Headline numbers" in result.stdout and "h1" in result.stdout
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert info["method"] == "sobol" and info["samples"] == 16
    assert info["simulations"] == 16 * 5 + 1
    assert info["command"]["repeat"].startswith("flowsim sensitivity")
    assert "--seed 4" in info["command"]["repeat"]
    assert (out / "sensitivity.png").read_bytes()[:4] == b"\x89PNG"
    first = (out / "sensitivity.csv").read_text(encoding="utf-8")
    # flowsim report and flowsim plot read the directory back: the same indices
    from flowsim.reports.sensitivity import read_sensitivity

    back = read_sensitivity(out)
    assert back.to_dataframe().round(5).equals(
        pd.read_csv(out / "sensitivity.csv", keep_default_na=False).round(5))
    page = out / "again.html"
    assert invoke("report", str(out), "-o", str(page)).exit_code == 0
    assert "Sensitivity of" in page.read_text(encoding="utf-8")
    drawn = invoke("plot", str(out), "-f", "svg", "-o", str(tmp_path / "figs"))
    assert drawn.exit_code == 0, drawn.output
    assert (tmp_path / "figs" / "sensitivity.svg").is_file()
    # an existing directory is refused without --force
    again = invoke("sensitivity", str(toy_file), "-n", "16", "-w", "1", "--out", str(out))
    assert again.exit_code == EXIT_BAD_INPUT
    assert "already holds files" in again.stderr
    # the seed reaches the design and the engine
    invoke("sensitivity", str(toy_file), "-n", "16", "-w", "1", "--out", str(out),
           "--seed", "5", "--force", "--no-figures", "-q")
    assert (out / "sensitivity.csv").read_text(encoding="utf-8") != first


@pytest.mark.parametrize(("args", "message"), [
    (("-n", "12"), "must be a power of 2 (the balance of Sobol points needs it); try 8 or 16"),
    (("--method", "fast"), "unknown method 'fast'; choose sobol or morris"),
    (("--parameters", "h1,hx"), "unknown parameter 'hx'"),
    (("--confidence", "2"), "Invalid value for '--confidence'"),
])
def test_the_command_refuses_bad_options(toy_file: Path, tmp_path: Path, args: tuple,
                                         message: str) -> None:
    result = invoke("sensitivity", str(toy_file), *args, "--out", str(tmp_path / "out"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert message in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_command_refuses_a_scenario_without_priors(tmp_path: Path) -> None:
    data = _toy_data()
    data["parameters"] = {p: {"value": 0.2} for p in PRIORS}
    result = invoke("sensitivity", str(write_yaml(tmp_path / "s.yaml", data)), "--out",
                    str(tmp_path / "out"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "no parameter has a prior" in result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    result = invoke("sensitivity", str(bad), "--out", str(tmp_path / "out"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "bad.yaml:" in result.stderr

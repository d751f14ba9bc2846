"""Convergence you can see: ``converged`` in the posterior, the report, run.json, the figures
and on stderr, and the warning when a posterior piles up at a prior bound.

The toy is :func:`flowsim.testing.toys.linear_chain` (N = 10,000, h = 0.1, 8 weeks) with the
origin's hazard ``h`` estimated and one ``about`` target on departures at their exact
expectation ``N (1 - 0.9^8) = 5,695`` (±2 %). Its posterior is near 0.1 (sd about 0.002), so
a uniform prior with upper bound 0.05 excludes the value that fits.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from cli_helpers import invoke

from conftest import write_yaml
from flowsim.calibration import Posterior, abc_smc, rejection_abc
from flowsim.calibration.convergence import (
    BOUND_BAND,
    BOUND_SHARE,
    bound_pileups,
    converged_from_attrs,
    convergence_note,
)
from flowsim.calibration.loading import load_posterior
from flowsim.reports.calibration import draw_calibration_figures, open_calibration
from flowsim.scenario.model import Prior, Scenario
from flowsim.testing.toys import linear_chain

TOY = linear_chain(N=10_000, h=0.1, q=0.2, steps=8)
DEPARTURES = round(10_000 * (1 - 0.9**8))  # their exact expectation


def chain_data(low: float = 0.01, high: float = 0.3, tolerance: float = 0.02) -> dict:
    data = TOY.scenario.to_data()
    data["cohorts"][0]["baseline_hazard"] = "h"
    data["parameters"] = {"h": {"value": 0.1, "prior": {"dist": "uniform", "low": low,
                                                        "high": high}}}
    data["targets"] = [{"id": "dep", "observable": "departures", "kind": "about",
                        "value": DEPARTURES, "tolerance": tolerance,
                        "start": data["calendar"]["start"], "end": data["calendar"]["end"],
                        "source": "exact expectation"}]
    return data


def chain(**kw: float) -> Scenario:
    return Scenario.model_validate(chain_data(**kw))


# -- the rule for a posterior piling up at a bound ------------------------------------------------


def _prior(**kw: float | str) -> Prior:
    return Prior.model_validate(kw)


def test_bound_rule_on_known_particle_sets() -> None:
    rng = np.random.default_rng(1)
    w = np.full(1000, 1e-3)
    flat = _prior(dist="uniform", low=0.0, high=1.0)
    # a posterior equal to the prior: 5 % ± 0.7 % in each band, far below 25 %
    assert bound_pileups(["x"], rng.uniform(0, 1, (1000, 1)), w, [flat]) == []
    # one well inside the prior: none
    assert bound_pileups(["x"], rng.normal(0.5, 0.05, (1000, 1)), w, [flat]) == []
    # cut off by the upper bound: everything within the top 5 %
    (p,) = bound_pileups(["x"], rng.uniform(0.97, 1.0, (1000, 1)), w, [flat])
    assert (p.parameter, p.side, p.bound) == ("x", "upper", 1.0)
    assert p.share == pytest.approx(1.0)
    assert p.prior_share == pytest.approx(BOUND_BAND)
    assert "piles up at the upper bound" in p.sentence()
    # just under the threshold, and just over it (weights, not counts)
    x = np.where(np.arange(1000) < 240, 0.99, 0.5)[:, None]
    assert bound_pileups(["x"], x, w, [flat]) == []
    x = np.where(np.arange(1000) < 260, 0.01, 0.5)[:, None]
    assert [q.side for q in bound_pileups(["x"], x, w, [flat])] == ["lower"]
    assert BOUND_SHARE == 0.25
    # a loguniform prior's band is on the log scale: 1e-3..1 has its top 5 % above 10^-0.15
    logu = _prior(dist="loguniform", low=1e-3, high=1.0)
    assert bound_pileups(["r"], np.full((1000, 1), 0.8), w, [logu])[0].side == "upper"
    assert bound_pileups(["r"], np.full((1000, 1), 0.6), w, [logu]) == []
    # a truncated normal centred on its bound crowds it by itself: drawn from the prior,
    # no warning (the 2 × prior-share term); a beta's natural limit is never checked
    tn = _prior(dist="truncnormal", mean=0.0, sd=1.0, low=0.0, high=10.0)
    draws = tn.frozen().rvs(size=(1000, 1), random_state=rng)
    assert bound_pileups(["t"], draws, w, [tn]) == []
    beta = _prior(dist="beta", a=0.5, b=5)
    assert bound_pileups(["b"], np.full((1000, 1), 1e-4), w, [beta]) == []


def test_old_posteriors_read_as_convergence_unknown() -> None:
    assert converged_from_attrs({}) is None
    assert converged_from_attrs({"converged": "false"}) is False
    assert converged_from_attrs({"converged": "true"}) is True
    assert convergence_note({"stop_reason": "budget exhausted"}).startswith(
        "convergence unknown")
    # the Syrian posterior was written before flowsim recorded convergence
    post = Posterior.load("scenarios/syria-2015-posterior.nc")
    assert "converged" not in post.attrs
    assert post.converged is None and post.prior_bound_warnings == ()
    # the Russian one after: converged, to the error model's goal
    assert Posterior.load("scenarios/russia-2022-posterior.nc").converged is True


# -- the samplers -------------------------------------------------------------------------------


def test_a_budget_limited_calibration_is_not_converged_and_says_so(tmp_path: Path) -> None:
    post = abc_smc(chain(), population=200, budget=2_000, seed=1, workers=1)
    assert post.attrs["stop_reason"] == "budget exhausted" and post.epsilon > 0
    assert post.converged is False
    assert post.attrs["convergence"].startswith("budget exhausted at ε =")
    post.save(tmp_path / "p.nc")
    with xr.open_dataset(tmp_path / "p.nc") as ds:
        assert ds.attrs["converged"] == "false"
    again = Posterior.load(tmp_path / "p.nc")
    assert again.converged is False
    # flowsim run/compare --posterior read it through load_posterior: a warning
    loaded = load_posterior(tmp_path / "p.nc", chain())
    assert any("did NOT converge" in w for w in loaded.warnings)
    assert loaded.info()["converged"] is False
    # so does a run stopped by generations_max, and by the mcmc sampler's budget
    assert abc_smc(chain(), population=200, budget=20_000, generations_max=2,
                   seed=1).converged is False
    assert abc_smc(chain(), population=200, budget=2_000, seed=1, workers=1,
                   method="mcmc").converged is False


def test_a_calibration_that_reaches_its_tolerance_is_converged(tmp_path: Path) -> None:
    post = abc_smc(chain(), population=200, budget=20_000, seed=1, workers=1)
    assert post.attrs["stop_reason"] == "tolerance reached" and post.epsilon == 0.0
    assert post.converged is True and post.prior_bound_warnings == ()
    post.save(tmp_path / "p.nc")
    with xr.open_dataset(tmp_path / "p.nc") as ds:
        assert ds.attrs["converged"] == "true"
    assert load_posterior(tmp_path / "p.nc", chain()).warnings == ()
    # rejection ABC: converged with a given tolerance, not with a quantile above 0
    assert rejection_abc(chain(), n=400, epsilon=0.1, seed=2, workers=1).converged is True
    assert rejection_abc(chain(), n=400, quantile=0.5, seed=2, workers=1).converged is False


def test_a_prior_whose_upper_bound_is_below_the_fit_warns() -> None:
    post = abc_smc(chain(high=0.05), population=200, budget=4_000, seed=1, workers=1)
    assert post.converged is False  # the target cannot be met inside the prior
    (w,) = post.prior_bound_warnings
    assert "the posterior of h piles up at the upper bound of its prior (0.05)" in w


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unconverged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    tmp = tmp_path_factory.mktemp("unconverged")
    file = write_yaml(tmp / "chain.yaml", chain_data(high=0.05))
    out = tmp / "out"
    result = invoke("calibrate", str(file), "--budget", "1000", "--population", "100",
                    "--method", "pmc", "--predictive", "20", "--seed", "3", "--workers", "1",
                    "--out", str(out))
    return file, out, result


def test_calibrate_on_budget_warns_and_writes_converged_false(unconverged) -> None:
    file, out, result = unconverged
    assert result.exit_code == 0, result.output
    assert "warning: NOT CONVERGED: budget exhausted at ε =" in result.stderr
    assert "warning: the posterior of h piles up at the upper bound" in result.stderr
    with xr.open_dataset(out / "posterior.nc") as ds:
        assert ds.attrs["converged"] == "false"
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "**Warning: NOT CONVERGED.** budget exhausted" in report
    assert "piles up at the upper bound" in report
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert meta["converged"] is False and meta["convergence"].startswith("budget exhausted")
    assert len(meta["prior_bound_warnings"]) == 1
    figures, _ = draw_calibration_figures(open_calibration(out))
    targets = figures["targets"].axes[0].get_title(loc="left")
    assert "not converged" in targets and "calibrated model" not in targets
    assert figures["fan_departures"].axes[0].get_title(loc="left").endswith(": not converged")
    # the posterior used by `flowsim run` is said to be unconverged
    run = invoke("run", str(file), "--posterior", str(out / "posterior.nc"), "-n", "4",
                 "-w", "1", "--no-figures", "--out", str(out.parent / "run"))
    assert run.exit_code == 0, run.output
    assert "did NOT converge" in run.stderr
    # and by `flowsim compare` (a counterfactual with a faster onward hazard)
    cf = file.parent / "cf.yaml"
    cf.write_text("extends: chain.yaml\nname: faster-onward\ncountries:\n  replace:\n"
                  "    - {id: AAA, name: A, roles: [transit], onward_hazard: 0.3}\n",
                  encoding="utf-8")
    compare = invoke("compare", str(file), str(cf), "--posterior", str(out / "posterior.nc"),
                     "-n", "4", "-w", "1", "--no-figures", "--out", str(out.parent / "cmp"))
    assert compare.exit_code == 0, compare.output
    assert "did NOT converge" in compare.stderr


def test_calibrate_to_the_tolerance_says_converged(tmp_path: Path) -> None:
    file = write_yaml(tmp_path / "chain.yaml", chain_data())
    out = tmp_path / "out"
    result = invoke("calibrate", str(file), "--budget", "20000", "--population", "200",
                    "--method", "pmc", "--predictive", "20", "--seed", "3", "--workers", "1",
                    "--no-figures", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "converged: tolerance reached" in result.stderr and "warning" not in result.stderr
    with xr.open_dataset(out / "posterior.nc") as ds:
        assert ds.attrs["converged"] == "true"
    assert "**Converged**: tolerance reached" in (out / "report.md").read_text(encoding="utf-8")
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["converged"] is True


def test_a_small_effective_sample_is_warned_about() -> None:
    from flowsim.calibration.convergence import MIN_ESS, small_sample

    assert small_sample(400.0, 400) == ""
    assert small_sample(float(MIN_ESS), 400) == ""
    assert small_sample(30.0, 30) == ""  # the whole of a small population
    few = small_sample(18.9, 400)
    assert few.startswith("the posterior's effective sample is 19 of 400 particles")
    assert "rough" in few

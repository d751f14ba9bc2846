"""``flowsim validate`` and the command-line entry, run in-process."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cli_helpers import invoke, runner

import flowsim
from flowsim.cli import app
from flowsim.cli._common import EXIT_BAD_INPUT, handle_input_errors
from flowsim.scenario.yamlio import MAX_BYTES, MAX_NODES


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"flowsim {flowsim.__version__}"


def test_help_lists_validate() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "validate" in result.stdout
    result = invoke("validate", "--help")
    assert result.exit_code == 0
    assert "--json" in result.stdout


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "Usage" in result.output
    assert result.exit_code in (0, 2)


def test_the_entry_point_is_main() -> None:
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "flowsim"]
    assert ep.value == "flowsim.cli:main"


# --------------------------------------------------------------------------------------------
# a valid file
# --------------------------------------------------------------------------------------------


def test_valid_file_summary(scenario_file) -> None:
    path = scenario_file()
    result = invoke("validate", str(path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert result.stderr == ""
    assert f"{path}: toy" in out and "(valid)" in out
    assert "2022-01-03 to 2022-12-25: 51 week steps" in out
    assert "origin RUS; transit GEO, FIN; destination GEO, ARM, DEU, FIN" in out
    assert "visa_free 3 (RUS_GEO_land, RUS_ARM_air, FIN_DEU_land)" in out
    assert "visa_required 2 (RUS_FIN_land, GEO_DEU_air)" in out
    assert "men 1,000,000; rest 5,000,000; total 6,000,000" in out
    # policies in date order, not file order
    lines = out.splitlines()
    order = [next(i for i, line in enumerate(lines) if name in line)
             for name in ("schengen_tightens", "germany_asylum", "finland_closes")]
    assert order == sorted(order)
    assert any("2022-03-01" in line and "2022-06-30" in line and "schengen_tightens" in line
               for line in lines)
    assert any("p_return" in line and "0.01" in line and "uniform(0, 0.05)" in line
               for line in lines)
    assert any("p_issue" in line and "(fixed)" in line for line in lines)
    assert any("left_2022" in line and "departures" in line and "about 500,000 (±25%)" in line
               for line in lines)
    assert any("in_georgia" in line and "50,000 to 150,000" in line for line in lines)
    assert "Warnings" not in out


def test_summary_at_the_default_width(scenario_file) -> None:
    result = runner.invoke(app, ["validate", str(scenario_file())])
    assert result.exit_code == 0
    assert "toy" in result.stdout and "Traceback" not in result.output


def test_warnings_are_shown_and_exit_is_zero(scenario_file) -> None:
    path = scenario_file(lambda d: d["parameters"].update(spare=1.0))
    result = invoke("validate", str(path))
    assert result.exit_code == 0
    assert "(valid, 1 warning)" in result.stdout
    assert "Warnings (1)" in result.stdout
    assert "parameters.spare: warning: the parameter 'spare' is declared but never used" \
        in result.stdout


def test_partial_last_step_and_months(scenario_file) -> None:
    path = scenario_file(lambda d: d["calendar"].update(end=dt.date(2022, 12, 28)))
    assert "52 week steps, the last one 3 days" in invoke("validate", str(path)).stdout

    def monthly(d):
        d["calendar"] = {"start": dt.date(2022, 1, 31), "end": dt.date(2022, 12, 30),
                         "step": "month"}

    out = invoke("validate", "--json", str(scenario_file(monthly))).stdout
    horizon = json.loads(out)["files"][0]["summary"]["horizon"]
    # steps start Jan 31, Feb 28, Mar 31, ..., Nov 30; the last, Nov 30 to Dec 30 inclusive,
    # is a whole month (the next would start on Dec 31)
    assert horizon == {"start": "2022-01-31", "end": "2022-12-30", "step": "month",
                       "steps": 11, "last_step_days": 31, "last_step_partial": False}
    def cut_short(d):
        monthly(d)
        d["calendar"]["end"] = dt.date(2022, 12, 29)

    path = scenario_file(cut_short)
    horizon = json.loads(invoke("validate", "--json", str(path)).stdout)["files"][0]
    assert horizon["summary"]["horizon"]["last_step_partial"] is True


def test_population_through_a_parameter(scenario_file) -> None:
    def param(d):
        d["cohorts"][0]["population"] = "pop_men"
        d["parameters"]["pop_men"] = 2_000_000

    out = invoke("validate", "--json", str(scenario_file(param))).stdout
    summary = json.loads(out)["files"][0]["summary"]
    assert summary["cohorts"][0] == {"name": "men", "population": 2_000_000,
                                     "parameter": "pop_men"}
    assert summary["population"] == 7_000_000


# --------------------------------------------------------------------------------------------
# a bad file
# --------------------------------------------------------------------------------------------


def _three_mistakes(d):
    d["routes"][0]["to"] = "GEE"
    d["cohorts"][0]["population"] = -5
    d["policies"][1]["end"] = dt.date(2022, 2, 1)


def test_bad_file_lists_every_problem(scenario_file) -> None:
    path = scenario_file(_three_mistakes)
    result = invoke("validate", str(path))
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stdout == ""
    err = result.stderr.splitlines()
    assert len(err) == 5  # 3 errors, 1 warning (GEO unreachable), 1 closing line
    assert err[-1] == f"{path}: invalid (3 errors, 1 warning)"
    assert any(line.startswith(f"{path}:") and "routes[0].to: unknown country 'GEE' — did you "
               "mean 'GEO'?" in line for line in err)
    assert any("cohorts[0].population: expected a whole number" in line for line in err)
    assert any("policies[1].end: the policy ends (2022-02-01)" in line for line in err)


def test_bad_file_lines_are_not_wrapped(scenario_file) -> None:
    path = scenario_file(_three_mistakes)
    result = runner.invoke(app, ["validate", str(path)], env={"COLUMNS": "40"})
    assert len(result.stderr.splitlines()) == 5


def test_json_output(scenario_file) -> None:
    good = scenario_file(name="good.yaml")
    bad = scenario_file(_three_mistakes, name="bad.yaml")
    result = invoke("validate", "--json", str(good), str(bad))
    assert result.exit_code == EXIT_BAD_INPUT
    doc = json.loads(result.stdout)
    first, second = doc["files"]
    assert first["file"] == str(good) and first["ok"] is True and first["problems"] == []
    assert first["summary"]["name"] == "toy"
    assert first["summary"]["horizon"]["steps"] == 51
    assert first["summary"]["routes"]["count"] == 5
    assert first["summary"]["countries"] == {
        "count": 5, "by_role": {"origin": ["RUS"], "transit": ["GEO", "FIN"],
                                "destination": ["GEO", "ARM", "DEU", "FIN"]}}
    assert first["summary"]["population"] == 6_000_000
    assert [p["name"] for p in first["summary"]["policies"]] == [
        "schengen_tightens", "germany_asylum", "finland_closes"]
    assert first["summary"]["parameters"][0] == {"name": "p_return", "value": 0.01,
                                                 "prior": "uniform(0, 0.05)"}
    assert first["summary"]["targets"][1]["figure"] == "50,000 to 150,000"
    assert second["ok"] is False and second["summary"] is None
    assert [p["severity"] for p in second["problems"]].count("error") == 3
    gee = next(p for p in second["problems"] if p["path"] == "routes[0].to")
    assert gee["file"] == str(bad)
    assert gee["message"] == "unknown country 'GEE' — did you mean 'GEO'?"
    assert isinstance(gee["line"], int) and isinstance(gee["column"], int)
    assert set(gee) == {"message", "path", "file", "line", "column", "severity"}


def test_json_of_a_good_file_exits_zero(scenario_file) -> None:
    result = invoke("validate", "--json", str(scenario_file()))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["files"][0]["ok"] is True


def test_several_files_report_all(scenario_file) -> None:
    a = scenario_file(name="a.yaml")
    b = scenario_file(_three_mistakes, name="b.yaml")
    c = scenario_file(lambda d: d.update(name="third"), name="c.yaml")
    result = invoke("validate", str(a), str(b), str(c), "missing.yaml")
    assert result.exit_code == EXIT_BAD_INPUT
    assert f"{a}: toy" in result.stdout and f"{c}: third" in result.stdout
    assert f"{b}: invalid (3 errors, 1 warning)" in result.stderr
    assert "missing.yaml: does not exist" in result.stderr
    assert "missing.yaml: invalid (1 error)" in result.stderr


def test_several_good_files_exit_zero(scenario_file) -> None:
    a, b = scenario_file(name="a.yaml"), scenario_file(name="b.yaml")
    assert invoke("validate", str(a), str(b)).exit_code == 0


def test_counterfactual_file(scenario_file) -> None:
    cf = scenario_file(name="base.yaml").parent / "cf.yaml"
    cf.write_text("extends: base.yaml\nname: no closure\npolicies:\n"
                  "  remove: [finland_closes]\n", encoding="utf-8")
    result = invoke("validate", "--json", str(cf))
    assert result.exit_code == 0
    summary = json.loads(result.stdout)["files"][0]["summary"]
    assert summary["name"] == "no closure"
    assert [p["name"] for p in summary["policies"]] == ["schengen_tightens", "germany_asylum"]


# --------------------------------------------------------------------------------------------
# garbage: one clear line, exit 2, never a traceback
# --------------------------------------------------------------------------------------------


def _garbage(tmp_path: Path, kind: str) -> tuple[Path, str]:
    path = tmp_path / f"{kind}.yaml"
    if kind == "missing":
        return path, "does not exist"
    if kind == "directory":
        path.mkdir()
        return path, "is a directory, not a scenario file"
    if kind == "empty":
        path.write_bytes(b"")
        return path, "is empty"
    if kind == "binary":
        path.write_bytes(bytes(range(256)) * 64)
        return path, "is not UTF-8 text (byte 0x80 at offset 128)"
    if kind == "nul":
        path.write_bytes(b"name: toy\x00\x00\x00\n")
        return path, "holds NUL bytes: it is a binary file, not YAML"
    if kind == "latin1":
        path.write_bytes("name: Россия\n".encode("koi8-r"))
        return path, "is not UTF-8 text"
    if kind == "list":
        path.write_text("- name: toy\n- name: other\n", encoding="utf-8")
        return path, "a scenario file holds a mapping of sections, not a list"
    if kind == "scalar":
        path.write_text("just some words\n", encoding="utf-8")
        return path, "a scenario file holds a mapping of sections, not the text"
    if kind == "huge":
        with path.open("wb") as fh:
            fh.write(b"name: toy\n")
            fh.write((b"# " + b"x" * 1021 + b"\n") * (MAX_BYTES // 1024 + 1))
        return path, "is larger than 16 MiB"
    if kind == "deep":
        path.write_text("[" * 10_000 + "]" * 10_000, encoding="utf-8")
        return path, "is nested too deeply (more than 64 levels)"
    if kind == "deep_mapping":
        path.write_text("{a: " * 10_000 + "1" + "}" * 10_000, encoding="utf-8")
        return path, "is nested too deeply (more than 64 levels)"
    if kind == "alias_bomb":
        lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        for prev, name in zip("abcdefgh", "bcdefghi"):
            lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path, f"expands to more than {MAX_NODES:,} values"
    if kind == "two_documents":
        path.write_text("name: toy\n---\nname: again\n", encoding="utf-8")
        return path, "holds several YAML documents"
    if kind == "duplicate_key":
        path.write_text("name: a\nname: b\n", encoding="utf-8")
        return path, "the key 'name' appears twice in the same mapping"
    if kind == "bad_syntax":
        path.write_text("name: [toy\n", encoding="utf-8")
        return path, "is not valid YAML"
    if kind == "python_tag":
        path.write_text("name: !!python/object/apply:os.system [ls]\n", encoding="utf-8")
        return path, "is not allowed in a scenario"
    raise AssertionError(kind)


GARBAGE = ["missing", "directory", "empty", "binary", "nul", "latin1", "list", "scalar", "huge",
           "deep", "deep_mapping", "alias_bomb", "two_documents", "duplicate_key",
           "bad_syntax", "python_tag"]


@pytest.mark.parametrize("kind", GARBAGE)
def test_garbage_gives_one_clear_line(tmp_path: Path, kind: str) -> None:
    path, message = _garbage(tmp_path, kind)
    result = invoke("validate", str(path))
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stdout == ""
    problem, closing = result.stderr.splitlines()
    assert problem.startswith(f"{path}") and message in problem
    assert closing == f"{path}: invalid (1 error)"


@pytest.mark.parametrize("kind", GARBAGE)
def test_garbage_in_json(tmp_path: Path, kind: str) -> None:
    path, message = _garbage(tmp_path, kind)
    result = invoke("validate", "--json", str(path))
    assert result.exit_code == EXIT_BAD_INPUT
    (entry,) = json.loads(result.stdout)["files"]
    assert entry["ok"] is False and entry["summary"] is None
    (problem,) = entry["problems"]
    assert message in problem["message"] and problem["file"] == str(path)


# --------------------------------------------------------------------------------------------
# the shared helper other commands use
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raise_, expected", [
    (lambda p: flowsim.load_scenario(p / "nope.yaml"), "nope.yaml: does not exist"),
    (lambda p: (p / "nope.txt").open(), "nope.txt: no such file or directory"),
    (lambda p: __import__("yaml").safe_load("a: ["), "is not valid YAML"),
])
def test_handle_input_errors(tmp_path: Path, capsys, raise_, expected) -> None:
    import typer

    with pytest.raises(typer.Exit) as info, handle_input_errors():
        raise_(tmp_path)
    assert info.value.exit_code == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and expected in err


def test_handle_input_errors_lets_bugs_through() -> None:
    with pytest.raises(ZeroDivisionError), handle_input_errors():
        1 / 0  # noqa: B018


def test_handle_input_errors_as_a_decorator(tmp_path: Path, capsys) -> None:
    import typer

    @handle_input_errors()
    def command() -> None:
        flowsim.load_scenario(tmp_path)

    with pytest.raises(typer.Exit):
        command()
    assert "is a directory" in capsys.readouterr().err


def test_validate_on_an_overlay_shows_what_it_changes() -> None:
    """An overlay is shown as its changes against the file it extends (not the whole merged
    scenario), in text and in JSON."""
    import json
    import subprocess
    import sys

    overlay = "scenarios/counterfactuals/georgia_kazakhstan_visas.yaml"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "flowsim", "validate", overlay], cwd=root,
                         capture_output=True, text=True, check=True).stdout
    assert "an overlay of" in out and "russia-2022.yaml" in out
    assert "+ policy" in out and "Targets" not in out  # changes, not the whole summary
    doc = json.loads(subprocess.run(
        [sys.executable, "-m", "flowsim", "validate", "--json", overlay], cwd=root,
        capture_output=True, text=True, check=True).stdout)
    entry = doc["files"][0]
    assert entry["extends"].endswith("russia-2022.yaml")
    assert any(c["kind"] == "added" and c["path"].startswith("policies")
               for c in entry["changes"])

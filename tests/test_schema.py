"""``flowsim schema``: the JSON Schema of the scenario format, and the copy shipped in docs/.

The shipped ``docs/scenario.schema.json`` must equal what ``flowsim schema`` prints; when the
scenario models change, regenerate it on purpose::

    flowsim schema --out docs/scenario.schema.json

Every shipped scenario (overlays included) must validate against it, and so must every valid
scenario the property-based strategies generate: the schema may not refuse what flowsim
accepts.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import json
import warnings
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

import flowsim.cli.schema as cli_schema
from flowsim.cli import app
from flowsim.scenario.docs import FIELD_DOCS, FILE_KEYS, MODELS, VALUE_NOTE
from flowsim.scenario.schema import scenario_schema, schema_text
from flowsim.testing.strategies import scenario_data

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "docs" / "scenario.schema.json"
SCENARIOS = sorted(p for p in (ROOT / "scenarios").rglob("*.yaml")
                   if not p.name.endswith("-targets.yaml"))
TARGET_FILES = sorted((ROOT / "scenarios").rglob("*-targets.yaml"))
REGENERATE = "regenerate it on purpose: flowsim schema --out docs/scenario.schema.json"

runner = CliRunner()


def plain(x: Any) -> Any:
    """YAML data as JSON sees it: dates as ISO text (editors read YAML 1.2, where
    ``2022-02-24`` is text)."""
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [plain(v) for v in x]
    if isinstance(x, dt.date):
        return x.isoformat()
    return x


def load(path: Path) -> Any:
    return plain(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return scenario_schema()


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def errors(validator: jsonschema.Draft7Validator, data: Any) -> list[tuple[list[Any], str]]:
    """Every error with its path, those inside ``anyOf`` branches included."""
    out: list[tuple[list[Any], str]] = []

    def collect(e: jsonschema.ValidationError) -> None:
        out.append((list(e.absolute_path), e.message))
        for sub in e.context or ():
            collect(sub)

    for e in validator.iter_errors(data):
        collect(e)
    return out


# -- the command and the shipped copy ---------------------------------------------------------


def test_schema_is_a_valid_draft7_schema(schema: dict[str, Any]) -> None:
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_shipped_schema_equals_the_command_output() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    assert result.stdout == schema_text()
    assert SHIPPED.read_text(encoding="utf-8") == result.stdout, (
        f"{SHIPPED.relative_to(ROOT)} is out of date; {REGENERATE}")


def test_schema_out_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "scenario.schema.json"
    result = runner.invoke(app, ["schema", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert out.read_text(encoding="utf-8") == schema_text()
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left


def test_schema_out_into_a_missing_folder_is_bad_input(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema", "--out", str(tmp_path / "nowhere" / "s.json")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "No such file or directory".lower() in result.output.lower()


def test_no_ref_has_siblings_and_no_branch_accepts_anything(schema: dict[str, Any]) -> None:
    """Draft 7 ignores keywords beside a ``$ref``: descriptions must not sit there. And an
    empty schema in an ``anyOf`` would let any value through."""

    def walk(x: Any, path: str) -> None:
        if isinstance(x, dict):
            if "$ref" in x:
                assert set(x) == {"$ref"}, f"{path}: keywords beside $ref: {sorted(x)}"
            for branch in x.get("anyOf", []):
                assert branch, f"{path}: an empty anyOf branch accepts anything"
            for k, v in x.items():
                walk(v, f"{path}/{k}")
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, f"{path}/{i}")

    walk(schema, "#")


# -- the shipped scenarios --------------------------------------------------------------------


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_scenario_validates(path: Path, validator: jsonschema.Draft7Validator) -> None:
    text = path.read_text(encoding="utf-8")
    depth = len(path.relative_to(ROOT / "scenarios").parts) - 1
    assert text.startswith("# yaml-language-server: $schema=" + "../" * (depth + 1)
                           + "docs/scenario.schema.json\n")
    assert errors(validator, load(path)) == []


@pytest.mark.parametrize("path", TARGET_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_targets_validate(path: Path, schema: dict[str, Any]) -> None:
    targets = jsonschema.Draft7Validator({"$ref": "#/$defs/TargetsFile",
                                          "$defs": schema["$defs"]})
    data = load(path)
    assert errors(targets, data) == []
    # a plain list of targets may also be written as the mapping form
    listed = data if isinstance(data, list) else data["targets"]
    assert errors(targets, {"targets": listed}) == []
    if isinstance(data, dict):  # the mapping form refuses what it does not know
        assert errors(targets, {**data, "validaton": []}) != []


def test_there_are_shipped_scenarios_and_targets() -> None:
    assert any("extends" not in load(p) for p in SCENARIOS)
    assert TARGET_FILES


# -- what the schema accepts and refuses ------------------------------------------------------


@pytest.fixture
def base() -> dict[str, Any]:
    return load(ROOT / "scenarios" / "russia-2022.yaml")


def test_refuses_misspelt_keys_bad_values_and_dates(
        base: dict[str, Any], validator: jsonschema.Draft7Validator) -> None:
    base["countries"][1]["return_hazrd"] = 0.1
    base["routes"][0]["regime"] = "visa_fre"
    base["cohorts"][0]["baseline_hazard"] = 1.5
    base["calendar"]["start"] = "2022/01/01"
    base["routes"][1]["to"] = "Georgia"
    paths = {tuple(p) for p, _ in errors(validator, base)}
    for where in (("countries", 1), ("routes", 0, "regime"), ("cohorts", 0, "baseline_hazard"),
                  ("calendar", "start"), ("routes", 1, "to")):
        assert where in paths, (where, sorted(paths, key=str))


def test_number_or_parameter_fields(base: dict[str, Any],
                                    validator: jsonschema.Draft7Validator) -> None:
    route = base["routes"][0]
    for ok in (0, 1, 0.25, "p_issue"):
        route["issuance"] = ok
        assert errors(validator, base) == [], ok
    for bad in (-0.1, 1.01, "not a name", True):
        route["issuance"] = bad
        assert errors(validator, base), bad
    route["issuance"] = 1.0
    route["capacity"] = 2.5  # people are whole
    assert errors(validator, base)
    route["capacity"] = None  # no limit
    assert errors(validator, base) == []


def test_per_cohort_values_and_single_names(base: dict[str, Any],
                                            validator: jsonschema.Draft7Validator) -> None:
    country = base["countries"][1]
    country["attractiveness"] = {"default": 0.5, "activists": "attr_ARM"}
    country["groups"] = "caucasus"  # a single name for a list of names
    base["policies"][0]["select"]["mode"] = "air"
    base["policies"][0]["select"]["cohorts"] = "activists"
    assert errors(validator, base) == []
    country["attractiveness"] = {"default": "not a name"}
    assert errors(validator, base)


def test_unlimited_only_in_changes(base: dict[str, Any],
                                   validator: jsonschema.Draft7Validator) -> None:
    base["policies"][0]["route"] = {"capacity": "unlimited"}
    assert errors(validator, base) == []
    base["routes"][0]["capacity"] = "unlimited"  # a name here: a parameter 'unlimited'
    assert errors(validator, base) == []          # (the loader reports it as undeclared)


def test_prior_and_target_requirements(base: dict[str, Any],
                                       validator: jsonschema.Draft7Validator) -> None:
    base["parameters"]["deterrence"]["prior"] = {"dist": "beta", "a": 2}
    assert any(p[:2] == ["parameters", "deterrence"] for p, _ in errors(validator, base))
    base["parameters"]["deterrence"]["prior"] = {"dist": "beta", "a": 2, "b": 2}
    base["parameters"]["short"] = 0.3  # `name: number` is short for `name: {value: number}`
    base["targets"] = [{"id": "t", "observable": "stock", "kind": "interval", "value": 5,
                        "at": "2024-06-30", "source": "x"}]
    messages = [m for _, m in errors(validator, base)]
    assert any("'low' is a required property" in m for m in messages), messages
    assert any("'where' is a required property" in m for m in messages), messages
    base["targets"] = "russia-2022-targets.yaml"  # a path to a targets file
    assert errors(validator, base) == []


def test_overlays(validator: jsonschema.Draft7Validator) -> None:
    overlay = {"extends": "../russia-2022.yaml", "name": "cf",
               "calendar": {"end": "2024-12-31"},
               "policies": {"remove": "airspace_closed_usa",
                            "replace": [{"name": "x", "start": "2022-03-01",
                                         "route": {"regime": "closed"}}],
                            "add": []},
               "parameters": {"q": {"value": 400}}}
    assert errors(validator, overlay) == []
    # list sections are edits in an overlay, and lists outside one
    listed = {**overlay, "policies": [{"name": "x", "start": "2022-03-01",
                                       "route": {"regime": "closed"}}]}
    assert errors(validator, listed)
    assert errors(validator, {**overlay, "policies": {"drop": ["x"]}})
    # without `extends` the required sections are required and edits are refused
    plain_file = {k: v for k, v in overlay.items() if k != "extends"}
    messages = [m for _, m in errors(validator, plain_file)]
    assert any("'countries' is a required property" in m for m in messages), messages


# -- the schema never refuses a valid scenario ------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=scenario_data())
def test_every_valid_scenario_validates(data: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(_SCHEMA)
    assert errors(validator, plain(copy.deepcopy(data))) == []


_SCHEMA = scenario_schema()


# -- documentation of every field ---------------------------------------------------------------


def test_every_field_is_documented() -> None:
    """Every field says what it means and gives an example, on the field itself."""
    for name, model in MODELS.items():
        for fname, field in model.model_fields.items():
            assert field.description, f"{name}.{fname} has no description"
            assert field.examples, f"{name}.{fname} has no example"
            assert not field.description.endswith(VALUE_NOTE), (
                f"{name}.{fname}: the note on parameter names is added from the type")
        fields = {f.alias or n for n, f in model.model_fields.items()}
        assert set(FIELD_DOCS[name]) == fields | set(FILE_KEYS.get(name, {})), name
    assert set(FIELD_DOCS) == set(MODELS)
    assert set(FILE_KEYS) == {"Scenario"} and set(FILE_KEYS["Scenario"]) == {"extends"}


def test_field_docs_read_the_fields() -> None:
    doc = FIELD_DOCS["Route"]["delay_days"]
    field = MODELS["Route"].model_fields["delay_days"]
    assert doc.text == field.description + VALUE_NOTE  # a number or a parameter name
    assert (doc.unit, doc.example) == ("days", 30)
    assert FIELD_DOCS["Route"]["from"].text == "Country the route leaves from."  # by alias
    assert FIELD_DOCS["Route"]["mode"].unit == ""


# -- the names that left flowsim.cli.schema --------------------------------------------------

#: The public names of ``flowsim.cli.schema`` before 0.2, and their module under flowsim.scenario.
OLD_NAMES = {"FIELD_DOCS": "docs", "MODELS": "docs", "FieldDoc": "docs", "FieldType": "docs",
             "field_default": "docs", "field_type": "docs", "scenario_schema": "schema",
             "schema_text": "schema", "DRAFT": "schema"}


@pytest.mark.parametrize("name", sorted(OLD_NAMES))
def test_names_that_left_the_command_warn(name: str) -> None:
    """They are found there for one release, with a warning, and are the moved objects."""
    new = importlib.import_module(f"flowsim.scenario.{OLD_NAMES[name]}")
    with pytest.warns(DeprecationWarning,
                      match=rf"flowsim\.cli\.schema\.{name} moved to "
                            rf"flowsim\.scenario\.{OLD_NAMES[name]}\.{name}"):
        value = getattr(cli_schema, name)
    assert value is getattr(new, name)


def test_the_command_module_keeps_only_the_command() -> None:
    assert cli_schema.__all__ == ["schema"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert callable(cli_schema.schema)  # its own name: no warning
    with pytest.raises(AttributeError):
        _ = cli_schema.no_such_name


def test_examples_validate(schema: dict[str, Any]) -> None:
    """Each field's example is a value the field accepts."""
    for name in MODELS:
        props = schema["$defs"][name]["properties"]
        for key, prop in props.items():
            sub = {k: v for k, v in prop.items() if k not in ("examples", "default", "title",
                                                                "description")}
            v = jsonschema.Draft7Validator({**sub, "$defs": schema["$defs"]})
            for example in prop.get("examples", []):
                assert not list(v.iter_errors(example)), (name, key, example)


def test_json_is_deterministic() -> None:
    assert schema_text() == schema_text()
    assert json.loads(schema_text()) == scenario_schema()

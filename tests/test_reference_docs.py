"""The guides in docs/ stay true to the code.

* ``docs/scenario-format.md``: its field tables are regenerated from the scenario models
  (``python docs/generate_reference.py``) and must equal the file; its complete example
  scenario and its overlay example load; every model has its table.
* ``docs/model.md``: names every variable the engine records.
* Links between the guides (files and ``#anchors``) resolve.
* ``docs/make_diagram.py`` draws the compartments figure.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path
from types import ModuleType

import jsonschema
import pytest
import yaml

from flowsim.core.engine import RECORDABLE
from flowsim.scenario import read_scenario, validate_data
from flowsim.scenario.docs import MODELS
from flowsim.scenario.schema import scenario_schema

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FORMAT = DOCS / "scenario-format.md"
GUIDE = DOCS / "model.md"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)


def test_field_tables_are_up_to_date() -> None:
    gen = _module("generate_reference")
    text = FORMAT.read_text(encoding="utf-8")
    assert gen.render(text) == text, (
        "docs/scenario-format.md is out of date: run python docs/generate_reference.py")
    assert gen.main(["--check"]) == 0


def test_every_model_has_a_table() -> None:
    text = FORMAT.read_text(encoding="utf-8")
    marked = re.findall(r"<!-- fields:(\w+) -->", text)
    assert sorted(marked) == sorted(MODELS)
    assert "<!-- observables -->" in text
    for name in MODELS:  # and the generated table is not empty
        table = text.split(f"<!-- fields:{name} -->\n", 1)[1].split("<!-- /fields -->", 1)[0]
        assert table.count("\n") >= 3, name


def test_check_reports_a_stale_file(tmp_path: Path) -> None:
    gen = _module("generate_reference")
    stale = tmp_path / "format.md"
    stale.write_text("# x\n\n<!-- fields:Route -->\nold\n<!-- /fields -->\n", encoding="utf-8")
    assert gen.main(["--check", str(stale)]) == 1
    assert gen.main([str(stale)]) == 0
    assert gen.main(["--check", str(stale)]) == 0
    assert "| `delay_days` |" in stale.read_text(encoding="utf-8")


def test_unknown_model_marker_is_an_error() -> None:
    gen = _module("generate_reference")
    with pytest.raises(KeyError, match="unknown model 'Rout'"):
        gen.render("<!-- fields:Rout -->\n<!-- /fields -->\n")


def test_the_complete_example_is_a_valid_scenario() -> None:
    blocks = [b for b in _yaml_blocks(FORMAT.read_text(encoding="utf-8"))
              if b.startswith("# a complete scenario")]
    assert len(blocks) == 1
    data = yaml.safe_load(blocks[0])
    scenario, warnings = validate_data(data)
    assert warnings == []
    assert scenario.name == "small-example"
    schema = jsonschema.Draft7Validator(scenario_schema())
    assert not list(schema.iter_errors(scenario.to_data(json=True)))


def test_the_overlay_example_loads(tmp_path: Path) -> None:
    blocks = [b for b in _yaml_blocks(FORMAT.read_text(encoding="utf-8"))
              if "extends: ../russia-2022.yaml" in b]
    assert len(blocks) == 1
    for name in ("russia-2022.yaml", "russia-2022-targets.yaml"):
        shutil.copy(ROOT / "scenarios" / name, tmp_path / name)
    (tmp_path / "counterfactuals").mkdir()
    overlay = tmp_path / "counterfactuals" / "example.yaml"
    overlay.write_text(blocks[0], encoding="utf-8")
    # (outside a project, `../` leaves the overlay's own folder: allowed explicitly)
    scenario, _ = read_scenario(overlay, allow=[tmp_path])  # warnings aside: it is valid
    names = [p.name for p in scenario.policies]
    assert "eu_visa_facilitation_partly_suspended" not in names
    assert "airspace_closed_usa" in names
    schema = jsonschema.Draft7Validator(scenario_schema())
    assert not list(schema.iter_errors(yaml.safe_load(blocks[0])))


def test_model_guide_names_every_recorded_variable() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    for variable in RECORDABLE:
        if variable != "flow":
            assert f"`{variable}`" in text, variable


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors of a Markdown file's headings."""
    out = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, re.MULTILINE):
        slug = heading.strip().lower().replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", slug).replace(" ", "-")
        out.add(slug)
    return out


@pytest.mark.parametrize("page", ["scenario-format.md", "model.md"])
def test_links_resolve(page: str) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert links
    for link in links:
        if link.startswith(("http://", "https://")):
            continue
        target, _, anchor = link.partition("#")
        path = (DOCS / target) if target else DOCS / page
        assert path.exists(), f"{page}: broken link {link}"
        if anchor and path.suffix == ".md":
            assert anchor in _anchors(path.read_text(encoding="utf-8")), \
                f"{page}: no heading for #{anchor} in {path.name}"


def test_diagram_is_drawn(tmp_path: Path) -> None:
    diagram = _module("make_diagram")
    out = tmp_path / "compartments.png"
    assert diagram.main([str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (DOCS / "images" / "compartments.png").exists()

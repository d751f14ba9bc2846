"""``extends:`` and ``targets:`` read only inside the scenario's tree or allowed roots (issue 16).

A scenario file is input, maybe someone else's: it must not read the machine. Tests try
absolute paths, ``../`` and symbolic links out of the tree, check that the file outside is
never opened (so that nothing of it can show in a message), and that an allowed root (the
``allow=`` argument, ``--allow-root``, ``$FLOWSIM_ALLOW_ROOTS``) lets it in.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_helpers import invoke

from conftest import base_data, write_yaml
from flowsim.cli._common import EXIT_BAD_INPUT
from flowsim.errors import ScenarioError
from flowsim.scenario import load_scenario
from flowsim.scenario.includes import ROOTS_VARIABLE, scenario_roots

REPO = Path(__file__).resolve().parents[1]
SECRET = "the-secret-content-of-a-file-outside"


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """``tree/`` holds the scenario; ``outside/`` (its sibling) holds a base scenario, a
    targets file and a file that is not YAML, each with the secret in it."""
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    tree.mkdir()
    outside.mkdir()
    data = base_data()
    data["description"] = SECRET
    targets = data.pop("targets")
    write_yaml(outside / "base.yaml", data)
    write_yaml(outside / "targets.yaml", targets)
    (outside / "secret.txt").write_text(f"{SECRET}: [unclosed\n", encoding="utf-8")
    return {"tree": tree, "outside": outside}


def _overlay(tree: Path, extends: str) -> Path:
    path = tree / "overlay.yaml"
    path.write_text(f"extends: {extends}\nname: overlay\n", encoding="utf-8")
    return path


def _with_targets(tree: Path, ref: str) -> Path:
    data = base_data()
    data["targets"] = ref
    return write_yaml(tree / "s.yaml", data)


def _refused(path: Path, key: str, **kwargs) -> str:
    with pytest.raises(ScenarioError) as e:
        load_scenario(path, **kwargs)
    text = str(e.value)
    assert f"`{key}` may name only files in the scenario's folder tree" in text, text
    assert SECRET not in text
    assert ROOTS_VARIABLE in text and "--allow-root" in text
    [problem] = e.value.problems
    assert problem.file == str(path) and problem.line is not None  # at the key, in the file
    return text


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink-file", "symlink-dir"])
@pytest.mark.parametrize("key", ["extends", "targets"])
def test_paths_out_of_the_tree_are_refused(layout, how: str, key: str) -> None:
    tree, outside = layout["tree"], layout["outside"]
    name = "base.yaml" if key == "extends" else "targets.yaml"
    if how == "absolute":
        ref = str(outside / name)
    elif how == "dotdot":
        ref = f"../outside/{name}"
    elif how == "symlink-file":
        (tree / "link.yaml").symlink_to(outside / name)
        ref = "link.yaml"
    else:
        (tree / "sub").symlink_to(outside, target_is_directory=True)
        ref = f"sub/{name}"
    path = _overlay(tree, ref) if key == "extends" else _with_targets(tree, ref)
    text = _refused(path, key)
    if how.startswith("symlink"):
        assert "through a symbolic link" in text


def test_a_file_outside_is_not_even_opened(layout, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether a file outside exists, or what it holds, cannot be learnt from the messages."""
    tree, outside = layout["tree"], layout["outside"]
    opened: list[str] = []
    real_open = open

    def spy(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spy)
    for ref in (str(outside / "secret.txt"), str(outside / "missing.yaml"), "/etc/passwd"):
        text = _refused(_overlay(tree, ref), "extends")
        assert "does not exist" not in text and "not valid YAML" not in text
    assert not [f for f in opened if f.startswith(str(outside)) or f == "/etc/passwd"]


def test_allowed_roots_let_files_in(layout, monkeypatch: pytest.MonkeyPatch) -> None:
    tree, outside = layout["tree"], layout["outside"]
    overlay = _overlay(tree, str(outside / "base.yaml"))
    assert load_scenario(overlay, allow=[outside]).description == SECRET
    with_targets = _with_targets(tree, "../outside/targets.yaml")
    assert len(load_scenario(with_targets, allow=[str(outside)]).targets) == 2
    monkeypatch.setenv(ROOTS_VARIABLE, os.pathsep.join(["/nonexistent", str(outside)]))
    assert load_scenario(overlay).name == "overlay"
    monkeypatch.delenv(ROOTS_VARIABLE)
    # the command line: refused, then allowed with --allow-root
    result = invoke("validate", str(overlay))
    assert result.exit_code == EXIT_BAD_INPUT and SECRET not in result.output
    assert result.stderr.startswith(f"{overlay}:1:10: extends: `extends` may name only")
    result = invoke("validate", str(overlay), "--allow-root", str(outside))
    assert result.exit_code == 0, result.output


def test_a_named_file_that_is_no_scenario_is_described_not_quoted(layout) -> None:
    """Even from an allowed root, a file named by `extends:` or `targets:` that is not a
    scenario or a list of targets (a text file, say) is described, not quoted."""
    tree, outside = layout["tree"], layout["outside"]
    (outside / "list.yaml").write_text(f"- {SECRET}\n", encoding="utf-8")
    (outside / "text.yaml").write_text(f"{SECRET}\n", encoding="utf-8")
    for name, shape in (("list.yaml", "a list"), ("text.yaml", "text")):
        with pytest.raises(ScenarioError, match=f"holds a mapping of sections, not {shape}$"
                           ) as e:
            load_scenario(_overlay(tree, f"../outside/{name}"), allow=[outside])
        assert SECRET not in str(e.value)
    with pytest.raises(ScenarioError, match="holds text, not a list of targets") as e:
        load_scenario(_with_targets(tree, "../outside/text.yaml"), allow=[outside])
    assert SECRET not in str(e.value)


def test_inside_the_tree_paths_work_as_before(layout) -> None:
    tree = layout["tree"]
    (tree / "sub").mkdir()
    data = base_data()
    targets = data.pop("targets")
    write_yaml(tree / "base.yaml", data)
    write_yaml(tree / "sub" / "targets.yaml", targets)
    (tree / "base_link.yaml").symlink_to(tree / "base.yaml")  # a link that stays inside
    assert load_scenario(_overlay(tree, "base_link.yaml")).name == "overlay"
    assert len(load_scenario(_with_targets(tree, "sub/../sub/targets.yaml")).targets) == 2


def test_a_project_is_one_tree() -> None:
    """The bundled counterfactuals extend ``../russia-2022.yaml``: inside the repository,
    the nearest folder above them with a ``.git`` or ``pyproject.toml``."""
    cf = REPO / "scenarios" / "counterfactuals" / "eu_humanitarian_visas.yaml"
    assert scenario_roots(cf)[0] == REPO
    assert load_scenario(cf).name


def test_a_file_in_a_folder_of_its_own_is_its_own_tree(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert scenario_roots(tmp_path / "a" / "b" / "s.yaml") == ((tmp_path / "a" / "b").resolve(),)
    (tmp_path / "a" / "pyproject.toml").write_text("", encoding="utf-8")
    assert scenario_roots(tmp_path / "a" / "b" / "s.yaml") == ((tmp_path / "a").resolve(),)

"""Names that moved when the package was laid out by stage stay importable from their old
modules for one release, each with a DeprecationWarning that names its new home, and are
the very same objects there."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import warnings

import pytest

import flowsim

#: Every public name of the old modules (their ``__all__`` before the move), but the
#: constants that named the Russian case's groups (``GROUP_BLOCS``, ``GROUP_STYLE``,
#: ``BLOC_STYLE``, ``KEY_OUTCOMES``): the scenario's ``report:`` says that now.
OLD_NAMES: dict[str, tuple[str, ...]] = {
    "flowsim.compile": ("CompiledModel", "Field", "ShockSpec", "compile_scenario",
                        "scenario_hash"),
    "flowsim.engine": ("DEFAULT_RECORD", "RECORDABLE", "ExactSampler", "InvariantError",
                       "run_block"),
    "flowsim.sampling": ("CoupledSampler", "keyed_uniform", "binomial_icdf", "EXACT_VARIANCE"),
    "flowsim.sketch": ("Sketch", "DEFAULT_ACCURACY"),
    "flowsim.simulate": ("simulate", "seed_sequence", "block_seed", "resolve_params",
                         "local_pool", "DEFAULT_BLOCK_SIZE", "plan_blocks", "BlockPlan",
                         "run_tasks", "ParamRows"),
    "flowsim.streaming": ("stream", "StreamedResults", "DEFAULT_LEVELS", "STREAM_RECORD",
                          "LAYOUT"),
    "flowsim.output": ("FIGURES", "RESULTS_FILE", "RUN_FILE", "SCENARIO_FILE", "SUMMARY_FILE",
                       "Written", "open_results", "run_metadata", "save_results",
                       "staged_directory", "write_figures", "write_outputs"),
    "flowsim.plots_compare": ("key_outcomes", "paired_differences", "where_people_ended"),
    "flowsim.plots_calibration": ("information", "posterior_marginals", "posterior_pairs",
                                  "target_check"),
    "flowsim.calibration.abc": ("GenerationInfo", "JointPrior", "Posterior", "abc_smc",
                                "calibrate", "effective_sample_size", "posterior_params",
                                "posterior_predictive", "posterior_rows",
                                "predictive_results", "predictive_table", "rejection_abc",
                                "weighted_quantile"),
    "flowsim.calibration.report": ("FILES", "report_markdown", "target_markdown",
                                   "write_calibration"),
}

#: Old modules that are packages now, with the same public names (no warning).
SAME_NAMES: dict[str, tuple[str, ...]] = {
    "flowsim.results": ("Results", "VARIABLES", "open_results", "summary_table"),
    "flowsim.comparison": ("Comparison", "compare", "outcomes"),
    "flowsim.plots": ("destinations", "fan_chart"),
}

CASES = [(m, n) for m, names in OLD_NAMES.items() for n in names]


@pytest.mark.parametrize("module, name", CASES)
def test_an_old_name_warns_and_is_the_moved_object(module, name):
    old = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=rf"{re.escape(module)}\.{name} moved to") as w:
        value = getattr(old, name)
    new_module = re.search(r"moved to ([\w.]+)\.\w+;", str(w[0].message)).group(1)
    assert getattr(importlib.import_module(new_module), name) is value
    assert name in dir(old)


@pytest.mark.parametrize("module, name", [(m, n) for m, ns in SAME_NAMES.items() for n in ns])
def test_old_modules_that_became_packages_keep_their_names(module, name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert getattr(importlib.import_module(module), name) is not None


def test_from_import_of_an_old_name_warns_at_the_caller():
    with pytest.warns(DeprecationWarning) as w:
        from flowsim.simulate import ParamRows  # noqa: F401
    assert w[0].filename == __file__


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        importlib.import_module("flowsim.engine").nothing_here  # noqa: B018


def test_flowsim_simulate_stays_the_function_whatever_is_imported_first():
    importlib.import_module("flowsim.simulate")
    assert callable(flowsim.simulate) and flowsim.simulate.__module__ == \
        "flowsim.ensemble.simulation"
    # and in a fresh interpreter that imports the alias module before the package's names
    code = ("import flowsim.simulate, flowsim, warnings; "
            "assert flowsim.simulate.__module__ == 'flowsim.ensemble.simulation'")
    subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code], check=True)


def test_the_russian_groups_left_the_code_with_a_pointer_to_the_report():
    import flowsim.comparison
    import flowsim.plots

    with pytest.raises(AttributeError, match="report.blocs"):
        flowsim.comparison.GROUP_BLOCS  # noqa: B018
    with pytest.raises(AttributeError, match="group_styles"):
        flowsim.plots.GROUP_STYLE  # noqa: B018

"""A saved posterior read back for a scenario, with what does not match it said in words.

``flowsim run --posterior`` and ``flowsim compare --posterior`` both read a calibration's
posterior for a scenario other than the one it may have been calibrated on; what they check
and report is here, once, so that the command line only prints it.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from flowsim.calibration.posterior import Posterior
from flowsim.core.compile import scenario_hash
from flowsim.errors import Problem, ScenarioError
from flowsim.scenario.model import Scenario

__all__ = ["LoadedPosterior", "load_posterior"]


@dataclasses.dataclass(frozen=True)
class LoadedPosterior:
    """A posterior read for a scenario.

    Attributes
    ----------
    posterior : Posterior
    file : Path
    used : tuple of str
        The estimated parameters the scenario declares (their draws are used).
    missing : tuple of str
        The estimated parameters the scenario does not declare (their draws are not used).
    warnings : tuple of str
        Plain sentences on what does not match (another scenario's calibration, parameters
        not declared) and on what makes the posterior doubtful (it did not converge, its
        convergence is unknown, it piles up at a prior bound), each beginning with the
        file's name.
    """

    posterior: Posterior
    file: Path
    used: tuple[str, ...]
    missing: tuple[str, ...]
    warnings: tuple[str, ...]

    def info(self) -> dict[str, Any]:
        """Facts for a ``run.json``: file, parameters used, calibrated scenario, size."""
        post = self.posterior
        return {"file": str(self.file), "parameters": list(self.used),
                "scenario": post.attrs.get("scenario_name"),
                "scenario_hash": post.attrs.get("scenario_hash"),
                "particles": int(post.size), "ess": float(post.ess),
                "converged": post.converged}


def load_posterior(path: str | os.PathLike[str], scenario: Scenario,
                   label: str | None = None) -> LoadedPosterior:
    """Read a posterior saved by :meth:`Posterior.save` for use with ``scenario``.

    Parameters
    ----------
    path : str or Path
    scenario : Scenario
        The scenario whose replicates will take the posterior's draws.
    label : str, optional
        How the messages name the scenario (default ``the scenario 'NAME'``).

    Returns
    -------
    LoadedPosterior

    Raises
    ------
    ScenarioError
        With one problem at ``path``: the file is missing or a directory, is not a
        posterior, or the scenario declares none of its parameters.
    """
    file = Path(path)
    label = label if label is not None else f"the scenario {scenario.name!r}"

    def fail(message: str) -> ScenarioError:
        return ScenarioError([Problem(message, file=str(file))])

    if not file.is_file():
        raise fail("is a directory, not a posterior file" if file.is_dir() else
                   "does not exist")
    try:
        post = Posterior.load(file)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise fail(f"is not a flowsim posterior (NetCDF, from flowsim calibrate): {e}") from None
    estimated = list(post.param_names)
    missing = [p for p in estimated if p not in scenario.parameters]
    if len(missing) == len(estimated):
        raise fail(f"{label} declares none of the posterior's parameters "
                   f"({', '.join(estimated[:5])}{', ...' if len(estimated) > 5 else ''})")
    said = []
    if post.converged is False:
        said.append(f"{file}: warning: this posterior did NOT converge "
                    f"({post.attrs.get('convergence', post.attrs.get('stop_reason', '?'))}); "
                    "its draws come from a looser fit than the targets define")
    elif post.converged is None and post.attrs.get("stop_reason") != "tolerance reached":
        # written before flowsim recorded convergence: only a stop on the tolerance would
        # count as converged today, so anything else is said (a tolerance stop is not)
        said.append(f"{file}: warning: convergence unknown (the posterior was written before "
                    "flowsim recorded it) and it stopped on "
                    f"{post.attrs.get('stop_reason', 'an unrecorded reason')!r}, not on its "
                    "tolerance")
    said += [f"{file}: warning: {w}" for w in post.prior_bound_warnings]
    calibrated = post.attrs.get("scenario_hash")
    if calibrated is not None and calibrated != scenario_hash(scenario):
        said.append(f"{file}: warning: the posterior was calibrated on scenario "
                    f"{post.attrs.get('scenario_name', '?')!r} ({calibrated}), not on "
                    f"{label} ({scenario_hash(scenario)})")
    if missing:
        said.append(f"{file}: warning: {label} does not declare {', '.join(missing)}; "
                    "these draws are not used")
    return LoadedPosterior(post, file, tuple(p for p in estimated if p not in missing),
                           tuple(missing), tuple(said))

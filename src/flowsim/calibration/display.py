"""How a posterior shows itself in a notebook: an HTML card (pure string building).

:func:`posterior_html` gives the calibration's identity (scenario, method, why it stopped,
whether it converged), its size and tolerance, the parameters' posterior medians and 90%
intervals, whole, and the generations.
"""

from __future__ import annotations

from typing import Any

from flowsim.calibration.convergence import convergence_note
from flowsim.results.display import card

__all__ = ["posterior_html"]


def posterior_html(posterior: Any) -> str:
    """The notebook card of :class:`flowsim.calibration.Posterior`."""
    a = posterior.attrs
    facts = [("scenario", f"{a.get('scenario_name', '?')} (hash {a.get('scenario_hash')})"),
             ("method", a.get("method")), ("stopped", a.get("stop_reason")),
             ("converged", convergence_note(a)),
             ("particles", f"{posterior.size:,} (ESS {posterior.ess:,.0f})"),
             ("generations", len(posterior.generations)),
             ("tolerance ε", f"{posterior.epsilon:.4g}"),
             ("flowsim", a.get("flowsim_version"))]
    fmt = {"float_format": lambda x: f"{x:,.4g}", "border": 0}
    sections = [(f"{len(posterior.param_names)} parameters", posterior.summary().to_html(**fmt),
                 True),
                ("generations", posterior.diagnostics().to_html(index=False, **fmt), False)]
    return card("flowsim.Posterior", facts, sections)

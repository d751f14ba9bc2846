"""Calibration of a scenario's parameters to published figures by ABC.

* :mod:`flowsim.calibration.distance`: how far a replicate is from the targets (zero inside
  every accepted range, log-scale outside; see its docstring for the choices);
* :mod:`flowsim.calibration.abc`: the joint prior, rejection ABC, ABC-SMC
  (:func:`abc_smc`, also available as :func:`calibrate`), the :class:`Posterior` and the
  posterior-predictive check.

Example
-------
>>> import flowsim
>>> from flowsim.calibration import calibrate, posterior_predictive
>>> scenario = flowsim.load_scenario("scenarios/russia-2022.yaml")  # doctest: +SKIP
>>> post = calibrate(scenario, budget=50_000, seed=1, workers=2)  # doctest: +SKIP
>>> post.save("posterior.nc")  # doctest: +SKIP
>>> flowsim.simulate(scenario, 1000, seed=2, params=post.sample(1000, seed=3))  # doctest: +SKIP
"""

from flowsim.calibration.abc import (
    GenerationInfo,
    JointPrior,
    Posterior,
    abc_smc,
    calibrate,
    effective_sample_size,
    posterior_params,
    posterior_predictive,
    posterior_rows,
    predictive_results,
    predictive_table,
    rejection_abc,
    weighted_quantile,
)
from flowsim.calibration.distance import TargetSet, combine, record_for, target_distance

__all__ = [
    "GenerationInfo",
    "JointPrior",
    "Posterior",
    "TargetSet",
    "abc_smc",
    "calibrate",
    "combine",
    "effective_sample_size",
    "posterior_params",
    "posterior_predictive",
    "posterior_rows",
    "predictive_results",
    "predictive_table",
    "record_for",
    "rejection_abc",
    "target_distance",
    "weighted_quantile",
]

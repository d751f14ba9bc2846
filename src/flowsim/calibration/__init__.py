"""Calibration of a scenario's parameters to published figures by ABC.

* :mod:`flowsim.calibration.observation`: the observation model, which maps every target
  (series, sums over windows, ratios, changes, coverage) onto the engine's arrays;
* :mod:`flowsim.calibration.distance`: how far a replicate is from the targets (zero inside
  every accepted range, log-scale outside; see its docstring for the choices);
* :mod:`flowsim.calibration.errors`: targets read with an error model (standardized
  residuals, the goal tolerance, the likelihood weights; docs/calibration.md);
* :mod:`flowsim.calibration.priors`: the joint prior (:class:`JointPrior`) and the
  transforms that make its support unbounded;
* :mod:`flowsim.calibration.kernels`: the perturbation kernel of ABC-SMC;
* :mod:`flowsim.calibration.posterior`: the :class:`Posterior`, its :class:`GenerationInfo`
  and weighted statistics (:func:`weighted_quantile`, :func:`effective_sample_size`);
* :mod:`flowsim.calibration.settings`: the run settings the samplers share (seed, workers,
  replicates per particle, ...), defined and documented once;
* :mod:`flowsim.calibration.sampler`: what the samplers share: a run, its batches of
  candidates, a generation;
* :mod:`flowsim.calibration.rejection`: rejection ABC (:func:`rejection_abc`);
* :mod:`flowsim.calibration.smc`: ABC-SMC (:func:`abc_smc`, also available as
  :func:`calibrate`), by importance weights or by MCMC moves;
* :mod:`flowsim.calibration.predictive`: the posterior-predictive check
  (:func:`posterior_predictive`, :func:`predictive_table`, ...);
* :mod:`flowsim.calibration.convergence`: whether a calibration converged, and whether its
  posterior piles up at a prior bound;
* :mod:`flowsim.calibration.loading`: a saved posterior read back for a scenario.

(:mod:`flowsim.calibration.streams` derives the random streams of a calibration from its
seed; :mod:`flowsim.calibration.abc` is a deprecated alias of the modules above.)

Example
-------
>>> import flowsim
>>> from flowsim.calibration import calibrate, posterior_predictive
>>> scenario = flowsim.load_scenario("scenarios/russia-2022.yaml")  # doctest: +SKIP
>>> post = calibrate(scenario, budget=50_000, seed=1, workers=2)  # doctest: +SKIP
>>> post.save("posterior.nc")  # doctest: +SKIP
>>> flowsim.simulate(scenario, 1000, seed=2, params=post.sample(1000, seed=3))  # doctest: +SKIP
"""

from flowsim.calibration.distance import TargetSet, combine, record_for, target_distance
from flowsim.calibration.posterior import (
    GenerationInfo,
    Posterior,
    effective_sample_size,
    weighted_quantile,
)
from flowsim.calibration.predictive import (
    posterior_params,
    posterior_predictive,
    posterior_rows,
    predictive_results,
    predictive_table,
)
from flowsim.calibration.priors import JointPrior
from flowsim.calibration.rejection import rejection_abc
from flowsim.calibration.smc import abc_smc, calibrate

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

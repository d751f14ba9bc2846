"""Deprecated alias of :mod:`flowsim.calibration.smc` (and its neighbours): import from there.

The names of this module moved when it was split into one module per job; they are found
here until the next release, with a :class:`DeprecationWarning`. The new modules are listed
in the order they import each other, so that a constant is found where it is defined.
"""

from flowsim._deprecated import moved

__getattr__, __dir__ = moved(
    __name__, "flowsim.calibration.settings", "flowsim.calibration.streams",
    "flowsim.calibration.priors", "flowsim.calibration.kernels",
    "flowsim.calibration.posterior", "flowsim.calibration.sampler",
    "flowsim.calibration.rejection", "flowsim.calibration.smc",
    "flowsim.calibration.predictive",
)

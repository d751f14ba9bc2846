"""Deprecated alias of :mod:`flowsim.reports.calibration` (and its neighbours): import from there.

The names of this module moved when the package was laid out by stage; they are found here
until the next release, with a :class:`DeprecationWarning`.
"""

from flowsim._deprecated import moved

__getattr__, __dir__ = moved(
    __name__, "flowsim.reports.calibration"
)

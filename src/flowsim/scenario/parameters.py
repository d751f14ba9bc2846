"""Parameters: named numbers that numeric fields may refer to, and their prior distributions."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from flowsim.scenario.values import _Model

__all__ = ["Parameter", "ParameterEntry", "Prior"]


_PRIOR_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "truncnormal": ("mean", "sd", "low", "high"),
    "lognormal": ("median", "sigma"),
    "beta": ("a", "b"),
    "gamma": ("shape", "scale"),
}


class Prior(_Model):
    """A prior distribution, one of a small set of scipy distributions.

    ``uniform(low, high)``, ``loguniform(low, high)``, ``normal(mean, sd)``,
    ``truncnormal(mean, sd, low, high)``, ``lognormal(median, sigma)``, ``beta(a, b)``,
    ``gamma(shape, scale)``.
    """

    dist: Literal["uniform", "loguniform", "normal", "truncnormal", "lognormal", "beta",
                  "gamma"] = Field(
        description="`uniform(low, high)`, `loguniform(low, high)`, `normal(mean, sd)`, "
        "`truncnormal(mean, sd, low, high)`, `lognormal(median, sigma)`, `beta(a, b)`, "
        "`gamma(shape, scale)`.", examples=["beta"])
    low: float | None = Field(
        None, description="Lower bound (uniform, loguniform, truncnormal).", examples=[0.0])
    high: float | None = Field(
        None, description="Upper bound (uniform, loguniform, truncnormal).", examples=[1.0])
    mean: float | None = Field(
        None, description="Mean of the normal (before truncation).", examples=[1.0])
    sd: float | None = Field(
        None, description="Standard deviation of the normal (before truncation).", examples=[0.5])
    median: float | None = Field(None, description="Median of the lognormal.", examples=[20.0])
    sigma: float | None = Field(
        None, description="Standard deviation of the lognormal's logarithm.", examples=[0.5])
    a: float | None = Field(None, description="First shape of the beta.", examples=[2])
    b: float | None = Field(None, description="Second shape of the beta.", examples=[2])
    shape: float | None = Field(None, description="Shape of the gamma.", examples=[2.0])
    scale: float | None = Field(None, description="Scale of the gamma.", examples=[10.0])

    @model_validator(mode="after")
    def _arguments(self) -> Prior:
        needs = _PRIOR_ARGUMENTS[self.dist]
        given = {k for k in ("low", "high", "mean", "sd", "median", "sigma", "a", "b",
                             "shape", "scale") if getattr(self, k) is not None}
        missing = [k for k in needs if k not in given]
        extra = sorted(given - set(needs))
        problems = []
        if missing:
            problems.append(f"a {self.dist} prior needs {', '.join(needs)}; missing "
                            f"{', '.join(missing)}")
        if extra:
            problems.append(f"a {self.dist} prior does not take {', '.join(extra)}")
        if problems:
            raise ValueError("; ".join(problems))
        for k in given:
            if not math.isfinite(getattr(self, k)):
                raise ValueError(f"prior argument {k} must be finite")
        if self.dist in ("uniform", "loguniform", "truncnormal") and not self.low < self.high:
            raise ValueError(f"prior low ({self.low}) must be below high ({self.high})")
        if self.dist == "loguniform" and self.low <= 0:
            raise ValueError("a loguniform prior needs low > 0")
        for k in ("sd", "sigma", "a", "b", "shape", "scale", "median"):
            v = getattr(self, k)
            if v is not None and v <= 0:
                raise ValueError(f"prior argument {k} must be greater than 0, got {v}")
        return self

    def frozen(self) -> Any:
        """The prior as a frozen ``scipy.stats`` distribution."""
        from scipy import stats

        if self.dist == "uniform":
            return stats.uniform(loc=self.low, scale=self.high - self.low)
        if self.dist == "loguniform":
            return stats.loguniform(self.low, self.high)
        if self.dist == "normal":
            return stats.norm(loc=self.mean, scale=self.sd)
        if self.dist == "truncnormal":
            a, b = (self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd
            return stats.truncnorm(a, b, loc=self.mean, scale=self.sd)
        if self.dist == "lognormal":
            return stats.lognorm(s=self.sigma, scale=self.median)
        if self.dist == "beta":
            return stats.beta(self.a, self.b)
        return stats.gamma(self.shape, scale=self.scale)

    def support(self) -> tuple[float, float]:
        """The interval that holds all the prior's mass."""
        lo, hi = self.frozen().support()
        return float(lo), float(hi)

    def describe(self) -> str:
        """A short text such as ``uniform(0.1, 0.5)``."""
        args = ", ".join(f"{getattr(self, k):g}" for k in _PRIOR_ARGUMENTS[self.dist])
        return f"{self.dist}({args})"


def _parameter_shorthand(v: Any) -> Any:
    # `name: 0.3` is short for `name: {value: 0.3}`.
    if isinstance(v, int | float) and not isinstance(v, bool):
        return {"value": v}
    return v


class _ParameterModel(_Model):
    # The fields of Parameter, documented under that name (the reference's "Parameter" table).
    value: float = Field(
        description="The value used when the parameter is not drawn (a plain run).",
        examples=[0.5], json_schema_extra={"unit": "the unit of the fields that use it"})
    prior: Prior | None = Field(
        None, description="Prior distribution for calibration and sensitivity analysis.",
        examples=[{"dist": "loguniform", "low": 1e-06, "high": 0.0001}])
    description: str = Field(
        "", description="Where the value and prior come from.", examples=["weakly informative"])

    @model_validator(mode="after")
    def _finite(self) -> _ParameterModel:
        if not math.isfinite(self.value):
            raise ValueError("a parameter's value must be a finite number")
        return self


class Parameter(_ParameterModel):
    """A named number with an optional prior; any numeric field may refer to it by name."""


ParameterEntry = Annotated[Parameter, BeforeValidator(_parameter_shorthand)]

"""Numeric tensors whose entries are numbers or parameter references, built policy by policy.

:class:`Field` is what the compiled model stores for every numeric scenario field (per epoch,
country, route or cohort): constants, the parameter column of each entry that names a
parameter, and a factor and an addition from schedules. ``values(params)`` fills it in for
every replicate at once. :class:`_Builder` accumulates one while the compiler applies
policies and schedules.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

__all__ = ["Field"]


@dataclasses.dataclass(frozen=True)
class Field:
    """A numeric tensor whose entries are constants or parameter references.

    Attributes
    ----------
    const : ndarray of float
        The constant values (0 where a parameter is referenced).
    slot : ndarray of int
        ``-1`` where ``const`` holds, else the column of the parameter in the parameter matrix.
    integer : bool
        Round evaluated values to whole numbers (people, capacities).
    """

    const: np.ndarray
    slot: np.ndarray
    integer: bool = False
    #: a factor and an addition applied after the parameters are filled in (schedules);
    #: ``None`` where nothing is scheduled
    scale: np.ndarray | None = None
    shift: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.const.shape

    @property
    def is_constant(self) -> bool:
        return not bool((self.slot >= 0).any())

    def values(self, params: np.ndarray) -> np.ndarray:
        """The field for each replicate.

        Parameters
        ----------
        params : ndarray, shape (replicates, parameters)

        Returns
        -------
        ndarray, shape (replicates, *self.shape), or (1, *self.shape) when constant
        """
        if self.is_constant:
            out = self.const[None]
        else:
            taken = params[:, np.where(self.slot >= 0, self.slot, 0)]
            out = np.where(self.slot >= 0, taken, self.const)
        if self.scale is not None:
            out = out * self.scale
        if self.shift is not None:
            out = out + self.shift
        return np.round(out) if self.integer else out

    def at(self, index: Any) -> Field:
        """The sub-field ``self[index]`` (e.g. one epoch)."""
        return Field(self.const[index], self.slot[index], self.integer,
                     None if self.scale is None else self.scale[index],
                     None if self.shift is None else self.shift[index])


class _Builder:
    """Accumulates constant/slot pairs for one tensor while policies are applied."""

    def __init__(self, shape: tuple[int, ...], slots: dict[str, int], integer: bool = False,
                 fill: float = 0.0) -> None:
        self.const = np.full(shape, fill, dtype=float)
        self.slot = np.full(shape, -1, dtype=np.int32)
        self.slots = slots
        self.integer = integer
        # a factor and an addition from schedules, made on first use (None: nothing)
        self.scale: np.ndarray | None = None
        self.shift: np.ndarray | None = None

    def set(self, index: Any, value: float | str | None) -> None:
        if value is None:
            value = math.inf  # "no limit"
        if isinstance(value, str):
            if value == "unlimited":
                self.const[index], self.slot[index] = math.inf, -1
            else:
                self.const[index], self.slot[index] = 0.0, self.slots[value]
        else:
            self.const[index], self.slot[index] = float(value), -1

    def copy(self) -> _Builder:
        b = _Builder((), self.slots, self.integer)
        b.const, b.slot = self.const.copy(), self.slot.copy()
        b.scale = None if self.scale is None else self.scale.copy()
        b.shift = None if self.shift is None else self.shift.copy()
        return b

    def multiply(self, index: Any, factor: float) -> None:
        """Multiply the entries at ``index`` by ``factor`` (after parameters are filled)."""
        if self.scale is None:
            self.scale = np.ones(self.const.shape)
        self.scale[index] *= factor

    def add(self, index: Any, value: float) -> None:
        """Add ``value`` to the entries at ``index`` (after parameters are filled)."""
        if self.shift is None:
            self.shift = np.zeros(self.const.shape)
        self.shift[index] += value

    def field(self) -> Field:
        """The field as built (with its schedule factor and addition, if any)."""
        return _stack([self]).at(0)


def _stack(builders: list[_Builder]) -> Field:
    """One field of the builders (one per epoch), stacked on a new first axis."""
    const = np.stack([b.const for b in builders])
    slot = np.stack([b.slot for b in builders])
    scale = shift = None
    if any(b.scale is not None for b in builders):
        scale = np.stack([np.ones(b.const.shape) if b.scale is None else b.scale
                          for b in builders])
    if any(b.shift is not None for b in builders):
        shift = np.stack([np.zeros(b.const.shape) if b.shift is None else b.shift
                          for b in builders])
    for a in (const, slot, scale, shift):
        if a is not None:
            a.setflags(write=False)
    return Field(const, slot, builders[0].integer, scale, shift)

"""Whole-scenario checks of shocks on the hazards abroad, eligibility held by a share of a
cohort, and regularisations of those present before a cut-off date.

Called by :func:`flowsim.scenario.checks.check_scenario` with its context (the scenario's
sections, ids and resolved groups); each check yields ``(path, message, severity)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flowsim.scenario.found import Found, unknown_names

__all__ = ["MAX_PARTIAL_FLAGS", "check_status", "partial_flags"]

#: The most eligibility flags that some cohort holds only in part: the route choice mixes
#: over every combination of them (2 ** flags classes of movers).
MAX_PARTIAL_FLAGS = 5


def check_status(ctx: Any) -> Iterator[Found]:
    """Shocks abroad, partial eligibility and regularisation cut-offs."""
    yield from _check_hazard_shocks(ctx)
    yield from _check_partial_eligibility(ctx)
    yield from _check_cutoffs(ctx)


def partial_flags(cohorts: Any) -> list[str]:
    """The eligibility flags some cohort holds in part (a share strictly between 0 and 1, or
    a parameter), sorted."""
    out = set()
    for c in cohorts:
        for flag, share in c.flag_shares().items():
            if isinstance(share, str) or 0.0 < share < 1.0:
                out.add(flag)
    return sorted(out)


def _check_hazard_shocks(ctx: Any) -> Iterator[Found]:
    origin = ctx.origins[0] if ctx.origins else None
    for i, sh in enumerate(ctx.shocks):
        here = ("shocks", i)
        if sh.field is None:
            if sh.countries is not None:
                yield ((*here, "countries"),
                       ("`countries` says where a shock multiplies a hazard of people abroad: "
                        "give the `field` it multiplies too (without `field` a shock "
                        "multiplies the origin's emigration hazard)"), "error")
            continue
        unknown = list(unknown_names(sh.countries, ctx.places(), (*here, "countries"),
                                     "country or group"))
        yield from unknown
        if unknown or not ctx.countries:
            continue
        chosen = ctx.expand(sh.countries) if sh.countries is not None else set(ctx.country_ids)
        if sh.countries is not None and origin in chosen:
            yield ((*here, "countries"),
                   (f"{origin} is the origin, where nobody faces {sh.field}: a shock on the "
                    "origin's hazard of leaving has no `field`"), "error")
        elif not chosen - {origin}:
            yield ((*here, "countries"), "selects no country", "error")
        elif sh.field == "claim_hazard" and not any(
                c.asylum is not None for c in ctx.countries if c.id in chosen):
            yield ((*here, "field"),
                   ("multiplies claim_hazard, but none of the selected countries has an "
                    "asylum system"), "error")


def _check_partial_eligibility(ctx: Any) -> Iterator[Found]:
    partial = partial_flags(ctx.cohorts)
    if len(partial) > MAX_PARTIAL_FLAGS:
        seen: set[str] = set()  # the error is at the cohort that brings one flag too many
        for i, c in enumerate(ctx.cohorts):
            seen |= set(c.flag_shares()) & set(partial)
            if len(seen) > MAX_PARTIAL_FLAGS:
                break
        yield (("cohorts", i, "eligible"),
               (f"{len(partial)} eligibility flags are held by a share of a cohort "
                f"({', '.join(partial)}); the route choice mixes over every combination of "
                f"them, and at most {MAX_PARTIAL_FLAGS} are supported"), "error")


def _check_cutoffs(ctx: Any) -> Iterator[Found]:
    cutoff: dict[str, tuple[Any, str]] = {}  # country -> (date, policy name)
    origin = ctx.origins[0] if ctx.origins else None
    for i, p in enumerate(ctx.policies):
        ch = p.country
        if ch is None or ch.settle_arrived_before is None:
            continue
        here = ("policies", i, "country", "settle_arrived_before")
        d = ch.settle_arrived_before
        if ch.settle_hazard is None:
            yield (here, ("restricts the `settle_hazard` this policy sets to those present on "
                          f"{d}, but the policy sets none: give `settle_hazard` too"), "error")
        if d > p.start:
            yield (here, (f"the cut-off {d} is after the policy starts ({p.start}): those "
                          "eligible must be known when it comes into force"), "error")
        if not ctx.countries or any(n not in ctx.places() for n in p.select.countries or ()):
            continue
        chosen = ctx.expand(p.select.countries) if p.select.countries is not None \
            else set(ctx.country_ids)
        if not chosen - {origin}:
            yield (here, "the policy selects only the origin, where nobody settles", "error")
        for c in sorted(chosen - {origin}):
            other = cutoff.setdefault(c, (d, p.name))
            if other[0] != d:
                yield (here, (f"{c} already has the cut-off {other[0]} (policy "
                              f"{other[1]!r}): a country has one cut-off date"), "error")
                break

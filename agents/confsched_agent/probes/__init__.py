"""Probes: small, replaceable checks of the room, the host and the network.

A probe is anything with a ``name`` and an ``async run() -> Findings``. :func:`run_all` runs them
concurrently, each under a timeout; a probe that raises or hangs becomes a check with
``ok=None`` and the error as its detail, so one broken probe never stops a report (or the agent).
The simulator passes fake probes with the same shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from confsched_agent.wire import Call, Check


@dataclass(slots=True)
class Findings:
    """What one probe found: named checks, numeric measurements and, from the one probe that
    can tell (the conferencing client's), whether the room is in a call."""

    checks: dict[str, Check] = field(default_factory=dict)
    measurements: dict[str, float] = field(default_factory=dict)
    call: Call | None = None


class Probe(Protocol):
    name: str

    async def run(self) -> Findings: ...


async def run_all(probes: Sequence[Probe], timeout: float = 5.0) -> Findings:
    """Every probe's findings merged; failures recorded under the probe's own name."""
    results = await asyncio.gather(*(_bounded(p, timeout) for p in probes), return_exceptions=True)
    merged = Findings()
    for probe, result in zip(probes, results, strict=True):
        if isinstance(result, Findings):
            merged.checks.update(result.checks)
            merged.measurements.update(result.measurements)
            merged.call = result.call or merged.call
        elif isinstance(result, asyncio.CancelledError):
            raise result
        else:
            merged.checks[probe.name] = Check(None, _describe(result))
    return merged


async def _bounded(probe: Probe, timeout: float) -> Findings:
    """The probe's coroutine is made only once this runs: a report cancelled first (the agent
    stopping) leaves no never-awaited coroutine behind."""
    return await asyncio.wait_for(probe.run(), timeout)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "probe timed out"
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"[:200]

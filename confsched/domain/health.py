"""Judging an endpoint's health from what its agent reported: pure, no clock, no I/O.

A report becomes an :class:`Observation`; :func:`judge` turns it into an ``EndpointHealth`` with
a state and the reasons a person can act on ("camera missing", "loss 4% to bridge");
:func:`at` ages a judged state against ``now`` so that an agent that went silent for
``offline_after`` intervals shows ``offline``. ``codes`` mirror the reasons as short, bounded
labels for metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import cast

from confsched.domain.model import CallState, EndpointHealth, EndpointState

# A failed check that makes the room unusable for a session.
CRITICAL_CHECKS: Mapping[str, str] = {
    "camera": "camera missing",
    "audio": "no audio device",
    "display": "display disconnected",
    "bridge": "bridge unreachable",
    "registration": "not registered to its bridge",
    "codec": "codec unreachable",
}
# A failed check that a session can survive or IT can fix in minutes.
MINOR_CHECKS: Mapping[str, str] = {
    "client": "conferencing client not running",
    "host": "host resources low",
}

_SEVERITY = {EndpointState.OK: 0, EndpointState.DEGRADED: 1, EndpointState.DOWN: 2}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where network and host measurements stop being fine. Ratios are 0..1."""

    rtt_degraded_ms: float = 150.0
    jitter_degraded_ms: float = 30.0
    loss_degraded_ratio: float = 0.01
    loss_down_ratio: float = 0.25
    cpu_degraded_ratio: float = 0.95
    memory_degraded_ratio: float = 0.95
    disk_free_degraded_ratio: float = 0.05
    offline_after: int = 3
    """Missed report intervals after which an endpoint is offline."""


@dataclass(frozen=True, slots=True)
class Observation:
    """One report in domain terms. ``checks`` maps a check to True/False, or None if its probe
    failed to run; ``details`` holds the agent's words for checks that did not pass.
    ``reasons`` replaces the standard reason of a failed critical check when the source knows
    exactly what failed (a polled codec says "camera disconnected", "codec auth failed")."""

    endpoint: str
    received_at: datetime
    checks: Mapping[str, bool | None] = field(default_factory=dict)
    details: Mapping[str, str] = field(default_factory=dict)
    measurements: Mapping[str, float] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)
    call: CallState | None = None
    """In a call and with whom, when the source can tell (a codec always, an agent maybe)."""


@dataclass(slots=True)
class _Verdict:
    state: EndpointState = EndpointState.OK
    reasons: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)

    def add(self, state: EndpointState, code: str, reason: str) -> None:
        if _SEVERITY[state] > _SEVERITY[self.state]:
            self.state = state
        self.reasons.append(reason)
        self.codes.append(code)


def judge(obs: Observation, limits: Thresholds = Thresholds()) -> EndpointHealth:
    """The state one report shows, worst finding first in the reasons."""
    verdict = _Verdict()
    checks, m = obs.checks, obs.measurements
    _judge_checks(obs, verdict)
    _judge_network(obs, limits, verdict)
    _judge_host(m, limits, verdict)
    reasons: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    if verdict.reasons:
        order = sorted(range(len(verdict.reasons)), key=lambda i: _code_rank(verdict.codes[i]))
        reasons = tuple(verdict.reasons[i] for i in order)
        codes = tuple(verdict.codes[i] for i in order)
    return EndpointHealth(
        endpoint=obs.endpoint,
        state=verdict.state,
        reasons=reasons,
        codes=codes,
        last_report_at=obs.received_at,
        checks=(
            {name: ok for name, ok in checks.items() if ok is not None}
            if None in checks.values()
            else dict(cast("Mapping[str, bool]", checks))  # no None among them
        ),
        rtt_ms=m.get("rtt_ms"),
        jitter_ms=m.get("jitter_ms"),
        loss_ratio=m.get("loss_ratio"),
        measurements=dict(m),
        call=obs.call,
    )


def _code_rank(code: str) -> int:
    return 0 if code in CRITICAL_CHECKS or code == "loss_high" else 1


def _judge_checks(obs: Observation, verdict: _Verdict) -> None:
    for name, ok in obs.checks.items():
        if ok is True:
            continue
        if ok is None:
            why = obs.details.get(name) or "no result"
            verdict.add(EndpointState.DEGRADED, "probe_failed", f"{name} check failed: {why}")
        elif name in CRITICAL_CHECKS:
            verdict.add(EndpointState.DOWN, name, obs.reasons.get(name) or CRITICAL_CHECKS[name])
        elif name in MINOR_CHECKS:
            verdict.add(EndpointState.DEGRADED, name, MINOR_CHECKS[name])
        else:
            detail = obs.details.get(name)  # "spool: disk full"
            text = f"{name}: {detail}" if detail else f"{name} failed"
            verdict.add(EndpointState.DEGRADED, "other", text)


def _judge_network(obs: Observation, limits: Thresholds, verdict: _Verdict) -> None:
    m = obs.measurements
    loss = m.get("loss_ratio")
    if loss is not None and obs.checks.get("bridge") is not False:
        if loss >= 1.0:
            verdict.add(EndpointState.DOWN, "bridge", CRITICAL_CHECKS["bridge"])
        elif loss >= limits.loss_down_ratio:
            verdict.add(EndpointState.DOWN, "loss_high", f"loss {_pct(loss)} to bridge")
        elif loss >= limits.loss_degraded_ratio:
            verdict.add(EndpointState.DEGRADED, "loss", f"loss {_pct(loss)} to bridge")
    rtt = m.get("rtt_ms")
    if rtt is not None and rtt >= limits.rtt_degraded_ms:
        verdict.add(EndpointState.DEGRADED, "rtt", f"rtt {rtt:.0f} ms to bridge")
    jitter = m.get("jitter_ms")
    if jitter is not None and jitter >= limits.jitter_degraded_ms:
        verdict.add(EndpointState.DEGRADED, "jitter", f"jitter {jitter:.0f} ms to bridge")


def _judge_host(m: Mapping[str, float], limits: Thresholds, verdict: _Verdict) -> None:
    cpu = m.get("cpu_ratio")
    if cpu is not None and cpu >= limits.cpu_degraded_ratio:
        verdict.add(EndpointState.DEGRADED, "cpu", f"cpu {_pct(cpu)} busy")
    mem = m.get("memory_used_ratio")
    if mem is not None and mem >= limits.memory_degraded_ratio:
        verdict.add(EndpointState.DEGRADED, "memory", f"memory {_pct(mem)} used")
    disk = m.get("disk_free_ratio")
    if disk is not None and disk <= limits.disk_free_degraded_ratio:
        verdict.add(EndpointState.DEGRADED, "disk", f"disk {_pct(disk)} free")


def _pct(ratio: float) -> str:
    value = ratio * 100
    return f"{value:.0f}%" if value >= 1 or value == 0 else f"{value:.1f}%"


@dataclass(frozen=True, slots=True)
class Restart:
    """The scheduler's own start: when it came up, and the newest report it had stored then.

    Agents that were reporting when the scheduler stopped need a few intervals to reconnect and
    deliver; until the scheduler has been up that long, silence is its own outage, not theirs.
    """

    up_since: datetime
    heard_until: datetime | None = None
    """The newest report stored before this start (None: nothing was ever stored)."""


def at(
    health: EndpointHealth,
    now: datetime,
    interval: timedelta,
    limits: Thresholds = Thresholds(),
    restart: Restart | None = None,
) -> EndpointHealth:
    """``health`` as seen at ``now``: offline once ``offline_after`` intervals passed silently.

    Within ``offline_after`` intervals of a ``restart``, only a room that was already silent
    that long before the scheduler stopped hearing (``heard_until``) shows offline. An offline
    room keeps the worst finding of its last report ("last report: camera missing").
    """
    if health.last_report_at is None:
        if health.state is EndpointState.UNKNOWN and not health.reasons:
            return replace(health, reasons=("never reported",), codes=("never_reported",))
        return health
    silent = now - health.last_report_at
    if now < offline_from(health.last_report_at, interval * limits.offline_after, restart):
        return health
    reasons: tuple[str, ...] = (f"no report for {_ago(silent)}",)
    if health.state is not EndpointState.OK and health.reasons:
        reasons += (f"last report: {health.reasons[0]}",)
    return replace(health, state=EndpointState.OFFLINE, reasons=reasons, codes=("no_report",))


def offline_from(last_report: datetime, patience: timedelta, restart: Restart | None) -> datetime:
    """The moment a room last heard at ``last_report`` turns offline.

    ``patience`` (``offline_after`` intervals) after its last report; after a ``restart``, not
    before the scheduler has been up that long, unless the room was already that silent when
    the scheduler stopped hearing (with nothing stored before the start, no report can predate
    it, so there is nothing to forgive).
    """
    due = last_report + patience
    if restart is None:
        return due
    heard = restart.heard_until
    if heard is None or heard - last_report >= patience:
        return due
    return max(due, restart.up_since + patience)


def unknown(endpoint: str) -> EndpointHealth:
    """An endpoint whose agent never reported."""
    return EndpointHealth(endpoint, reasons=("never reported",), codes=("never_reported",))


def _ago(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def is_ready(health: EndpointHealth) -> bool:
    """Fit to join a session: nothing critical failed (degraded network still joins)."""
    return health.state in (EndpointState.OK, EndpointState.DEGRADED)

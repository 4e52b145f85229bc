"""The metrics confsched exports, built the plain prometheus-client way.

This module is the definition of record: :func:`build_families` turns one :class:`ScrapeInput`
into prometheus-client metric families in exposition order. The HTTP scrape path does not call
it for the per-endpoint families (at 10,000 endpoints that costs over a second, see
``confsched.metrics.render``), but the fast renderer must produce exactly what
``generate_latest`` makes of these families, byte for byte; the tests hold it to that.

Labels are bounded by construction: ids from the fleet file (endpoint, area, agency,
bridge, level, kind), short codes from the health judge (reason), check names limited by the
wire protocol, and fixed state names. Never a session title, a person's name or free text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)

from confsched.domain import health as judge
from confsched.domain.conflicts import REFUSAL_REASONS
from confsched.domain.model import Endpoint, EndpointHealth, EndpointState, Fleet
from confsched.metrics.sources import (
    EMPTY_BOOKING,
    EMPTY_COUNTERS,
    READINESS_STATES,
    SESSION_STATES,
    BookingSnapshot,
    HealthCounters,
    HealthEntry,
    StoreStatus,
)
from confsched.store.faults import FAULT_REASONS

STATES: tuple[EndpointState, ...] = tuple(EndpointState)
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# name, help (and unit where the name carries one) of every per-endpoint family, in order.
INFO = (
    "confsched_endpoint",
    "Facts about an endpoint from the fleet file, its name included (always 1).",
)
STATE = ("confsched_endpoint_state", "1 for the endpoint's current health state, else 0.")
PROBLEM = (
    "confsched_endpoint_problem",
    "1 for each problem the endpoint shows now, by short reason code.",
)
CHECK = ("confsched_endpoint_check_ok", "1 if the device check passed in the last report, else 0.")
LAST_REPORT = (
    "confsched_endpoint_last_report_timestamp_seconds",
    "Unix time of the endpoint's last accepted health report.",
)
RTT = ("confsched_endpoint_network_rtt_seconds", "Round-trip time from the endpoint to its bridge.")
JITTER = ("confsched_endpoint_network_jitter_seconds", "Jitter from the endpoint to its bridge.")
LOSS = (
    "confsched_endpoint_network_packet_loss_ratio",
    "Packet loss from the endpoint to its bridge (0 to 1).",
)
NEXT_SESSION = (
    "confsched_endpoint_next_session_start_timestamp_seconds",
    "Unix start time of the next session the endpoint is booked for (within a day).",
)
READINESS = (
    "confsched_endpoint_readiness",
    "1 for the endpoint's readiness for its session starting within the hour, else 0.",
)
SPOOL_DROPPED = (
    "confsched_agent_spool_dropped_reports",
    "Reports the endpoint's agent dropped from its full spool (since the agent started).",
)
NEXT_SETUP = (
    "confsched_endpoint_next_session_setup_timestamp_seconds",
    "Unix time the setup window (the self-test) of the endpoint's next session opens.",
)
AT_RISK = (
    "confsched_endpoint_at_risk",
    "1 if the endpoint would not be ready now for a session starting within 24 h, else 0.",
)
SESSIONS_AT_RISK = (
    "confsched_sessions_at_risk",
    "Sessions starting within 24 h (or running) with a room of this area that would not be ready.",
)
# Reasons the agent link counts (confsched_agent.wire, confsched.agentlink), exported from 0.
REJECT_REASONS = (
    "bad_field",
    "bad_message",
    "bad_type",
    "bad_version",
    "not_json",
    "too_long",
    "unexpected",
    "unstorable",
    "wrong_endpoint",
)
LOGIN_REFUSALS = (
    "not_enrolled",
    "revoked",
    "too_many_connections",
    "too_many_from_address",
    "unknown_endpoint",
    "wrong_key",
)
BOOKING_REFUSALS = REFUSAL_REASONS
STORE_FAULTS = tuple(sorted(FAULT_REASONS))


@dataclass(frozen=True, slots=True)
class ScrapeStats:
    """What the previous scrape cost, exported by the next one."""

    scrapes: int = 0
    duration_seconds: float = 0.0
    longest_hold_seconds: float = 0.0
    rerendered_endpoints: int = 0


@dataclass(frozen=True, slots=True)
class ScrapeInput:
    """Everything one scrape reads; ``now`` is Unix seconds."""

    now: float
    fleet: Fleet
    health: Mapping[str, HealthEntry] = field(default_factory=dict)
    default_interval: timedelta | None = None
    """Ages entries whose own interval is 0; None: the fleet's report interval."""
    counters: HealthCounters = EMPTY_COUNTERS
    booking: BookingSnapshot = EMPTY_BOOKING
    refusals: Mapping[str, int] = field(default_factory=dict)
    stats: ScrapeStats = ScrapeStats()
    version: str = ""
    limits: judge.Thresholds = field(default_factory=judge.Thresholds)
    restart: judge.Restart | None = None
    """The scheduler's start (no offline for the silence of its own outage)."""
    store: StoreStatus = field(default_factory=StoreStatus)
    loop_lag_seconds: float = 0.0
    """The event loop's worst lag lately (``confsched.runtime.looplag``)."""

    @property
    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)

    @property
    def interval(self) -> timedelta:
        return self.default_interval or self.fleet.report_interval


# --- per endpoint ------------------------------------------------------------------------------


def area_label(ep: Endpoint) -> str:
    """The id of the room's area (a district, a cluster), or empty (which Prometheus reads as no
    label) for a province room or a commune directly under the province."""
    return ep.area or ""


def info_labels(ep: Endpoint, fleet: Fleet) -> dict[str, str]:
    """The room's facts, its name and its bridge's name included (what dashboards join)."""
    bridge = fleet.bridges.get(ep.bridge) if ep.bridge else None
    return {
        "area": area_label(ep),
        "agency": ep.agency,
        "bridge": ep.bridge or "",
        "bridge_name": bridge.name if bridge else "",
        "level": ep.level,
        "kind": ep.kind.value,
        "name": ep.name,
    }


def entry_interval(entry: HealthEntry, default: timedelta) -> timedelta:
    return timedelta(seconds=entry.interval) if entry.interval else default


def current_health(
    endpoint: str,
    entry: HealthEntry | None,
    now: datetime,
    default_interval: timedelta,
    limits: judge.Thresholds,
    restart: judge.Restart | None = None,
) -> EndpointHealth:
    """The health the endpoint shows at ``now``: never reported, as judged, or gone offline
    (the same rule as the health board's ``health()``, which the API shows)."""
    if entry is None:
        return judge.unknown(endpoint)
    return judge.at(entry.health, now, entry_interval(entry, default_interval), limits, restart)


def problem_codes(h: EndpointHealth) -> tuple[str, ...]:
    """Distinct reason codes, each a bounded label value (anything else counts as "other")."""
    return tuple(dict.fromkeys(c if _CODE.match(c) else "other" for c in h.codes))


EndpointFamilies = tuple[
    InfoMetricFamily, GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily,
    GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily,
    CounterMetricFamily,
]  # fmt: skip
BookingFamilies = tuple[
    GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily
]  # fmt: skip


def new_endpoint_families() -> EndpointFamilies:
    """The nine health families, empty (the renderer takes its headers from these)."""
    return (
        InfoMetricFamily(INFO[0], INFO[1], labels=["endpoint"]),
        GaugeMetricFamily(*STATE, labels=["endpoint", "area", "agency", "state"]),
        GaugeMetricFamily(*PROBLEM, labels=["endpoint", "reason"]),
        GaugeMetricFamily(*CHECK, labels=["endpoint", "check"]),
        GaugeMetricFamily(*LAST_REPORT, labels=["endpoint"], unit="seconds"),
        GaugeMetricFamily(*RTT, labels=["endpoint"], unit="seconds"),
        GaugeMetricFamily(*JITTER, labels=["endpoint"], unit="seconds"),
        GaugeMetricFamily(*LOSS, labels=["endpoint"], unit="ratio"),
        CounterMetricFamily(*SPOOL_DROPPED, labels=["endpoint", "area"]),
    )


def new_booking_families() -> BookingFamilies:
    """The four per-endpoint booking families, empty."""
    return (
        GaugeMetricFamily(*NEXT_SESSION, labels=["endpoint"], unit="seconds"),
        GaugeMetricFamily(*NEXT_SETUP, labels=["endpoint"], unit="seconds"),
        GaugeMetricFamily(*READINESS, labels=["endpoint", "state"]),
        GaugeMetricFamily(*AT_RISK, labels=["endpoint", "area"]),
    )


def spool_dropped(h: EndpointHealth) -> float | None:
    """What the agent's last report says it dropped (None: a codec, or an older agent)."""
    value = h.measurements.get("spool_dropped")
    return None if value is None else float(value)


def endpoint_families(inp: ScrapeInput) -> list[Metric]:
    families = new_endpoint_families()
    info, state, problem, check, last, rtt, jitter, loss, dropped = families
    now, interval = inp.now_dt, inp.interval
    for ep in inp.fleet.endpoints.values():
        h = current_health(ep.id, inp.health.get(ep.id), now, interval, inp.limits, inp.restart)
        info.add_metric([ep.id], info_labels(ep, inp.fleet))
        for s in STATES:
            state.add_metric([ep.id, area_label(ep), ep.agency, s.value], _flag(h.state is s))
        for code in problem_codes(h):
            problem.add_metric([ep.id, code], 1.0)
        for name in sorted(h.checks):
            check.add_metric([ep.id, name], _flag(h.checks[name]))
        if h.last_report_at is not None:
            last.add_metric([ep.id], h.last_report_at.timestamp())
        if h.rtt_ms is not None:
            rtt.add_metric([ep.id], h.rtt_ms / 1000.0)
        if h.jitter_ms is not None:
            jitter.add_metric([ep.id], h.jitter_ms / 1000.0)
        if h.loss_ratio is not None:
            loss.add_metric([ep.id], float(h.loss_ratio))
        lost = spool_dropped(h)
        if lost is not None:
            dropped.add_metric([ep.id, area_label(ep)], lost)
    return list(families)


def booking_endpoint_families(inp: ScrapeInput) -> list[Metric]:
    families = new_booking_families()
    nxt, setup, ready, risk = families
    booking = inp.booking
    for ep_id, ep in inp.fleet.endpoints.items():
        start = booking.next_start.get(ep_id)
        if start is not None:
            nxt.add_metric([ep_id], float(start))
        opens = booking.next_setup.get(ep_id)
        if opens is not None:
            setup.add_metric([ep_id], float(opens))
        status = booking.readiness.get(ep_id)
        if status is not None:
            for r in READINESS_STATES:
                ready.add_metric([ep_id, r.value], _flag(status is r))
        at_risk = booking.at_risk.get(ep_id)
        if at_risk is not None:
            risk.add_metric([ep_id, area_label(ep)], _flag(at_risk))
    return list(families)


# --- fleet level -------------------------------------------------------------------------------


def head_families(inp: ScrapeInput) -> list[Metric]:
    build = InfoMetricFamily("confsched_build", "The running confsched version (always 1).")
    build.add_metric([], {"version": inp.version})
    return [build]


def fleet_families(inp: ScrapeInput) -> list[Metric]:
    b = inp.booking
    capacity = GaugeMetricFamily(
        "confsched_bridge_ports_capacity", "Ports a bridge (MCU) has.", labels=["bridge"]
    )
    in_use = GaugeMetricFamily(
        "confsched_bridge_ports_in_use",
        "Bridge ports taken now by sessions in their setup or running window.",
        labels=["bridge"],
    )
    info = InfoMetricFamily(
        "confsched_bridge", "Facts about a bridge (MCU) from the fleet file (always 1).",
        labels=["bridge"],
    )  # fmt: skip
    for bridge in inp.fleet.bridges.values():
        info.add_metric([bridge.id], {"name": bridge.name})
        capacity.add_metric([bridge.id], float(bridge.ports))
        in_use.add_metric([bridge.id], float(b.ports_in_use.get(bridge.id, 0)))
    sessions = GaugeMetricFamily(
        "confsched_sessions",
        "Sessions by the state of their current or next occurrence.",
        labels=["state"],
    )
    for s in SESSION_STATES:
        sessions.add_metric([s], float(b.sessions.get(s, 0)))
    upcoming = GaugeMetricFamily(
        "confsched_upcoming_sessions",
        "Session occurrences in their setup window or starting within the next hour.",
        value=float(b.upcoming_sessions),
    )
    upcoming_eps = GaugeMetricFamily(
        "confsched_upcoming_session_endpoints",
        "Endpoints booked in sessions starting within the next hour, by readiness.",
        labels=["state"],
    )
    counts = _count(b.readiness.values())
    for r in READINESS_STATES:
        upcoming_eps.add_metric([r.value], float(counts.get(r, 0)))
    at_risk = GaugeMetricFamily(*SESSIONS_AT_RISK, labels=["area"])
    for area in fleet_areas(inp.fleet):
        at_risk.add_metric([area], float(b.sessions_at_risk.get(area, 0)))
    snapshot = GaugeMetricFamily(
        "confsched_booking_snapshot_timestamp_seconds",
        "Unix time the booking figures above were read from the store.",
        value=b.taken_at,
        unit="seconds",
    )
    return [info, capacity, in_use, sessions, upcoming, upcoming_eps, at_risk, snapshot]


def fleet_areas(fleet: Fleet) -> list[str]:
    """Every area label of the fleet, sorted; "" (the province's own rooms) when it has any."""
    return sorted({area_label(ep) for ep in fleet.endpoints.values()})


def counter_families(inp: ScrapeInput) -> list[Metric]:
    c = inp.counters
    accepted = CounterMetricFamily(
        "confsched_reports_accepted",
        "Health reports accepted from confsched_agent.",
        value=float(c.reports_accepted),
    )
    rejected = _by_reason(
        "confsched_reports_rejected",
        "Agent messages refused, by reason.",
        c.reports_rejected,
        REJECT_REASONS,
    )
    logins = _by_reason(
        "confsched_ssh_logins_refused",
        "Agent SSH logins refused, by reason.",
        c.logins_refused,
        LOGIN_REFUSALS,
    )
    deferred = CounterMetricFamily(
        "confsched_ssh_logins_deferred",
        "Agent connections told to come back later while the scheduler lets a crowd in.",
        value=float(c.logins_deferred),
    )
    refusals = _by_reason(
        "confsched_booking_refusals",
        "Bookings refused (by the CLI or the API), by reason.",
        inp.refusals,
        BOOKING_REFUSALS,
    )
    return [
        accepted,
        rejected,
        logins,
        deferred,
        refusals,
        *invite_families(inp.booking),
        *store_families(inp.store),
    ]


def store_families(st: StoreStatus) -> list[Metric]:
    """Whether the store takes writes (one series per fault reason, 1 for the current one)."""
    fault = GaugeMetricFamily(
        "confsched_store_fault",
        "1 while the store cannot write for this reason (reports wait unacknowledged).",
        labels=["reason"],
    )
    for reason in STORE_FAULTS:
        fault.add_metric([reason], _flag(st.fault == reason))
    since = GaugeMetricFamily(
        "confsched_store_fault_since_timestamp_seconds",
        "Unix time the current store fault began; 0 while the store writes.",
        value=st.fault_since,
        unit="seconds",
    )
    failures = _by_reason(
        "confsched_store_write_failures",
        "Store writes that failed for a fault (not their content), by reason.",
        st.write_failures,
        STORE_FAULTS,
    )
    return [fault, since, failures]


def invite_families(b: BookingSnapshot) -> list[Metric]:
    """Invites mailed and given up on (from the store: they survive restarts), and waiting."""
    done = CounterMetricFamily(
        "confsched_invites",
        "Invite e-mails the relay accepted (sent) or that failed every attempt (failed).",
        labels=["result"],
    )
    for result in ("sent", "failed"):
        done.add_metric([result], float(b.invites.get(result, 0)))
    pending = GaugeMetricFamily(
        "confsched_invites_pending",
        "Invite e-mails waiting for their first attempt or a retry.",
        value=float(b.invites.get("pending", 0)),
    )
    return [done, pending]


def scrape_families(inp: ScrapeInput) -> list[Metric]:
    st = inp.stats
    return [
        CounterMetricFamily(
            "confsched_metrics_scrapes", "Scrapes of /metrics served.", value=float(st.scrapes)
        ),
        GaugeMetricFamily(
            "confsched_metrics_scrape_duration_seconds",
            "Time the previous /metrics scrape took to render.",
            value=st.duration_seconds,
            unit="seconds",
        ),
        GaugeMetricFamily(
            "confsched_metrics_scrape_longest_hold_seconds",
            "Longest the previous scrape held the event loop without a break.",
            value=st.longest_hold_seconds,
            unit="seconds",
        ),
        GaugeMetricFamily(
            "confsched_metrics_rerendered_endpoints",
            "Endpoints whose series the previous scrape had to render anew.",
            value=float(st.rerendered_endpoints),
        ),
        GaugeMetricFamily(
            "confsched_event_loop_lag_seconds",
            "Longest a ready callback waited for the event loop over the last 15 to 30 s.",
            value=inp.loop_lag_seconds,
            unit="seconds",
        ),
    ]


def tail_families(inp: ScrapeInput) -> list[Metric]:
    return fleet_families(inp) + counter_families(inp) + scrape_families(inp)


def build_families(inp: ScrapeInput) -> list[Metric]:
    """Every family, in exposition order (the reference for the fast renderer)."""
    return (
        head_families(inp)
        + endpoint_families(inp)
        + booking_endpoint_families(inp)
        + tail_families(inp)
    )


class FamiliesCollector:
    """A prometheus-client collector over fixed families (for ``generate_latest``)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def _flag(ok: bool) -> float:
    return 1.0 if ok else 0.0


def _count(values: Iterable[object]) -> dict[object, int]:
    out: dict[object, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def _by_reason(
    name: str, doc: str, counts: Mapping[str, int], known: Iterable[str] = ()
) -> CounterMetricFamily:
    """One series per reason; known reasons start at 0 so that ``rate()`` sees the first one."""
    bounded: dict[str, int] = dict.fromkeys(known, 0)
    for reason, n in counts.items():
        key = reason if _CODE.match(reason) else "other"
        bounded[key] = bounded.get(key, 0) + n
    family = CounterMetricFamily(name, doc, labels=["reason"])
    for reason in sorted(bounded):
        family.add_metric([reason], float(bounded[reason]))
    return family

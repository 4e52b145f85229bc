"""Plain data shared by every part of the scheduler: the fleet, sessions and health.

Frozen dataclasses and enums only, standard library only. Times are timezone-aware UTC
``datetime`` values everywhere in the domain; local time exists only at the edges (CLI, API,
calendar, console).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum

from confsched.domain.retention import DEFAULT_RETENTION, Retention
from confsched.domain.stages import DEFAULT_STAGES, ReadinessStage

DEFAULT_LEVELS: tuple[str, ...] = ("province", "district", "commune")
"""The levels of a fleet file that declares none: the seed's three tiers. Since July 2025 a
province has two (``province``, ``commune``); the fleet file says which, top-down."""


class EndpointKind(StrEnum):
    PC = "pc"
    CODEC = "codec"


@dataclass(frozen=True, slots=True)
class Agency:
    id: str
    name: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Site:
    """A place with rooms, a node of the site tree.

    ``level`` is one of the fleet's declared level names; ``parent`` is the site it hangs under
    (None only for a top of the tree). A site given no parent in the file hangs under the
    fleet's one top-level site, and is stored with that parent.
    """

    id: str
    name: str
    level: str
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class Bridge:
    """A conference bridge (MCU); every participant of a session takes one of its ports."""

    id: str
    name: str
    ports: int
    address: str = ""
    dial_in: str = ""


CODEC_DRIVERS = ("cisco-xapi", "poly-rest")
"""The management APIs a codec can be polled through (``confsched.codecs`` implements each)."""


@dataclass(frozen=True, slots=True)
class CodecAccess:
    """How the scheduler reaches a hardware codec's management API; credentials live apart,
    in the data directory's secrets file, never in the fleet or the store."""

    driver: str
    url: str


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One room's conferencing endpoint.

    ``level`` is its site's level. ``area`` is the grouping the room belongs to (see
    ``confsched.domain.sitetree.area_of``): the highest site above it, or its own, below the
    top level and above the lowest, or None (a province room, or a commune hanging directly
    under the province). Both are derived on load so that grouping never walks the tree.
    """

    id: str
    name: str
    kind: EndpointKind
    agency: str
    site: str
    level: str
    area: str | None
    address: str = ""
    bridge: str | None = None
    tags: tuple[str, ...] = ()
    codec: CodecAccess | None = None
    """Set for a codec polled through its management API instead of running an agent."""
    client_process: str = ""
    """The conferencing client's process its agent looks for: the endpoint's own ``client:``,
    else the fleet's; "" for a codec, or when the fleet file names none."""


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """When sessions may be offered by the free-slot search, in the fleet's local time."""

    days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    start: time = time(7, 30)
    end: time = time(17, 0)


@dataclass(frozen=True, slots=True)
class Fleet:
    """The whole inventory as loaded from the fleet file; dicts keep file order."""

    name: str
    timezone: str
    working_hours: WorkingHours
    report_interval: timedelta
    agencies: Mapping[str, Agency]
    sites: Mapping[str, Site]
    bridges: Mapping[str, Bridge]
    endpoints: Mapping[str, Endpoint]
    levels: tuple[str, ...] = DEFAULT_LEVELS
    """Declared level names, top-down."""
    readiness_stages: tuple[ReadinessStage, ...] = DEFAULT_STAGES
    """When before a session its rooms are looked at (forecast, self-tests)."""
    language: str = ""
    """The console's language for this fleet (``vi`` or ``en``); "" lets the console choose by
    the fleet's time zone (Vietnamese on Vietnam's)."""
    health_history: Retention = DEFAULT_RETENTION
    """How long state changes, minute and hour cells of health are kept."""


# --- sessions ---------------------------------------------------------------------------------


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


DEFAULT_SETUP = timedelta(minutes=15)
MAX_ENDPOINTS_PER_SESSION = 192


@dataclass(frozen=True, slots=True)
class PortAllocation:
    """Which bridge carries which participants, and the cascade links between bridges.

    Each link costs one port on each of its two bridges.
    """

    by_bridge: Mapping[str, tuple[str, ...]]
    links: tuple[tuple[str, str], ...] = ()
    moved: Mapping[str, str] = field(default_factory=dict)
    """The participants placed off their home bridge, each with that home (as it was when the
    allocation was made: a later re-import must not rewrite what rooms were told)."""
    _dialled: Mapping[str, str] = field(init=False, repr=False, compare=False)
    """Each participant's bridge, made once: a session's view names the bridge of each of its
    192 rooms, and a search through every bridge's members for each was most of its cost."""

    def __post_init__(self) -> None:
        dialled: dict[str, str] = {}
        for bridge, members in self.by_bridge.items():
            for endpoint in members:
                dialled.setdefault(endpoint, bridge)
        object.__setattr__(self, "_dialled", dialled)

    def ports_used(self, bridge: str) -> int:
        links = sum(1 for a, b in self.links if bridge in (a, b))
        return len(self.by_bridge.get(bridge, ())) + links

    def bridge_of(self, endpoint: str) -> str | None:
        """The bridge ``endpoint`` dials, or None when it has no port here."""
        return self._dialled.get(endpoint)


@dataclass(frozen=True, slots=True)
class Session:
    """A booked multi-site session (the series, for a recurring one).

    ``start``/``end`` are the first occurrence's times in UTC. ``sequence`` grows on every change
    the calendar must announce (move, cancel).
    """

    id: str
    title: str
    organizer: str
    chair: str | None
    endpoints: tuple[str, ...]
    selectors: tuple[str, ...]
    start: datetime
    end: datetime
    setup: timedelta = DEFAULT_SETUP
    rrule: str | None = None
    exdates: tuple[datetime, ...] = ()
    allocation: PortAllocation = field(default_factory=lambda: PortAllocation({}))
    status: SessionStatus = SessionStatus.SCHEDULED
    sequence: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


def overlaps(a_from: datetime, a_end: datetime, b_from: datetime, b_end: datetime) -> bool:
    """The one overlap rule: half-open intervals ``[from, end)`` share an instant.

    A sitting that ends at 10:00 leaves the room free for one whose setup starts at 10:00. Both
    the endpoint check and the port count use this; the store only pre-selects candidates.
    """
    return a_from < b_end and b_from < a_end


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One concrete sitting of a session; ``recurrence_id`` is its original start (UTC)."""

    session_id: str
    recurrence_id: datetime
    start: datetime
    end: datetime
    setup: timedelta = DEFAULT_SETUP
    cancelled: bool = False
    sequence: int = 0
    moved: bool = False
    """True when this sitting was moved on its own (a RECURRENCE-ID override for the calendar)."""
    allocation: PortAllocation | None = None
    """Its own bridge ports when the session's allocation did not fit at this time; None: the
    session's ``allocation`` applies."""
    attention: str = ""
    """Why an operator must look at this sitting ("" when nothing is wrong): a forced re-import
    broke it and no other bridge could take it. Moving or cancelling the sitting clears it."""

    @property
    def busy_from(self) -> datetime:
        """Rooms are taken from the setup time on."""
        return self.start - self.setup


# --- health -----------------------------------------------------------------------------------


class EndpointState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CallState:
    """Whether a room is in a call and with whom (a codec's remote URI, or the bridge an agent
    saw its client's media go to), as of its last report."""

    active: bool
    remote: str = ""


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """The judged state of one endpoint, with the reasons a person can act on."""

    endpoint: str
    state: EndpointState = EndpointState.UNKNOWN
    reasons: tuple[str, ...] = ()
    last_report_at: datetime | None = None
    checks: Mapping[str, bool] = field(default_factory=dict)
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    loss_ratio: float | None = None
    codes: tuple[str, ...] = ()
    """Short bounded labels parallel to ``reasons`` (for metrics): "camera", "loss", "no_report"."""
    measurements: Mapping[str, float] = field(default_factory=dict)
    """Everything numeric the last report carried (cpu_ratio, disk_free_ratio, uptime_s, …)."""
    call: CallState | None = None
    """In a call or not, as of the last report; None when its source cannot tell."""


class Readiness(StrEnum):
    PENDING = "pending"
    READY = "ready"
    NOT_READY = "not_ready"
    NO_ANSWER = "no_answer"

"""Per-endpoint series rendered incrementally: the fast path of a /metrics scrape.

Why not ``generate_latest`` over :func:`~confsched.metrics.families.endpoint_families`? At
10,000 endpoints (160,000 series) building the families and formatting every sample takes over
a second, on the event loop, every 15 s. Most of that work repeats the previous scrape: an
endpoint's labels never change, its state and checks rarely do. So each endpoint keeps, per
family, the text it rendered last time and the values that text was made from; a scrape
re-renders only the fragments whose values moved (an endpoint whose health object is the same
one as last time, and that has not aged into ``offline``, costs one identity check), then joins
each family's fragments per block of 512 endpoints; a block where nothing moved keeps its bytes.
The body stays in those pieces all the way to the socket (or the gzip thread): joining 15 MB at
once costs the event loop more than sending the pieces.

The work is cut into slices: after ``slice_seconds`` of work the renderer yields to the event
loop, so a scrape never holds SSH reports and API calls up for longer than a slice.

The output is what prometheus-client writes for the same families: sorted label names, label
values escaped the same way, values through the same float formatting (tested byte for byte).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from prometheus_client.utils import floatToGoString

from confsched.domain import health as judge
from confsched.domain.model import Endpoint, EndpointHealth, EndpointState, Fleet, Readiness
from confsched.metrics import families as fam
from confsched.metrics.sources import READINESS_STATES, BookingSnapshot, HealthEntry

FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
INFO, STATE, PROBLEM, CHECK, LAST, RTT, JITTER, LOSS, DROPPED = range(9)
N_HEALTH = 9
BLOCK_BITS = 9
BLOCK = 1 << BLOCK_BITS
"""Endpoints per joined block: small enough to join in well under a slice."""


def go_float(value: float) -> str:
    """prometheus-client's ``floatToGoString``, with fast paths for ordinary values and
    for Unix timestamps (which Go, and so the client, writes with an exponent)."""
    value = float(value)
    if -1e300 < value < 1e6:
        return repr(value)
    if 1e6 <= value < 1e300:
        s = repr(value)
        dot = s.find(".")
        if dot > 6:
            mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1 :]}".rstrip("0.")
            return f"{mantissa}e+{dot - 1:02d}"
        return s
    return floatToGoString(value)


def escape(value: str) -> str:
    """A label value as the text formats escape it."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


class Pacer:
    """Tracks how long the caller has held the event loop and yields once a slice is used."""

    def __init__(self, slice_seconds: float) -> None:
        self.slice = slice_seconds
        self.started = self.mark = time.perf_counter()
        self.longest = 0.0

    async def tick(self) -> None:
        now = time.perf_counter()
        if now - self.mark >= self.slice:
            self.longest = max(self.longest, now - self.mark)
            await asyncio.sleep(0)
            self.mark = time.perf_counter()

    def close(self) -> float:
        """Longest hold, counting the stretch since the last yield."""
        self.longest = max(self.longest, time.perf_counter() - self.mark)
        return self.longest


class _Slot:
    """One endpoint's rendered fragments and the inputs they were rendered from."""

    __slots__ = (
        "area_label",
        "checks",
        "codes",
        "deadline",
        "dropped",
        "endpoint",
        "entry",
        "jitter",
        "label",
        "last",
        "loss",
        "rtt",
        "state",
        "state_texts",
    )

    def __init__(self, ep: Endpoint) -> None:
        self.endpoint = ep
        self.label = 'endpoint="' + escape(ep.id) + '"'
        self.area_label = 'area="' + escape(fam.area_label(ep)) + '",' + self.label
        self.state_texts: dict[EndpointState, str] = {}
        self.forget()

    def forget(self) -> None:
        """Drop what was rendered: the next scrape renders every fragment of this endpoint."""
        self.entry: HealthEntry | bool | None = False  # False: nothing rendered yet
        self.deadline = FAR_FUTURE
        self.state: EndpointState | None = None
        self.codes: tuple[str, ...] | None = None
        self.checks: Mapping[str, bool] | None = None
        self.last: datetime | bool | None = False
        self.rtt: float | bool | None = False
        self.jitter: float | bool | None = False
        self.loss: float | bool | None = False
        self.dropped: float | bool | None = False

    def info_text(self, fleet: Fleet) -> str:
        labels = {k: escape(v) for k, v in fam.info_labels(self.endpoint, fleet).items()}
        return (
            f'confsched_endpoint_info{{agency="{labels["agency"]}",area="{labels["area"]}",'
            f'bridge="{labels["bridge"]}",bridge_name="{labels["bridge_name"]}",{self.label},'
            f'kind="{labels["kind"]}",level="{labels["level"]}",name="{labels["name"]}"}} 1.0\n'
        )

    def state_text(self, state: EndpointState) -> str:
        text = self.state_texts.get(state)
        if text is None:
            ep = self.endpoint
            area, agency = escape(fam.area_label(ep)), escape(ep.agency)
            head = f'{fam.STATE[0]}{{agency="{agency}",area="{area}",{self.label},state="'
            text = "".join(
                f'{head}{s.value}"}} {"1.0" if s is state else "0.0"}\n' for s in fam.STATES
            )
            self.state_texts[state] = text
        return text


@dataclass
class EndpointRenderer:
    """The per-endpoint families of one scheduler, kept between scrapes."""

    slice_seconds: float = 0.002
    _endpoints: Mapping[str, Endpoint] | None = None
    _fleet: Fleet | None = None
    _slots: list[_Slot | None] = field(default_factory=list)
    _texts: list[list[str]] = field(default_factory=list)
    _joined: list[list[bytes]] = field(default_factory=list)
    _booking: BookingSnapshot | None = None
    _booking_joined: list[list[bytes]] = field(default_factory=list)
    rerendered: int = 0

    async def render(
        self,
        fleet: Fleet,
        health: Mapping[str, HealthEntry],
        now: datetime,
        interval: timedelta,
        limits: judge.Thresholds,
        pacer: Pacer,
        restart: judge.Restart | None = None,
    ) -> list[list[bytes]]:
        """Sample lines of the nine health families: per family, one bytes per block of
        endpoints (a block re-joined only when one of its endpoints changed)."""
        endpoints = fleet.endpoints
        self._layout(fleet)
        dirty: list[set[int]] = [set() for _ in range(N_HEALTH)]
        slots, rerendered = self._slots, 0
        order = list(endpoints.values())
        spans: dict[float, timedelta] = {}  # offline_after intervals, by the entry's interval
        for i, slot in enumerate(slots):
            if slot is None:
                slot = slots[i] = _Slot(order[i])
            entry = health.get(slot.endpoint.id)
            if entry is slot.entry and now < slot.deadline:
                continue
            rerendered += 1
            # judge.at inlined for the common case (fresh report: the health as judged)
            last = None if entry is None else entry.health.last_report_at
            if last is not None:
                span = spans.get(entry.interval)  # type: ignore[union-attr]
                if span is None:
                    span = fam.entry_interval(entry, interval) * limits.offline_after  # type: ignore[arg-type]
                    spans[entry.interval] = span  # type: ignore[union-attr]
                slot.deadline = judge.offline_from(last, span, restart)
            if last is not None and now < slot.deadline:
                cur = entry.health  # type: ignore[union-attr]
            else:
                cur = fam.current_health(slot.endpoint.id, entry, now, interval, limits, restart)
                slot.deadline = FAR_FUTURE
            self._update(i, slot, entry, cur, dirty, i >> BLOCK_BITS)
            if not rerendered & 63:
                await pacer.tick()
        for f, blocks in enumerate(dirty):
            texts, joined = self._texts[f], self._joined[f]
            for b in blocks:
                joined[b] = "".join(texts[b << BLOCK_BITS : (b + 1) << BLOCK_BITS]).encode()
                await pacer.tick()
        self.rerendered = rerendered
        return self._joined

    def _layout(self, fleet: Fleet) -> None:
        """Match the slots to the fleet's endpoints (kept by id across inventory reloads; a
        reloaded fleet renders every info line anew, as a bridge may have been renamed)."""
        endpoints = fleet.endpoints
        if endpoints is self._endpoints and fleet is self._fleet:
            return
        self._fleet = fleet
        old = {slot.endpoint.id: slot for slot in self._slots if slot is not None}
        slots: list[_Slot | None] = []
        for ep in endpoints.values():
            slot = old.get(ep.id)
            if slot is not None and slot.endpoint == ep:
                slot.endpoint = ep
                slot.forget()  # the texts are new lists: render everything once
                slots.append(slot)
            else:
                slots.append(None)
        self._endpoints, self._slots = endpoints, slots
        self._texts = [[""] * len(slots) for _ in range(N_HEALTH)]
        blocks = (len(slots) + BLOCK - 1) >> BLOCK_BITS
        self._joined = [[b""] * blocks for _ in range(N_HEALTH)]
        self._booking = None

    def _update(
        self,
        i: int,
        slot: _Slot,
        entry: HealthEntry | None,
        cur: EndpointHealth,
        dirty: list[set[int]],
        block: int,
    ) -> None:
        texts, label = self._texts, slot.label
        if slot.entry is False:
            texts[INFO][i] = slot.info_text(self._fleet)  # type: ignore[arg-type]
            dirty[INFO].add(block)
        slot.entry = entry
        if cur.state is not slot.state:
            slot.state = cur.state
            texts[STATE][i] = slot.state_text(cur.state)
            dirty[STATE].add(block)
        if cur.codes != slot.codes:
            slot.codes = cur.codes
            texts[PROBLEM][i] = "".join(
                f'{fam.PROBLEM[0]}{{{label},reason="{code}"}} 1.0\n'
                for code in fam.problem_codes(cur)
            )
            dirty[PROBLEM].add(block)
        if cur.checks != slot.checks:
            slot.checks = cur.checks
            texts[CHECK][i] = "".join(
                f'{fam.CHECK[0]}{{check="{escape(name)}",{label}}} '
                f"{'1.0' if cur.checks[name] else '0.0'}\n"
                for name in sorted(cur.checks)
            )
            dirty[CHECK].add(block)
        last = cur.last_report_at
        if last != slot.last:
            slot.last = last
            texts[LAST][i] = (
                "" if last is None else f"{_LAST}{{{label}}} {go_float(last.timestamp())}\n"
            )
            dirty[LAST].add(block)
        for family, attr, raw, scale in _NETWORK:
            value = getattr(cur, raw)
            if value != getattr(slot, attr) or getattr(slot, attr) is False:
                setattr(slot, attr, value)
                v = None if value is None else value / scale
                texts[family][i] = _network_line(_NAMES[family], label, v)
                dirty[family].add(block)
        dropped = fam.spool_dropped(cur)
        if dropped != slot.dropped or slot.dropped is False:
            slot.dropped = dropped
            texts[DROPPED][i] = (
                "" if dropped is None else f"{_DROPPED}{{{slot.area_label}}} {go_float(dropped)}\n"
            )
            dirty[DROPPED].add(block)

    async def render_booking(self, booking: BookingSnapshot, pacer: Pacer) -> list[list[bytes]]:
        """Sample lines of the four booking families; redone only when the snapshot changed."""
        if booking is self._booking:
            return self._booking_joined
        nxt: list[str] = []
        setup: list[str] = []
        ready: list[str] = []
        risk: list[str] = []
        for n, slot in enumerate(self._slots):
            if slot is None:
                continue
            ep_id, label = slot.endpoint.id, slot.label
            start = booking.next_start.get(ep_id)
            if start is not None:
                nxt.append(f"{_NEXT}{{{label}}} {go_float(start)}\n")
            opens = booking.next_setup.get(ep_id)
            if opens is not None:
                setup.append(f"{_SETUP}{{{label}}} {go_float(opens)}\n")
            status = booking.readiness.get(ep_id)
            if status is not None:
                ready.append(_readiness(label, status))
            at_risk = booking.at_risk.get(ep_id)
            if at_risk is not None:
                risk.append(f"{_AT_RISK}{{{slot.area_label}}} {'1.0' if at_risk else '0.0'}\n")
            if not n & 255:
                await pacer.tick()
        self._booking = booking
        self._booking_joined = [[("".join(part)).encode()] for part in (nxt, setup, ready, risk)]
        return self._booking_joined


def _network_line(name: str, label: str, v: float | None) -> str:
    """repr() is what floatToGoString writes for values in 0..1e6, the network's range."""
    if v is None:
        return ""
    return (
        f"{name}{{{label}}} {v!r}\n" if -1e300 < v < 1e6 else f"{name}{{{label}}} {go_float(v)}\n"
    )


_LAST, _RTT, _JITTER, _LOSS, _NEXT, _SETUP, _AT_RISK = (
    fam.LAST_REPORT[0],
    fam.RTT[0],
    fam.JITTER[0],
    fam.LOSS[0],
    fam.NEXT_SESSION[0],
    fam.NEXT_SETUP[0],
    fam.AT_RISK[0],
)
_DROPPED = fam.SPOOL_DROPPED[0] + "_total"
# (text index, slot attribute, EndpointHealth field, divisor to base units) per network family
_NETWORK = (
    (RTT, "rtt", "rtt_ms", 1e3),
    (JITTER, "jitter", "jitter_ms", 1e3),
    (LOSS, "loss", "loss_ratio", 1.0),
)
_NAMES = {RTT: _RTT, JITTER: _JITTER, LOSS: _LOSS}


def _readiness(label: str, status: Readiness) -> str:
    return "".join(
        f'{fam.READINESS[0]}{{{label},state="{r.value}"}} {"1.0" if r is status else "0.0"}\n'
        for r in READINESS_STATES
    )

"""Property: after any sequence of book/move/cancel, no endpoint is double-booked, no bridge is
over-filled at any instant, and every refusal is backed by a conflict a brute-force oracle finds.

A tiny fleet (6 rooms, bridges of 4 and 3 ports) makes both kinds of conflict frequent.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cache
from itertools import combinations, product

import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confsched.domain.model import (
    Agency,
    Bridge,
    Endpoint,
    EndpointKind,
    Fleet,
    Site,
    WorkingHours,
)
from confsched.errors import BookingRefused, InvalidInput, NotFound
from confsched.services import booking as svc
from confsched.store.db import to_db_time
from confsched.store.inventory import save_fleet
from confsched.store.migrations import MIGRATIONS

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
STEP = timedelta(minutes=30)
ROOMS = ("e0", "e1", "e2", "e3", "e4", "e5")
CAPACITY = {"b1": 4, "b2": 3}


def tiny_fleet() -> Fleet:
    site = Site("s", "Xã Thử", "commune", None)
    endpoints = {
        e: Endpoint(
            e,
            f"Phòng {e}",
            EndpointKind.PC,
            "a",
            "s",
            "commune",
            None,
            bridge="b1" if i < 3 else "b2",
        )
        for i, e in enumerate(ROOMS)
    }
    return Fleet(
        name="Thử",
        timezone="Asia/Ho_Chi_Minh",
        working_hours=WorkingHours(frozenset(range(7)), time(0, 0), time(23, 59)),
        report_interval=timedelta(seconds=10),
        agencies={"a": Agency("a", "Cơ quan")},
        sites={"s": site},
        bridges={b: Bridge(b, b.upper(), p) for b, p in CAPACITY.items()},
        endpoints=endpoints,
    )


FLEET = tiny_fleet()


@dataclass(frozen=True)
class Book:
    rooms: tuple[str, ...]
    start: int
    length: int
    setup: int
    count: int  # 1: single; 2-3: daily series


@dataclass(frozen=True)
class Move:
    pick: int
    start: int
    length: int
    one: bool  # one occurrence of a series (when it is one)


@dataclass(frozen=True)
class Cancel:
    pick: int
    one: bool


rooms = st.lists(st.sampled_from(ROOMS), min_size=1, max_size=6, unique=True).map(tuple)
operations = st.one_of(
    st.builds(
        Book,
        rooms,
        st.integers(0, 20),
        st.integers(1, 4),
        st.sampled_from([0, 15]),
        st.sampled_from([1, 1, 2, 3]),
    ),
    st.builds(Move, st.integers(0, 20), st.integers(0, 20), st.integers(1, 4), st.booleans()),
    st.builds(Cancel, st.integers(0, 20), st.booleans()),
)


def fresh_db() -> sqlite_utils.Database:
    db = sqlite_utils.Database(sqlite3.connect(":memory:", isolation_level=None))
    MIGRATIONS.apply(db)
    save_fleet(db, FLEET)
    return db


def at(step: int) -> datetime:
    return NOW + timedelta(hours=1) + step * STEP


# --- the oracle -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sitting:
    key: tuple[str, str]
    rooms: frozenset[str]
    busy_from: datetime
    end: datetime
    ports: dict[str, int]


def live_sittings(db: sqlite_utils.Database) -> list[Sitting]:
    rows = db.execute(
        "SELECT o.session_id, o.recurrence_id, s.endpoints, o.busy_from, o.ends_at, o.ports "
        "FROM occurrences o JOIN sessions s ON s.id = o.session_id WHERE o.cancelled = 0"
    ).fetchall()
    return [
        Sitting(
            (r[0], r[1]),
            frozenset(json.loads(r[2])),
            datetime.fromisoformat(r[3]),
            datetime.fromisoformat(r[4]),
            json.loads(r[5]),
        )
        for r in rows
    ]


def overlap(a: Sitting | tuple[datetime, datetime], b: Sitting) -> bool:
    start, end = (a.busy_from, a.end) if isinstance(a, Sitting) else a
    return start < b.end and b.busy_from < end


def peak(sittings: list[Sitting], start: datetime, end: datetime, bridge: str) -> int:
    """Brute force: the load at every instant something starts inside the window."""
    inside = [s for s in sittings if overlap((start, end), s)]
    instants = {start} | {s.busy_from for s in inside if s.busy_from > start}
    return max(
        (sum(s.ports.get(bridge, 0) for s in inside if s.busy_from <= t < s.end) for t in instants),
        default=0,
    )


def cascade_fits(n: int, free: list[int]) -> bool:
    """Brute force: any subset of bridges and any tree degrees that hold n participants."""
    for k in range(1, len(free) + 1):
        for subset in combinations(free, k):
            if k == 1:
                if subset[0] >= n:
                    return True
                continue
            for degrees in product(range(1, k), repeat=k):
                if sum(degrees) != 2 * (k - 1):
                    continue
                room = [f - d for f, d in zip(subset, degrees, strict=True)]
                if min(room) >= 1 and sum(room) >= n >= k:
                    return True
    return False


def best_cascade(homes: list[str | None], free: dict[str, int]) -> tuple[int, int] | None:
    """Brute force: over every assignment of participants to bridges, the least (rooms moved off
    their home bridge, links) of those a tree of links can join within the free ports."""
    usable = [b for b, f in free.items() if f > 0]
    best: tuple[int, int] | None = None
    for assignment in product(usable, repeat=len(homes)):
        used = Counter(assignment)
        caps = tuple(sorted(free[b] - c for b, c in used.items()))
        if not _tree_fits(caps):
            continue
        moved = sum(1 for h, b in zip(homes, assignment, strict=True) if h in free and h != b)
        score = (moved, len(used) - 1)
        best = score if best is None else min(best, score)
    return best


@cache
def _tree_fits(caps: tuple[int, ...]) -> bool:
    """Whether bridges with these spare ports can be joined by a tree, one port per link end."""
    k = len(caps)
    if k == 1:
        return caps[0] >= 0
    return any(
        sum(degrees) == 2 * (k - 1) and all(d <= c for d, c in zip(degrees, caps, strict=True))
        for degrees in product(range(1, k), repeat=k)
    )


def truly_conflicts(
    sittings: list[Sitting],
    wanted: list[tuple[datetime, datetime]],
    members: frozenset[str],
    excluded: set[tuple[str, str]] | str,
) -> bool:
    others = [
        s
        for s in sittings
        if not (s.key in excluded if isinstance(excluded, set) else s.key[0] == excluded)
    ]
    for window in wanted:
        if any(overlap(window, s) and s.rooms & members for s in others):
            return True
        free = [CAPACITY[b] - peak(others, *window, b) for b in CAPACITY]
        if not cascade_fits(len(members), free):
            return True
    return False


def check_invariants(db: sqlite_utils.Database) -> None:
    sittings = live_sittings(db)
    for a, b in combinations(sittings, 2):
        assert not (overlap(a, b) and a.rooms & b.rooms), (a, b)
    for s in sittings:
        for bridge, capacity in CAPACITY.items():
            assert peak(sittings, s.busy_from, s.end, bridge) <= capacity
        assert sum(s.ports.values()) >= len(s.rooms)  # everyone has a port


# --- the property -----------------------------------------------------------------------------


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operations, min_size=1, max_size=10))
def test_any_sequence_never_double_books_and_refuses_only_true_conflicts(ops: list[object]) -> None:
    db = fresh_db()
    booked: list[str] = []
    for op in ops:
        sittings = live_sittings(db)
        try:
            if isinstance(op, Book):
                booked.append(_book(db, op, sittings))
            elif isinstance(op, Move) and booked:
                _move(db, op, booked, sittings)
            elif isinstance(op, Cancel) and booked:
                _cancel(db, op, booked)
        except (InvalidInput, NotFound):
            assert live_sittings(db) == sittings  # a refused request changes nothing
        check_invariants(db)


def _book(db: sqlite_utils.Database, op: Book, sittings: list[Sitting]) -> str:
    setup = timedelta(minutes=op.setup)
    start, end = at(op.start), at(op.start + op.length)
    request = svc.BookingRequest(
        "Thử",
        op.rooms,
        start,
        end,
        setup=setup,
        rrule=f"FREQ=DAILY;COUNT={op.count}" if op.count > 1 else None,
    )
    wanted = [(start + timedelta(days=d) - setup, end + timedelta(days=d)) for d in range(op.count)]
    try:
        return svc.book(db, FLEET, request, now=NOW).id
    except BookingRefused:
        assert truly_conflicts(sittings, wanted, frozenset(op.rooms), set())
        assert live_sittings(db) == sittings
        return ""


def _move(db: sqlite_utils.Database, op: Move, booked: list[str], sittings: list[Sitting]) -> None:
    session_id = booked[op.pick % len(booked)]
    if not session_id:
        return
    session = svc.get_session(db, session_id)
    start, length = at(op.start), op.length * STEP
    occurrence = None
    if session.rrule:
        if not op.one:
            return  # whole-series moves are covered by the unit tests
        occurrences = [o for o in svc.session_occurrences(db, session_id) if not o.cancelled]
        if not occurrences:
            return
        occurrence = occurrences[op.pick % len(occurrences)].recurrence_id
    try:
        svc.move(db, FLEET, session_id, start, duration=length, occurrence=occurrence, now=NOW)
    except BookingRefused:
        wanted = [(start - session.setup, start + length)]
        excluded: set[tuple[str, str]] | str = (
            {(session_id, to_db_time(occurrence))} if occurrence else session_id
        )
        assert truly_conflicts(sittings, wanted, frozenset(session.endpoints), excluded)
        assert live_sittings(db) == sittings


def _cancel(db: sqlite_utils.Database, op: Cancel, booked: list[str]) -> None:
    session_id = booked[op.pick % len(booked)]
    if not session_id:
        return
    session = svc.get_session(db, session_id)
    occurrence = None
    if session.rrule and op.one:
        occurrence = svc.session_occurrences(db, session_id)[0].recurrence_id
    svc.cancel(db, FLEET, session_id, occurrence=occurrence, now=NOW)

"""Agent keys, health (latest state; history in ``health_history``) and readiness in SQLite.

Reports arrive in batches from the agent link's writer; one transaction per batch upserts each
endpoint's latest state and adds the batch to the history kept by time (its changes and cells,
``store/health_history.py``), so an acknowledgement sent after it returns is backed by a
committed row.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from confsched.domain.model import CallState, EndpointHealth, EndpointState, Readiness
from confsched.store.db import bump_revision, from_db_time, immediate, to_db_time
from confsched.store.health_history import HistoryKeeper

KEYS_AREA = "agent_keys"
READINESS_AREA = "readiness"


# --- agent keys -------------------------------------------------------------------------------


def enroll_key(db: sqlite_utils.Database, endpoint: str, public_key: str, now: datetime) -> None:
    """Make ``public_key`` the endpoint's only key (a re-enrolment replaces the old one)."""
    with immediate(db):
        db.execute(
            "INSERT INTO agent_keys (endpoint, public_key, enrolled_at, revoked_at) "
            "VALUES (?, ?, ?, NULL) ON CONFLICT(endpoint) DO UPDATE SET "
            "public_key = excluded.public_key, enrolled_at = excluded.enrolled_at, "
            "revoked_at = NULL",
            [endpoint, public_key, to_db_time(now)],
        )
        bump_revision(db, KEYS_AREA)


def enroll_keys(db: sqlite_utils.Database, keys: Mapping[str, str], now: datetime) -> None:
    """Enrol many endpoints in one transaction (the simulator enrols a whole province)."""
    with immediate(db):
        db.conn.executemany(
            "INSERT INTO agent_keys (endpoint, public_key, enrolled_at, revoked_at) "
            "VALUES (?, ?, ?, NULL) ON CONFLICT(endpoint) DO UPDATE SET "
            "public_key = excluded.public_key, enrolled_at = excluded.enrolled_at, "
            "revoked_at = NULL",
            [(e, k, to_db_time(now)) for e, k in keys.items()],
        )
        bump_revision(db, KEYS_AREA)


def revoke_key(db: sqlite_utils.Database, endpoint: str, now: datetime) -> bool:
    """Cut the endpoint's key off; False if it had no active key."""
    with immediate(db):
        cursor = db.execute(
            "UPDATE agent_keys SET revoked_at = ? WHERE endpoint = ? AND revoked_at IS NULL",
            [to_db_time(now), endpoint],
        )
        changed = cursor.rowcount > 0
        if changed:
            bump_revision(db, KEYS_AREA)
    return changed


@dataclass(frozen=True, slots=True)
class KeyStatus:
    endpoint: str
    public_key: str
    enrolled_at: datetime
    revoked_at: datetime | None


def key_status(db: sqlite_utils.Database, endpoint: str) -> KeyStatus | None:
    row = db.execute(
        "SELECT endpoint, public_key, enrolled_at, revoked_at FROM agent_keys WHERE endpoint = ?",
        [endpoint],
    ).fetchone()
    return _key_status(row) if row else None


def list_keys(
    db: sqlite_utils.Database, endpoints: Collection[str] | None = None
) -> list[KeyStatus]:
    """Every agent key (or ``endpoints``' only), by endpoint."""
    where, args = _only(endpoints)
    rows = db.execute(
        f"SELECT endpoint, public_key, enrolled_at, revoked_at FROM agent_keys{where} "
        "ORDER BY endpoint",
        args,
    ).fetchall()
    return [_key_status(row) for row in rows]


def active_keys(db: sqlite_utils.Database) -> dict[str, str]:
    """endpoint → public key (OpenSSH text) for every key not revoked."""
    rows = db.execute(
        "SELECT endpoint, public_key FROM agent_keys WHERE revoked_at IS NULL"
    ).fetchall()
    return dict(rows)


def _key_status(row: Sequence) -> KeyStatus:
    revoked = from_db_time(row[3]) if row[3] else None
    return KeyStatus(row[0], row[1], from_db_time(row[2]), revoked)


# --- health -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredHealth:
    """One judged report as stored: the health plus where it sits in the agent's stream."""

    health: EndpointHealth
    seq: int
    report_time: datetime
    interval: float
    instance: str = ""
    """The agent life (spool instance) that sent it; '' when the agent did not say."""


_COLUMNS = (
    "endpoint, seq, report_time, received_at, interval, state, reasons, codes, checks, "
    "measurements, instance, call"
)
_PLACEHOLDERS = ", ".join("?" * 12)
_UPSERT = (
    f"INSERT INTO health_latest ({_COLUMNS}) VALUES ({_PLACEHOLDERS}) "
    "ON CONFLICT(endpoint) DO UPDATE SET seq = excluded.seq, report_time = excluded.report_time, "
    "received_at = excluded.received_at, interval = excluded.interval, state = excluded.state, "
    "reasons = excluded.reasons, codes = excluded.codes, checks = excluded.checks, "
    "measurements = excluded.measurements, instance = excluded.instance, call = excluded.call"
)
_JSON_CACHE: dict[tuple, str] = {}


def _cached_json(value: tuple) -> str:
    """Reasons, codes and checks repeat across reports: serialise each distinct one once."""
    text = _JSON_CACHE.get(value)
    if text is None:
        text = json.dumps(
            dict(value) if value and type(value[0]) is tuple else value, ensure_ascii=False
        )
        if len(_JSON_CACHE) < 10000:
            _JSON_CACHE[value] = text
    return text


def _row(item: StoredHealth) -> tuple:
    h = item.health
    return (
        h.endpoint,
        item.seq,
        to_db_ms(item.report_time),
        to_db_ms(h.last_report_at) if h.last_report_at else None,
        item.interval,
        h.state.value,
        _cached_json(h.reasons),
        _cached_json(h.codes),
        _cached_json(tuple(h.checks.items())),
        json.dumps(h.measurements),
        item.instance,
        _call_json(h.call),
    )


def _call_json(call: CallState | None) -> str | None:
    if call is None:
        return None
    return json.dumps({"active": call.active, "remote": call.remote}, ensure_ascii=False)


def _call(text: str | None) -> CallState | None:
    if not text:
        return None
    value = json.loads(text)
    return CallState(bool(value["active"]), str(value.get("remote", "")))


def to_db_ms(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds (reports come many a second); sortable as text."""
    if moment.tzinfo is not UTC:
        moment = datetime.fromisoformat(to_db_time(moment)).replace(microsecond=moment.microsecond)
    return moment.isoformat(timespec="milliseconds")


def save_health(
    db: sqlite_utils.Database, batch: Sequence[StoredHealth], keeper: HistoryKeeper
) -> None:
    """Keep the newest report per endpoint as its latest state, and every report in the
    history (the keeper reads each room's previous latest state first). A transaction rolled
    back makes the keeper forget the batch's rooms: it reads them again from the store."""
    latest = {item.health.endpoint: item for item in batch}  # the newest of each room
    try:
        with immediate(db):
            keeper.record(db, [(item.health, item.interval) for item in batch])
            db.conn.executemany(_UPSERT, [_row(item) for item in latest.values()])
            heard = [h.last_report_at for h in (i.health for i in batch) if h.last_report_at]
            if heard:
                keeper.trim_due(db, max(heard))
    except BaseException:
        keeper.forget(list(latest))
        raise


def load_latest(
    db: sqlite_utils.Database, endpoints: Collection[str] | None = None
) -> list[StoredHealth]:
    """Every room's latest stored state, or only ``endpoints``' (one room's view, one session's
    forecast: a few rows, not the fleet's 10,000)."""
    where, args = _only(endpoints)
    rows = db.execute(f"SELECT {_COLUMNS} FROM health_latest{where}", args).fetchall()
    return [_stored(row) for row in rows]


def _only(endpoints: Collection[str] | None) -> tuple[str, list[str]]:
    """A WHERE clause keeping ``endpoints`` (None: every row), as one JSON value."""
    if endpoints is None:
        return "", []
    return " WHERE endpoint IN (SELECT value FROM json_each(?))", [json.dumps(list(endpoints))]


def _stored(row: Sequence) -> StoredHealth:
    measurements = json.loads(row[9] or "{}")
    health = EndpointHealth(
        endpoint=row[0],
        state=EndpointState(row[5]),
        reasons=tuple(json.loads(row[6] or "[]")),
        codes=tuple(json.loads(row[7] or "[]")),
        last_report_at=from_db_time(row[3]) if row[3] else None,
        checks=json.loads(row[8] or "{}") or {},  # no checks is stored as "[]"
        rtt_ms=measurements.get("rtt_ms"),
        jitter_ms=measurements.get("jitter_ms"),
        loss_ratio=measurements.get("loss_ratio"),
        measurements=measurements,
        call=_call(row[11]),
    )
    return StoredHealth(health, row[1], from_db_time(row[2]), row[4], row[10])


# --- readiness --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadinessRow:
    session_id: str
    recurrence_id: datetime
    endpoint: str
    status: Readiness
    reason: str = ""
    asked_at: datetime | None = None
    answered_at: datetime | None = None


def save_readiness(db: sqlite_utils.Database, rows: Sequence[ReadinessRow]) -> None:
    with immediate(db):
        db.conn.executemany(
            "INSERT INTO readiness (session_id, recurrence_id, endpoint, status, reason, "
            "asked_at, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(session_id, recurrence_id, endpoint) DO UPDATE SET "
            "status = excluded.status, reason = excluded.reason, asked_at = excluded.asked_at, "
            "answered_at = excluded.answered_at",
            [
                (
                    r.session_id,
                    to_db_time(r.recurrence_id),
                    r.endpoint,
                    r.status.value,
                    r.reason,
                    to_db_time(r.asked_at) if r.asked_at else None,
                    to_db_time(r.answered_at) if r.answered_at else None,
                )
                for r in rows
            ],
        )
        bump_revision(db, READINESS_AREA)


def load_readiness(
    db: sqlite_utils.Database, session_id: str, recurrence_id: datetime | None = None
) -> list[ReadinessRow]:
    """Every endpoint's readiness for a session (one occurrence, or the latest checked one)."""
    if recurrence_id is None:
        row = db.execute(
            "SELECT max(recurrence_id) FROM readiness WHERE session_id = ?", [session_id]
        ).fetchone()
        if row is None or row[0] is None:
            return []
        recurrence_text = row[0]
    else:
        recurrence_text = to_db_time(recurrence_id)
    rows = db.execute(
        "SELECT session_id, recurrence_id, endpoint, status, reason, asked_at, answered_at "
        "FROM readiness WHERE session_id = ? AND recurrence_id = ? ORDER BY endpoint",
        [session_id, recurrence_text],
    ).fetchall()
    return [
        ReadinessRow(
            r[0],
            from_db_time(r[1]),
            r[2],
            Readiness(r[3]),
            r[4] or "",
            from_db_time(r[5]) if r[5] else None,
            from_db_time(r[6]) if r[6] else None,
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class StageRecord:
    """One readiness stage's look at an occurrence: when, and how many of its rooms were ready."""

    session_id: str
    recurrence_id: datetime
    stage: str
    at: datetime
    ready: int
    total: int


def save_stage(db: sqlite_utils.Database, record: StageRecord) -> None:
    with immediate(db):
        db.execute(
            "INSERT INTO readiness_stages (session_id, recurrence_id, stage, at, ready, total) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(session_id, recurrence_id, stage) DO UPDATE "
            "SET at = excluded.at, ready = excluded.ready, total = excluded.total",
            [
                record.session_id,
                to_db_time(record.recurrence_id),
                record.stage,
                to_db_time(record.at),
                record.ready,
                record.total,
            ],
        )
        bump_revision(db, READINESS_AREA)


def load_stages(
    db: sqlite_utils.Database, session_id: str, recurrence_id: datetime
) -> list[StageRecord]:
    """The stages that looked at one occurrence, in the order they looked."""
    rows = db.execute(
        "SELECT stage, at, ready, total FROM readiness_stages WHERE session_id = ? "
        "AND recurrence_id = ? ORDER BY at",
        [session_id, to_db_time(recurrence_id)],
    ).fetchall()
    return [
        StageRecord(session_id, recurrence_id, r[0], from_db_time(r[1]), r[2], r[3]) for r in rows
    ]

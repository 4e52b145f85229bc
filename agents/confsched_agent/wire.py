"""The agent protocol: versioned, newline-delimited JSON over one SSH session channel.

Shared by the agent (which runs on small endpoint PCs) and the scheduler, so this module imports
the standard library only. Every line is one JSON object carrying ``"v"`` (the protocol version)
and ``"type"``:

    agent → scheduler
      hello     {instance}     first line of every connection: which life of the agent's spool
                               this is (a reinstalled agent, or a wiped spool, is a new life whose
                               seq numbering starts again)
      report    {seq, time, interval?, endpoint?, checks: {name: {ok, detail?}}, measurements,
                 call?: {active, remote?}}   call absent: the agent cannot tell (added in
                 version 1 as an optional field, so an older scheduler ignores it)
      selftest  {id, time, checks, measurements}          answer to a ``selftest`` command
    scheduler → agent
      ack       {seq}      every report up to and including ``seq`` is durably stored
      reject    {seq?, reason, detail}   a line was refused; a rejected report is never stored
      command   {id, name: "selftest" | "set_interval", interval?}

Before any of that, at the door: a scheduler taking in more logins than it can handshake at once
(a fleet reconnecting after a restart) turns the excess away with an SSH disconnect, code
``BUSY_CODE`` (12, "too many connections"), whose description names when to come back
(:func:`busy_text`, read back with :func:`busy_delay`): the scheduler gives each agent its own
time, spread at the rate it lets logins in, so the crowd comes back in a queue, not a stampede.
Both sides offer only ``KEX_ALGS`` (curve25519, the cheapest safe key exchange).

Limits are enforced on decode, so a peer can never make the other side hold more than
``MAX_LINE`` bytes for one message or store an absurd value. :class:`WireError` carries a short
machine-readable ``reason`` (used as a metrics label) and a human ``detail``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "BUSY_CODE",
    "KEX_ALGS",
    "MAX_CHECKS",
    "MAX_LINE",
    "MAX_MEASUREMENTS",
    "VERSION",
    "Ack",
    "Call",
    "Check",
    "Command",
    "Hello",
    "LineSplitter",
    "Message",
    "Reject",
    "Report",
    "SelftestResult",
    "WireError",
    "busy_delay",
    "busy_text",
    "decode",
    "encode",
    "encode_ack",
]

VERSION = 1
MAX_LINE = 16 * 1024
MAX_CHECKS = 64
MAX_MEASUREMENTS = 64
MAX_DETAIL = 200
MAX_SEQ = 2**53
MAX_ABS_VALUE = 1e15
MIN_INTERVAL = 1.0
MAX_INTERVAL = 3600.0
COMMANDS = frozenset({"selftest", "set_interval"})
BUSY_CODE = 12
"""SSH_DISCONNECT_TOO_MANY_CONNECTIONS (RFC 4253): the scheduler is busy letting others in."""
MAX_BUSY_DELAY = 600.0
KEX_ALGS = ("curve25519-sha256", "curve25519-sha256@libssh.org")
"""The key exchange both sides offer: curve25519 costs a handshake about a fifth less CPU than
asyncssh's default hybrid mlkem768x25519, on the scheduler's side too, and 10,000 agents
reconnecting after a restart are that many handshakes at once."""

_BUSY = re.compile(r"^busy: come back in (\d{1,4}(?:\.\d)?) s\b")
_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")
_ENDPOINT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_INSTANCE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class WireError(ValueError):
    """A line that breaks the protocol; ``reason`` is a short, bounded label."""

    def __init__(self, reason: str, detail: str, seq: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.seq = seq


@dataclass(frozen=True, slots=True)
class Check:
    """One probe's verdict: ``ok`` is None when the probe itself failed to run."""

    ok: bool | None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Call:
    """Whether the endpoint is in a call, and with whom (the bridge's address or URI) when the
    source can tell; the ground for a live roll call."""

    active: bool
    remote: str = ""


@dataclass(frozen=True, slots=True)
class Report:
    seq: int
    time: datetime
    checks: Mapping[str, Check] = field(default_factory=dict)
    measurements: Mapping[str, float] = field(default_factory=dict)
    interval: float | None = None
    endpoint: str | None = None
    call: Call | None = None


@dataclass(frozen=True, slots=True)
class SelftestResult:
    id: int
    time: datetime
    checks: Mapping[str, Check] = field(default_factory=dict)
    measurements: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hello:
    """Names the agent's current life, so the scheduler never takes a new life's reports for
    resends of an old one's (their seq numbers and clocks overlap)."""

    instance: str


@dataclass(frozen=True, slots=True)
class Ack:
    seq: int


@dataclass(frozen=True, slots=True)
class Reject:
    reason: str
    detail: str = ""
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Command:
    id: int
    name: str
    interval: float | None = None


Message = Hello | Report | SelftestResult | Ack | Reject | Command
JsonObject = dict[str, Any]
"""A decoded JSON object, before its fields are checked."""


# --- encoding ---------------------------------------------------------------------------------


def _time_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def _checks_obj(checks: Mapping[str, Check]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for name, check in checks.items():
        item: dict[str, object] = {"ok": check.ok}
        if check.detail:
            item["detail"] = check.detail[:MAX_DETAIL]
        out[name] = item
    return out


def _to_obj(msg: Message) -> dict[str, object]:
    if isinstance(msg, Report):
        obj: dict[str, object] = {"v": VERSION, "type": "report", "seq": msg.seq}
        obj["time"] = _time_text(msg.time)
        if msg.interval is not None:
            obj["interval"] = msg.interval
        if msg.endpoint is not None:
            obj["endpoint"] = msg.endpoint
        obj["checks"] = _checks_obj(msg.checks)
        obj["measurements"] = dict(msg.measurements)
        if msg.call is not None:
            call: dict[str, object] = {"active": msg.call.active}
            if msg.call.remote:
                call["remote"] = msg.call.remote[:MAX_DETAIL]
            obj["call"] = call
        return obj
    if isinstance(msg, SelftestResult):
        return {
            "v": VERSION,
            "type": "selftest",
            "id": msg.id,
            "time": _time_text(msg.time),
            "checks": _checks_obj(msg.checks),
            "measurements": dict(msg.measurements),
        }
    if isinstance(msg, Hello):
        return {"v": VERSION, "type": "hello", "instance": msg.instance}
    if isinstance(msg, Ack):
        return {"v": VERSION, "type": "ack", "seq": msg.seq}
    if isinstance(msg, Reject):
        obj = {"v": VERSION, "type": "reject", "reason": msg.reason, "detail": msg.detail}
        if msg.seq is not None:
            obj["seq"] = msg.seq
        return obj
    obj = {"v": VERSION, "type": "command", "id": msg.id, "name": msg.name}
    if msg.interval is not None:
        obj["interval"] = msg.interval
    return obj


def encode(msg: Message) -> bytes:
    """One message as one UTF-8 line ending in ``\\n``; refuses to produce an oversized line."""
    line = json.dumps(_to_obj(msg), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    data = line.encode() + b"\n"
    if len(data) > MAX_LINE:
        raise WireError("too_long", f"message of {len(data)} bytes exceeds {MAX_LINE}")
    return data


def encode_ack(seq: int) -> bytes:
    """``encode(Ack(seq))``, byte for byte, without building the message: the scheduler sends
    one per agent per commit, and an agent sending one report at a time gets one per report."""
    if type(seq) is not int or not 0 <= seq <= MAX_SEQ:
        raise WireError("bad_field", f"seq must be an integer from 0 to {MAX_SEQ}")
    return b'{"v":1,"type":"ack","seq":%d}\n' % seq


# --- decoding ---------------------------------------------------------------------------------


def decode(line: bytes | str) -> Message:
    """Parse one line (with or without its newline) into a message, or raise WireError."""
    if len(line) > MAX_LINE:
        raise WireError("too_long", f"line of {len(line)} bytes exceeds {MAX_LINE}")
    try:
        obj = _parse(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError("not_json", f"not a JSON line ({exc.__class__.__name__})") from None
    if not isinstance(obj, dict):
        raise WireError("bad_message", "a message must be a JSON object")
    if type(obj.get("v")) is not int or obj["v"] != VERSION:
        raise WireError("bad_version", f"protocol version {obj.get('v')!r} is not {VERSION}")
    kind = obj.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise WireError("bad_type", f"unknown message type {kind!r}")
    return parser(obj)


_SCAN: Callable[[str, int], tuple[object, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
"""The decoder's C scanner (set in ``JSONDecoder.__init__``; typeshed does not declare it)."""


def _parse(line: bytes | str) -> object:
    """``json.loads(line)``, a third cheaper for the usual line (UTF-8, a value from its first
    character, nothing after it but the newline): the scanner without the wrappers that detect
    encodings and skip whitespace. Anything else goes the long way, so what is accepted and
    refused is exactly what ``json.loads`` accepts and refuses."""
    try:
        text = line.decode() if isinstance(line, bytes) else line
        obj, end = _SCAN(text, 0)
    except (UnicodeDecodeError, StopIteration):
        pass  # not UTF-8, leading whitespace, a BOM, nothing at all: json.loads says what
    else:
        if end == len(text) or text[end:].isspace():
            return obj
    return json.loads(line)


def _int(obj: JsonObject, key: str, limit: int = MAX_SEQ) -> int:
    value = obj.get(key)
    if type(value) is not int or not 0 <= value <= limit:
        raise WireError("bad_field", f"{key} must be an integer from 0 to {limit}")
    return value


def _time(obj: JsonObject, seq: int | None) -> datetime:
    value = obj.get("time")
    try:
        if not isinstance(value, str) or len(value) > 40:
            raise ValueError
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise WireError("bad_field", "time must be an ISO 8601 timestamp", seq) from None
    if parsed.tzinfo is None:
        raise WireError("bad_field", "time must carry a UTC offset", seq)
    parsed = parsed.astimezone(UTC)
    if not _EARLIEST <= parsed < _LATEST:
        raise WireError("bad_field", f"time {value} is out of range", seq)
    return parsed


def _name_ok(name: object) -> bool:
    """Names come from a small vocabulary: check each once, then remember it (bounded)."""
    if name in _GOOD_NAMES:
        return True
    if not isinstance(name, str) or not _NAME.match(name):
        return False
    if len(_GOOD_NAMES) < 4096:
        _GOOD_NAMES.add(name)
    return True


_GOOD_NAMES: set[str] = set()
_PASSED = Check(True)


def _checks(obj: JsonObject, seq: int | None) -> dict[str, Check]:
    raw = obj.get("checks", {})
    if type(raw) is not dict or len(raw) > MAX_CHECKS:
        raise WireError("bad_field", f"checks must be an object of at most {MAX_CHECKS}", seq)
    out: dict[str, Check] = {}
    for name, item in raw.items():
        if type(item) is dict and len(item) == 1 and item.get("ok") is True and name in _GOOD_NAMES:
            out[name] = _PASSED  # the common case: a passed check of a name seen before
            continue
        if type(item) is not dict or not _name_ok(name):
            raise WireError("bad_field", f"bad check {str(name)[:40]!r}", seq)
        ok = item.get("ok")
        detail = item.get("detail", "")
        if ok is True and not detail:
            out[name] = _PASSED  # shared
            continue
        if not (ok is None or type(ok) is bool) or not isinstance(detail, str):
            raise WireError("bad_field", f"check {name!r} needs ok true/false/null", seq)
        if len(detail) > MAX_DETAIL:
            raise WireError("bad_field", f"check {name!r} detail over {MAX_DETAIL} chars", seq)
        out[name] = Check(ok, detail)
    return out


def _measurements(obj: JsonObject, seq: int | None) -> dict[str, float]:
    raw = obj.get("measurements", {})
    if type(raw) is not dict or len(raw) > MAX_MEASUREMENTS:
        raise WireError("bad_field", f"measurements: an object of at most {MAX_MEASUREMENTS}", seq)
    out: dict[str, float] = {}
    for name, value in raw.items():
        kind = type(value)
        if kind is not float and kind is not int:
            raise WireError("bad_field", f"measurement {str(name)[:40]!r} must be a number", seq)
        unit = _UNITS.get(name)
        if unit is None:
            if not _name_ok(name):
                raise WireError("bad_field", f"bad measurement name {str(name)[:40]!r}", seq)
            unit = _unit_of(name)
        if not -MAX_ABS_VALUE <= value <= MAX_ABS_VALUE:  # also false for NaN
            raise WireError("bad_field", f"measurement {name!r} out of range", seq)
        if unit and (value < 0 or (unit is _RATIO and value > 1.0)):
            raise WireError(
                "bad_field", f"measurement {name!r} is {value}: {_unit_rule(name)}", seq
            )
        out[name] = float(value)
    return out


_ANY, _NON_NEGATIVE, _RATIO = 0, 1, 2
_UNITS: dict[str, int] = {}
"""Measurement name → what its unit allows, for names already seen (bounded, like the names)."""


NON_NEGATIVE_UNITS = ("_ms", "_s", "_bytes", "_ratio")
"""Measurements in these units cannot be negative (a negative RTT or loss is a broken probe)."""


def _unit_of(name: str) -> int:
    """What the name's unit allows (worked out once per name, then remembered)."""
    if name.endswith("_ratio"):
        unit = _RATIO
    else:
        unit = _NON_NEGATIVE if name.endswith(NON_NEGATIVE_UNITS) else _ANY
    if len(_UNITS) < 4096:
        _UNITS[name] = unit
    return unit


def _unit_rule(name: str) -> str:
    return "a ratio must be from 0 to 1" if name.endswith("_ratio") else "must not be negative"


def _interval(obj: JsonObject, seq: int | None) -> float | None:
    value = obj.get("interval")
    if value is None:
        return None
    if type(value) not in (int, float) or not MIN_INTERVAL <= value <= MAX_INTERVAL:
        raise WireError("bad_field", f"interval must be {MIN_INTERVAL:g}-{MAX_INTERVAL:g} s", seq)
    return float(value)


def _call(obj: JsonObject, seq: int | None) -> Call | None:
    raw = obj.get("call")
    if raw is None:
        return None
    if type(raw) is not dict or type(raw.get("active")) is not bool:
        raise WireError("bad_field", "call must be an object with active true/false", seq)
    remote = raw.get("remote", "")
    if not isinstance(remote, str) or len(remote) > MAX_DETAIL:
        raise WireError("bad_field", f"call remote must be text of at most {MAX_DETAIL}", seq)
    return Call(raw["active"], remote)


def _report(obj: JsonObject) -> Report:
    seq = _int(obj, "seq")
    endpoint = obj.get("endpoint")
    if endpoint is not None and (not isinstance(endpoint, str) or not _ENDPOINT.match(endpoint)):
        raise WireError("bad_field", "endpoint must be an endpoint id", seq)
    return Report(
        seq=seq,
        time=_time(obj, seq),
        checks=_checks(obj, seq),
        measurements=_measurements(obj, seq),
        interval=_interval(obj, seq),
        endpoint=endpoint,
        call=_call(obj, seq),
    )


def _selftest(obj: JsonObject) -> SelftestResult:
    return SelftestResult(
        id=_int(obj, "id"),
        time=_time(obj, None),
        checks=_checks(obj, None),
        measurements=_measurements(obj, None),
    )


def _hello(obj: JsonObject) -> Hello:
    instance = obj.get("instance")
    if not isinstance(instance, str) or not _INSTANCE.match(instance):
        raise WireError("bad_field", "instance must be 8-64 letters, digits, '-' or '_'")
    return Hello(instance)


def _ack(obj: JsonObject) -> Ack:
    return Ack(_int(obj, "seq"))


def _reject(obj: JsonObject) -> Reject:
    reason, detail, seq = obj.get("reason"), obj.get("detail", ""), obj.get("seq")
    if not isinstance(reason, str) or not isinstance(detail, str) or len(detail) > 1000:
        raise WireError("bad_field", "reject needs a reason and a short detail")
    if seq is not None:
        seq = _int(obj, "seq")
    return Reject(reason[:40], detail, seq)


def _command(obj: JsonObject) -> Command:
    name = obj.get("name")
    if name not in COMMANDS:
        raise WireError("bad_field", f"unknown command {name!r}")
    interval = _interval(obj, None)
    if name == "set_interval" and interval is None:
        raise WireError("bad_field", "set_interval needs an interval")
    return Command(_int(obj, "id"), name, interval)


_PARSERS: dict[str, Callable[[JsonObject], Message]] = {
    "hello": _hello,
    "report": _report,
    "selftest": _selftest,
    "ack": _ack,
    "reject": _reject,
    "command": _command,
}


class LineSplitter:
    """Cuts a byte stream into lines without ever holding more than ``limit`` bytes of one.

    An over-long line is skipped up to its newline and reported once, as a WireError in the
    output, so the caller can count it and carry on with the next line.
    """

    def __init__(self, limit: int = MAX_LINE) -> None:
        self._limit = limit
        self._tail = b""
        self._skipping = False

    def feed(self, data: bytes) -> list[bytes | WireError]:
        parts = (self._tail + data).split(b"\n") if self._tail else data.split(b"\n")
        tail = parts.pop()
        out: list[bytes | WireError] = []
        for part in parts:
            if self._skipping:
                self._skipping = False
                out.append(_too_long(self._limit))
            elif len(part) > self._limit:
                out.append(_too_long(self._limit))
            elif part.strip():
                out.append(part)
        if len(tail) > self._limit:
            self._skipping, tail = True, b""
        self._tail = tail
        return out


def _too_long(limit: int) -> WireError:
    return WireError("too_long", f"line longer than {limit} bytes")


def busy_text(seconds: float) -> str:
    """The scheduler's 'busy' disconnect description: come back in ``seconds`` (0.1 s steps)."""
    return f"busy: come back in {min(max(seconds, 0.0), MAX_BUSY_DELAY):.1f} s"


def busy_delay(text: str) -> float | None:
    """When a 'busy' disconnect said to come back (seconds, at most ``MAX_BUSY_DELAY``);
    None for any other text (asyncssh may append ``(error 12)``)."""
    found = _BUSY.match(text)
    return min(float(found.group(1)), MAX_BUSY_DELAY) if found else None

"""The fleet's health as the API serves it at 10,000 rooms: one look shared by every request
for a moment, and which rooms changed since a client's last look.

A look (every room's view, as ``GET /api/v1/health`` shows it) costs tens of milliseconds on
the event loop at 10,000 rooms. The console polls every second and scripts poll too, so a look
is reused until a report arrives, something else visible changes (``ServerContext.revision``)
or :data:`FRESH_FOR` passes (a room turns offline by the clock alone, with no event to tell).

Each look is compared with the last: the rooms whose view differs get the look's change number.
A client's ``since`` token is ``RUN.NUMBER``; the rooms changed after NUMBER are its answer.
``RUN`` names this server's life: a token from before a restart cannot be answered (the
numbers start again), and is refused so that the client reads everything once more.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from confsched.errors import InvalidInput

FRESH_FOR = 1.0
"""Seconds a look is reused when nothing was reported meanwhile: the console shows a change
within 2 s, and only the clock (3 silent intervals) turns a room offline without an event."""

View = dict[str, Any]


class SinceExpired(InvalidInput):
    """A ``since`` token from an earlier life of the server: read the whole health again."""


@dataclass(frozen=True, slots=True)
class Look:
    """Every room's view (fleet order), the counters, and the change number they carry."""

    views: Mapping[str, View]
    counters: Mapping[str, Any]
    change: int
    key: tuple[int, int]
    taken: float


class HealthChanges:
    """The latest look, and for every room the change number at which its view last changed."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.run = secrets.token_hex(4)
        self._clock = clock
        self._change = 0
        self._changed: dict[str, int] = {}
        self._look: Look | None = None

    def current(self, key: tuple[int, int]) -> Look | None:
        """The last look, while ``key`` (the board's version, the context's revision) is the
        same and it is younger than FRESH_FOR; else None (take a new one)."""
        look = self._look
        if look is None or look.key != key or self._clock() - look.taken > FRESH_FOR:
            return None
        return look

    def take(
        self, views: Mapping[str, View], counters: Mapping[str, Any], key: tuple[int, int]
    ) -> Look:
        """Record a new look; rooms whose view changed get a new change number."""
        previous = self._look
        old: Mapping[str, View] = previous.views if previous is not None else {}
        changed = [e for e, view in views.items() if old.get(e) != view]
        counters_moved = previous is None or previous.counters != counters
        if changed or counters_moved or len(old) != len(views):
            self._change += 1
        for endpoint in changed:
            self._changed[endpoint] = self._change
        self._look = Look(views, counters, self._change, key, self._clock())
        return self._look

    def token(self, look: Look) -> str:
        return f"{self.run}.{look.change}"

    def changed_after(self, token: str) -> set[str]:
        """The rooms changed after the look ``token`` came from."""
        run, _, number = token.partition(".")
        if not (number.isascii() and number.isdigit()) or len(run) != len(self.run):
            raise InvalidInput(f"since {token!r} is not a token this API gave (read 'since')")
        if run != self.run or int(number) > self._change:
            raise SinceExpired(
                f"since {token!r} is from before the scheduler restarted: read the whole "
                "health again (without since) and use its new token"
            )
        after = int(number)
        return {e for e, change in self._changed.items() if change > after}

    def etag(self, look: Look, query: str, version: int) -> str:
        """The same look, board version and question give the same body (bar ``now``)."""
        digest = hashlib.blake2b(query.encode(), digest_size=6).hexdigest()
        return f'"{self.run}.{look.change}.{version}.{digest}"'


def encode_cursor(endpoint: str) -> str:
    """An opaque cursor: the last room of the page, url-safe."""
    return base64.urlsafe_b64encode(endpoint.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, known: Mapping[str, int]) -> int:
    """The position after the room ``cursor`` names, in ``known`` (room -> position)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        endpoint = base64.urlsafe_b64decode(padded.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        hint = "is not one this API gave (use next_cursor)"
        raise InvalidInput(f"cursor {cursor!r} {hint}") from None
    if endpoint not in known:
        raise InvalidInput(
            f"cursor {cursor!r} names a room no longer in the fleet: start again without cursor"
        )
    return known[endpoint] + 1

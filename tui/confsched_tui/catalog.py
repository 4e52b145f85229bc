"""The inventory the console keeps in memory: the fleet summary and every endpoint.

Read once at start and again when the scheduler mentions an endpoint we do not know (an
inventory import) or after ``max_age`` seconds; every screen shares it through the app.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from confsched_tui.api import ApiClient
from confsched_tui.fleetview import DEFAULT_LEVELS

DEFAULT_TZ = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True, slots=True)
class Examples:
    """Real ids of the loaded fleet, so hints show what this operator can type."""

    site: str
    level: str
    tag: str
    agency: str
    endpoint: str

    def selectors(self, most: int = 3) -> str:
        """``under:h-dai-tu, level:commune, tag:vung-cao`` (no tag: left out), the first
        ``most`` of them (a narrow hint)."""
        words = [f"under:{self.site}", f"level:{self.level}"]
        return ", ".join((words + ([f"tag:{self.tag}"] if self.tag else []))[:most])


@dataclass
class Catalog:
    fleet: dict[str, Any] = field(default_factory=dict)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    loaded_at: float = 0.0

    @property
    def tz(self) -> ZoneInfo:
        try:
            return ZoneInfo(str(self.fleet.get("timezone") or DEFAULT_TZ))
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(DEFAULT_TZ)

    @property
    def name(self) -> str:
        return str(self.fleet.get("name") or "")

    def levels(self) -> list[str]:
        """The fleet's level names, top-down (the seed's three when the scheduler is older)."""
        return [str(n) for n in self.fleet.get("levels") or DEFAULT_LEVELS]

    def areas(self) -> list[tuple[str, str]]:
        """(id, level) of every area (the groups of the site tree: districts, clusters)."""
        return [(str(a["id"]), str(a.get("level") or "")) for a in self.fleet.get("areas") or []]

    def agencies(self) -> dict[str, str]:
        return {str(a["id"]): str(a["name"]) for a in self.fleet.get("agencies") or []}

    def tags(self) -> list[str]:
        return sorted({t for e in self.endpoints for t in e.get("tags") or []})

    def examples(self) -> Examples:
        """Ids of this fleet for the hints: an area (or, with none, the top site), the lowest
        level, a tag, the first agency and room."""
        first = self.endpoints[0] if self.endpoints else {}
        areas = self.areas()
        levels = self.levels()
        tags = self.tags()
        return Examples(
            site=areas[0][0] if areas else str(first.get("site") or "SITE"),
            level=levels[-1] if levels else "LEVEL",
            tag=tags[0] if tags else "",
            agency=next(iter(self.agencies()), str(first.get("agency") or "AGENCY")),
            endpoint=str(first.get("id") or "ROOM"),
        )

    def knows(self, ids: Iterable[str]) -> bool:
        return all(i in self.by_id for i in ids)


class CatalogCache:
    """One shared catalog, fetched by whichever screen needs it first."""

    def __init__(self, api: ApiClient, max_age: float = 300.0) -> None:
        self.api = api
        self.max_age = max_age
        self.current = Catalog()
        self._lock = asyncio.Lock()

    async def get(self, must_know: Iterable[str] = ()) -> Catalog:
        async with self._lock:
            age = time.monotonic() - self.current.loaded_at
            stale = age > self.max_age or (age > 5 and not self.current.knows(must_know))
            if not self.current.loaded_at or stale:
                fleet, endpoints = await asyncio.gather(self.api.fleet(), self.api.endpoints())
                by_id = {str(e["id"]): e for e in endpoints}
                self.current = Catalog(fleet, endpoints, by_id, time.monotonic())
            return self.current

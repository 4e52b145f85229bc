"""What a screen may ask of the console it runs in.

Screens are built by the app, so they cannot import it without a cycle; they see it through this
protocol instead, which also keeps their reach into the app to a short, named list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from confsched_tui.api import ApiClient
from confsched_tui.catalog import CatalogCache


class Console(Protocol):
    api: ApiClient
    catalog: CatalogCache
    revision: int
    connected: bool

    @property
    def tz(self) -> ZoneInfo: ...

    def now(self) -> datetime: ...

    def next_hour(self) -> datetime: ...

    def window_start(self) -> str: ...

    def loaded(self, view: str, count: int) -> None: ...

    @property
    def read_only(self) -> bool: ...

    def refuse_write(self) -> bool: ...

    async def prefetched_health(self) -> Any: ...

    async def wait_first_revision(self) -> None: ...

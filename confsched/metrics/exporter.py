"""One /metrics scrape: negotiate the format, render, keep what the next scrape can reuse.

The fleet-level families (a few dozen series) are rendered by prometheus-client itself at every
scrape; the per-endpoint families come from :class:`~confsched.metrics.render.EndpointRenderer`
with their HELP/TYPE headers taken from prometheus-client once per format. So the body is
exactly what ``generate_latest`` (or its OpenMetrics twin) makes of
:func:`~confsched.metrics.families.build_families`, at a fraction of the cost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta

from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder

from confsched.domain.model import Fleet, WorkingHours
from confsched.metrics import families as fam
from confsched.metrics.families import FamiliesCollector, ScrapeInput, ScrapeStats
from confsched.metrics.render import EndpointRenderer, Pacer

EOF = b"# EOF\n"
Encoder = Callable[[FamiliesCollector], bytes]


@dataclass(frozen=True, slots=True)
class Rendered:
    """The exposition in pieces: joining 15 MB on the event loop costs more than sending the
    pieces one after the other (or feeding them to a compressor on another thread)."""

    parts: list[bytes]
    content_type: str

    @property
    def size(self) -> int:
        return sum(len(p) for p in self.parts)

    @property
    def body(self) -> bytes:
        return b"".join(self.parts)


def sample_name(family: Metric) -> str:
    """The name its samples carry (what ``name[]`` filters on)."""
    suffix = {"counter": "_total", "info": "_info"}.get(family.type, "")
    return family.name + suffix


_ENDPOINT_SAMPLE_NAMES = tuple(
    sample_name(f) for f in (*fam.new_endpoint_families(), *fam.new_booking_families())
)


SLICE_SECONDS = 0.002
"""Work between two yields to the event loop. A coroutine woken by a timer or a future needs
two loop turns, so it may wait two or three slices: 2 ms keeps that under 10 ms."""


class MetricsExporter:
    """Serves scrapes of one scheduler's state, read through ``read`` at each scrape."""

    def __init__(
        self, read: Callable[[], ScrapeInput], slice_seconds: float = SLICE_SECONDS
    ) -> None:
        self._read = read
        self._slice = slice_seconds
        self._renderer = EndpointRenderer(slice_seconds)
        self._lock = asyncio.Lock()
        self._headers: dict[str, list[bytes]] = {}
        self.stats = ScrapeStats()

    async def render(self, accept: str = "", names: Collection[str] | None = None) -> Rendered:
        """The exposition the ``Accept`` header asks for (text unless OpenMetrics is asked)."""
        encoder, content_type = choose_encoder(accept)
        async with self._lock:  # one render at a time: they share the renderer's cache
            started = time.perf_counter()
            pacer = Pacer(self._slice)
            inp = replace(self._read(), stats=self.stats)
            r = self._renderer
            health = await r.render(
                inp.fleet,
                inp.health,
                inp.now_dt,
                inp.interval,
                inp.limits,
                pacer,
                inp.restart,
            )
            bodies = [*health, *await r.render_booking(inp.booking, pacer)]
            parts = self._assemble(encoder, content_type, inp, bodies, names)
            self.stats = ScrapeStats(
                scrapes=self.stats.scrapes + 1,
                duration_seconds=time.perf_counter() - started,
                longest_hold_seconds=pacer.close(),
                rerendered_endpoints=r.rerendered,
            )
        return Rendered(parts, content_type)

    def _assemble(
        self,
        encoder: Encoder,
        content_type: str,
        inp: ScrapeInput,
        bodies: list[list[bytes]],
        names: Collection[str] | None,
    ) -> list[bytes]:
        head = _encode(encoder, fam.head_families(inp), names)
        tail = _encode(encoder, fam.tail_families(inp), names)
        openmetrics = head.endswith(EOF)
        parts = [head[: -len(EOF)] if openmetrics else head]
        headers = self._headers_for(encoder, content_type)
        for sample, header, body in zip(_ENDPOINT_SAMPLE_NAMES, headers, bodies, strict=True):
            if names is None or (sample in names and any(body)):
                parts.append(header)
                parts.extend(body)
        parts.append(tail)
        return parts

    def _headers_for(self, encoder: Encoder, content_type: str) -> list[bytes]:
        """HELP/TYPE(/UNIT) lines of each per-endpoint family, as the client writes them."""
        headers = self._headers.get(content_type)
        if headers is None:
            empty = [*fam.new_endpoint_families(), *fam.new_booking_families()]
            headers = [encoder(FamiliesCollector([f])).removesuffix(EOF) for f in empty]
            self._headers[content_type] = headers
        return headers


def _encode(encoder: Encoder, families: list[Metric], names: Collection[str] | None) -> bytes:
    if names is not None:
        families = [f for f in families if f.samples and sample_name(f) in names]
    return encoder(FamiliesCollector(families))


class ConfschedCollector:
    """The same metrics as a plain prometheus-client collector (slow at scale; for registries
    and as the reference the fast path is measured and tested against)."""

    def __init__(self, read: Callable[[], ScrapeInput]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        return iter(fam.build_families(self._read()))

    def describe(self) -> Iterator[Metric]:
        """Every family, without samples (names only: no I/O)."""
        return iter(fam.build_families(ScrapeInput(now=0.0, fleet=EMPTY_FLEET)))


EMPTY_FLEET = Fleet("", "UTC", WorkingHours(), timedelta(seconds=10), {}, {}, {}, {})

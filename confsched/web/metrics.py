"""``GET /metrics``: the Prometheus exposition of the running scheduler.

Format negotiation is prometheus-client's own (``choose_encoder``): the text format 0.0.4 when
no ``Accept`` header asks otherwise, OpenMetrics 1.0.0 when the scraper asks for it (Prometheus
2.x and 3.x do). ``?name[]=...`` keeps only the named families. Gzip when the scraper accepts it
(Prometheus always does): compressed at level 1 on a thread of its own — zlib lets go of the GIL,
so the event loop keeps serving SSH reports and API calls while a 15 MB body is compressed.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor

from aiohttp import hdrs, web

from confsched.metrics.exporter import MetricsExporter

GZIP_LEVEL = 1
GZIP_MIN_BYTES = 1024
WRITE_CHUNK = 256 * 1024
EXPORTER = web.AppKey("metrics_exporter", MetricsExporter)
GZIP_POOL = web.AppKey("metrics_gzip_pool", ThreadPoolExecutor)


def gzip_accepted(header: str) -> bool:
    """``Accept-Encoding`` names gzip (or ``*``) without ``q=0``."""
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=").strip() if "q=" in params else "1"
            try:
                if float(q) > 0:
                    return True
            except ValueError:
                continue
    return False


async def metrics(request: web.Request) -> web.StreamResponse:
    exporter = request.app[EXPORTER]
    names = request.query.getall("name[]", None)
    accept = ",".join(request.headers.getall(hdrs.ACCEPT, []))
    rendered = await exporter.render(accept, set(names) if names is not None else None)
    headers: dict[str, str] = {
        hdrs.CONTENT_TYPE: rendered.content_type,
        hdrs.VARY: "Accept, Accept-Encoding",
        hdrs.CACHE_CONTROL: "no-store",
    }
    size = rendered.size
    if size >= GZIP_MIN_BYTES and gzip_accepted(request.headers.get(hdrs.ACCEPT_ENCODING, "")):
        loop = asyncio.get_running_loop()
        body = await loop.run_in_executor(request.app[GZIP_POOL], _gzip, rendered.parts)
        headers[hdrs.CONTENT_ENCODING] = "gzip"
        return web.Response(body=body, headers=headers)
    if size <= WRITE_CHUNK or request.method == hdrs.METH_HEAD:
        return web.Response(body=rendered.body, headers=headers)
    return await _stream(request, rendered.parts, size, headers)


async def _stream(
    request: web.Request, parts: list[bytes], size: int, headers: Mapping[str, str]
) -> web.StreamResponse:
    """Send the pieces a chunk at a time: each write waits while the socket is full, so a
    15 MB body never sits whole in the transport's buffer; and a reader fast enough to never
    fill it still lets the loop run between chunks."""
    response = web.StreamResponse(headers=headers)
    response.content_length = size
    await response.prepare(request)
    for part in parts:
        view = memoryview(part)
        for offset in range(0, len(view), WRITE_CHUNK):
            await response.write(view[offset : offset + WRITE_CHUNK])
            await asyncio.sleep(0)
    await response.write_eof()
    return response


def _gzip(parts: list[bytes]) -> bytes:
    packer = zlib.compressobj(GZIP_LEVEL, wbits=31)  # wbits 31: a gzip member, mtime 0
    out = [packer.compress(part) for part in parts]
    out.append(packer.flush())
    return b"".join(out)


def setup(app: web.Application, exporter: MetricsExporter) -> None:
    """Serve ``exporter`` at ``/metrics``."""
    app[EXPORTER] = exporter
    app[GZIP_POOL] = ThreadPoolExecutor(1, thread_name_prefix="metrics-gzip")
    app.cleanup_ctx.append(_close_gzip_pool)
    app.router.add_get("/metrics", metrics)


async def _close_gzip_pool(app: web.Application) -> AsyncIterator[None]:
    yield
    app[GZIP_POOL].shutdown(wait=True)

"""/metrics benchmark: scrape time at 192, 1,000 and 10,000 endpoints, and the event-loop stall.

python bench/metrics.py [--sizes 192,1000,10000] [--repeat 7] [--peers DIR | --no-peer]

For each fleet size (synthetic, shaped like the province; every endpoint reporting, a few with
faults, a 192-room session in setup):

* client   prometheus-client's own ``generate_latest`` over the same families (what a plain
           custom collector costs), median, measured here in the same run;
* cold     our first scrape (every series rendered);
* churn    our scrape after *every* endpoint sent a new report (10 s reports, 15 s scrapes:
           the realistic worst case, the per-endpoint cache only saves labels and states);
* idle     our scrape when nothing changed;
* http     GET /metrics from a real aiohttp server by curl (another process), identity and gzip,
           every endpoint reporting in between; meanwhile a ticker coroutine on the server's
           loop wakes every millisecond and records how late it was: the longest stall a
           scrape caused (target: under 50 ms).

Then the peer: ``peer-promclient.py --endpoints 10000`` (prometheus-client's generate_latest of a
plain registry with 12 series per endpoint), found in ``--peers DIR`` or else in the first
``shared/peers/`` beside the checkout or one of its parents, run in the peers' venv
(``$PEERS_VENV``, default /tmp/peers-venv, as ``install-peers.sh`` makes it) when there is one.
Targets at 10,000 endpoints: churn scrape at most a fifth of the client's figure; stall < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import _repo  # tests.fakes below
from aiohttp import web
from prometheus_client import generate_latest

from confsched.metrics.exporter import MetricsExporter
from confsched.metrics.families import FamiliesCollector, ScrapeInput, build_families
from confsched.web import metrics as web_metrics
from tests.fakes.metrics_synthetic import (
    fill_board,
    fixed_now,
    report_all,
    synthetic_booking,
    synthetic_fleet,
)

PEER = "peer-promclient.py"
TICK = 0.001


class Scene:
    def __init__(self, n: int) -> None:
        self.rnd = random.Random(n)
        self.fleet = synthetic_fleet(n)
        self.now = fixed_now()
        self.board = fill_board(self.fleet, self.now, self.rnd)
        self.booking = synthetic_booking(self.fleet, self.now, self.rnd)

    def read(self) -> ScrapeInput:
        return ScrapeInput(
            now=self.now.timestamp() + 5,
            fleet=self.fleet,
            health=self.board.entries(),
            counters=self.board.counters(),
            booking=self.booking,
            refusals={"endpoint_conflict": 3},
            version="bench",
        )

    def churn(self) -> None:
        report_all(self.board, self.fleet, self.now, self.rnd)


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def time_client(scene: Scene, repeat: int) -> tuple[float, int, int]:
    """prometheus-client generate_latest over build_families of the same input."""
    times, body = [], b""
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        body = generate_latest(FamiliesCollector(build_families(scene.read())))
        times.append(time.perf_counter() - started)
    series = sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))
    return median_ms(times), series, len(body)


async def time_ours(scene: Scene, repeat: int) -> dict[str, float]:
    exporter = MetricsExporter(scene.read)
    stats = exporter.stats
    started = time.perf_counter()
    body = (await exporter.render()).body
    cold = time.perf_counter() - started
    reference = generate_latest(
        FamiliesCollector(build_families(replace(scene.read(), stats=stats)))
    ) if len(scene.fleet.endpoints) <= 1000 else None  # fmt: skip
    churn, idle, holds = [], [], []
    for _ in range(repeat):
        scene.churn()
        gc.collect()
        started = time.perf_counter()
        await exporter.render()
        churn.append(time.perf_counter() - started)
        holds.append(exporter.stats.longest_hold_seconds)
        started = time.perf_counter()
        await exporter.render()
        idle.append(time.perf_counter() - started)
    if reference is not None:
        assert body == reference, "fast path differs from prometheus-client"
    return {
        "cold": cold * 1000,
        "churn": median_ms(churn),
        "idle": median_ms(idle),
        "hold": max(holds) * 1000,
        "bytes": len(body),
    }


class Ticker:
    """Wakes every TICK on the loop. Since ``reset``: ``worst`` is the longest lateness (wall
    time: includes any time the OS gave the CPU to other processes), ``worst_cpu`` the most CPU
    the loop's thread burnt between two wakes (the hold itself, immune to that noise)."""

    def __init__(self) -> None:
        self.worst = self.worst_cpu = 0.0

    def reset(self) -> None:
        self.worst = self.worst_cpu = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, cpu = loop.time() + TICK, time.thread_time()
            await asyncio.sleep(TICK)
            self.worst = max(self.worst, loop.time() - due)
            self.worst_cpu = max(self.worst_cpu, time.thread_time() - cpu)


async def curl(url: str, gzip: bool) -> tuple[float, int]:
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{time_total} %{size_download}", url]
    if gzip:
        args[1:1] = ["-H", "Accept-Encoding: gzip"]
    proc = await asyncio.create_subprocess_exec(*args, stdout=subprocess.PIPE)
    out, _ = await proc.communicate()
    seconds, size = out.decode().split()
    return float(seconds), int(size)


async def time_http(scene: Scene, repeat: int) -> dict[str, float]:
    app = web.Application()
    app[web_metrics.EXPORTER] = MetricsExporter(scene.read)
    app[web_metrics.GZIP_POOL] = ThreadPoolExecutor(1)
    app.router.add_get("/metrics", web_metrics.metrics)
    app.router.add_get("/ping", lambda _: asyncio.sleep(0, web.Response(text="pong")))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/metrics"
    ticker = Ticker()
    task = asyncio.create_task(ticker.run())
    results: dict[str, float] = {}
    try:
        await curl(url, False)  # cold render, not timed
        await asyncio.sleep(0.2)
        ticker.reset()
        await asyncio.sleep(0.5)
        results["stall_idle"] = ticker.worst * 1000  # the noise floor, no scrape
        results["hold_idle"] = ticker.worst_cpu * 1000
        ticker.reset()
        for _ in range(repeat):  # the floor of a GET: spawning curl, aiohttp's own work
            await curl(url.replace("/metrics", "/ping"), False)
        results["stall_ping"], results["hold_ping"] = ticker.worst * 1000, ticker.worst_cpu * 1000
        for gzip in (False, True):
            times, stalls, holds, size = [], [], [], 0
            for _ in range(repeat):
                scene.churn()
                gc.collect()  # the reports' garbage is theirs: collect it outside the window
                await asyncio.sleep(0.05)
                ticker.reset()
                seconds, size = await curl(url, gzip)
                times.append(seconds)
                stalls.append(ticker.worst)
                holds.append(ticker.worst_cpu)
            key = "gzip" if gzip else "identity"
            results[key] = median_ms(times)
            results[key + "_stall"] = max(stalls) * 1000
            results[key + "_hold"] = max(holds) * 1000
            results[key + "_bytes"] = size
    finally:
        task.cancel()
        await runner.cleanup()
        app[web_metrics.GZIP_POOL].shutdown()
    return results


def run_peer(peer: Path | None, n: int) -> str:
    if peer is None:
        return f"{PEER} not found (give --peers DIR)"
    python = Path(os.environ.get("PEERS_VENV", "/tmp/peers-venv")) / "bin" / "python"
    cmd = [str(python) if python.exists() else sys.executable, str(peer), "--endpoints", str(n)]
    done = subprocess.run([*cmd, "--repeats", "5"], capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return lines[-1] if lines else done.stderr.strip()[-300:]


def measure(n: int, repeat: int, show: Callable[[str], None]) -> dict[str, float]:
    scene = Scene(n)
    client, series, size = time_client(scene, 3 if n >= 5000 else repeat)
    started = time.perf_counter()
    gc.collect()
    full_gc = (time.perf_counter() - started) * 1000
    ours = asyncio.run(time_ours(scene, repeat))
    http = asyncio.run(time_http(scene, repeat))
    hold = max(http["identity_hold"], http["gzip_hold"])
    stall = max(http["identity_stall"], http["gzip_stall"])
    show(
        f"{n:>6} endpoints, {series} series, {size / 1e6:.2f} MB:\n"
        f"   prometheus-client generate_latest (same families)  {client:8.1f} ms\n"
        f"   ours: cold {ours['cold']:.1f} ms, after every endpoint reported "
        f"{ours['churn']:.1f} ms ({ours['churn'] / client:.1%} of the client), "
        f"idle {ours['idle']:.1f} ms; longest loop hold {ours['hold']:.1f} ms\n"
        f"   HTTP GET by curl: identity {http['identity']:.1f} ms "
        f"({http['identity_bytes'] / 1e6:.2f} MB), gzip {http['gzip']:.1f} ms "
        f"({http['gzip_bytes'] / 1e6:.2f} MB)\n"
        f"   event loop during scrapes: longest hold {hold:.1f} ms of CPU "
        f"(identity {http['identity_hold']:.1f}, gzip {http['gzip_hold']:.1f}, "
        f"a GET of a 4-byte page {http['hold_ping']:.1f}); worst wall lateness {stall:.1f} ms "
        f"(identity {http['identity_stall']:.1f}, gzip {http['gzip_stall']:.1f}, 4-byte page "
        f"{http['stall_ping']:.1f}, idle {http['stall_idle']:.1f}: other processes share the "
        "2 cores)\n"
        f"   a full GC of this heap takes {full_gc:.0f} ms (run between scrapes: it collects "
        "the reports' garbage, not the scrape's)"
    )
    return {"client": client, **ours, **{f"http_{k}": v for k, v in http.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="192,1000,10000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-peer", action="store_true", help="skip peer-promclient.py")
    parser.add_argument("--peers", type=Path, default=None, help="folder holding " + PEER)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}, "
        f"{platform.platform()}"
    )
    results = {}
    for n in (int(s) for s in args.sizes.split(",")):
        results[n] = measure(n, args.repeat, lambda text: print(text, flush=True))
    ok = True
    if 10000 in results:
        r = results[10000]
        hold = max(r["http_identity_hold"], r["http_gzip_hold"])
        ratio = r["churn"] / r["client"]
        ok = ratio <= 0.2 and hold < 50
        print(
            f"targets at 10,000: scrape {ratio:.1%} of prometheus-client (<= 20%), "
            f"longest event-loop hold {hold:.1f} ms (< 50 ms): {'met' if ok else 'NOT MET'}"
        )
    peer_ms = None
    if not args.no_peer:
        peer = run_peer(_repo.find_peer(PEER, args.peers), 10000)
        print(f"peer (peer-promclient.py --endpoints 10000): {peer}")
        match = re.search(r"generate_latest ([\d.]+) ms", peer)
        peer_ms = float(match.group(1)) if match else None
        if peer_ms and 10000 in results:
            ratio = results[10000]["churn"] / peer_ms
            print(f"ours after every endpoint reported vs the peer: {ratio:.1%}")
    figures = {str(n): {k: round(v, 2) for k, v in r.items()} for n, r in results.items()}
    _repo.emit("metrics", {"sizes": figures, "peer_10000_ms": peer_ms, "targets_met": ok})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

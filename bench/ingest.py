"""bench/ingest.py — health reports stored per second from N agents over SSH, and the delay from
a report's making to its state being visible on the scheduler's board.

One scheduler (this process: the real ``run_server`` with the agent link, the health service
and the SQLite store) and N agents (real asyncssh connections, each with its own enrolled key)
in ``--procs`` worker processes. Two phases:

  saturate   every agent streams reports back to back (closed loop, up to --window unacked,
             sent in writes of up to --batch lines, as an agent replaying its spool does):
             reports durably stored per second, and the delay percentiles under that load
  steady     every agent sends one report every --interval seconds (open loop, jittered):
             the report-to-visible delay a live fleet sees

Then, in the same run, the peer: Prometheus Pushgateway taking the same reports over HTTP in
its fastest mode (``peer-pushgateway.py --agents N --no-consistency-check``), found in
``--peers DIR`` or else in the first ``shared/peers/`` beside the checkout or one of its parents
(``../shared/peers/``).

The store is opened as the scheduler opens it (WAL, ``synchronous=FULL``: every commit that
acknowledges reports is on disk before the ack), so the figure includes the fsync per commit.

    .venv/bin/python bench/ingest.py [--agents 1000] [--seconds 10] [--procs 2]
                                     [--peers DIR | --no-peer]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import _repo

PEER = "peer-pushgateway.py"


# --- worker side (agents) ---------------------------------------------------------------------

_TEMPLATE = (
    '{"v":1,"type":"report","seq":%d,"time":"%s","interval":10,"checks":{"camera":{"ok":true},'
    '"audio":{"ok":true},"display":{"ok":true},"client":{"ok":true},"bridge":{"ok":true},'
    '"host":{"ok":true}},"measurements":{"rtt_ms":%.2f,"jitter_ms":1.2,"loss_ratio":0.0,'
    '"cpu_ratio":0.12,"memory_used_ratio":0.41,"disk_free_ratio":0.4,"cameras":1}}\n'
)


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class EndlessSpool:
    """A spool that always has the next report ready (closed loop: limited only by acks)."""

    go = False
    """Set once every agent of the worker is connected, so logins are not starved."""

    def __init__(self) -> None:
        self.acked = 0
        self.instance = os.urandom(16).hex()  # the life the hello names

    def pending(self, after: int, limit: int):
        if not EndlessSpool.go:
            return
        stamp = _now_text()
        for seq in range(after + 1, after + 1 + limit):
            yield seq, (_TEMPLATE % (seq, stamp, 10 + seq % 7)).encode()

    def acknowledge(self, seq: int) -> int:
        self.acked = max(self.acked, seq)
        return 0

    def discard(self, seq: int) -> None:
        pass


class TickSpool:
    """One report per tick (open loop), kept until acknowledged."""

    def __init__(self) -> None:
        self.items: list[tuple[int, bytes]] = []
        self.seq = 0
        self.instance = os.urandom(16).hex()

    def add(self) -> None:
        self.seq += 1
        self.items.append((self.seq, (_TEMPLATE % (self.seq, _now_text(), 12.5)).encode()))

    def pending(self, after: int, limit: int):
        return [item for item in self.items if item[0] > after][:limit]

    def acknowledge(self, seq: int) -> int:
        before = len(self.items)
        self.items = [item for item in self.items if item[0] > seq]
        return before - len(self.items)

    def discard(self, seq: int) -> None:
        self.items = [item for item in self.items if item[0] != seq]


async def _no_command(command):
    return None


async def worker(args: argparse.Namespace) -> None:
    import asyncssh
    from confsched_agent.link import Link

    endpoints = args.endpoints.split(",")
    keys_dir = Path(args.data) / "agent-keys"
    keys = {e: asyncssh.read_private_key(keys_dir / f"{e}.key") for e in endpoints}
    address = ("127.0.0.1", args.port)
    links, tasks, spools = [], [], []
    for i, endpoint in enumerate(endpoints):
        spool = EndlessSpool() if args.mode == "saturate" else TickSpool()
        link = Link(
            endpoint,
            address,
            keys[endpoint],
            args.host_key,
            spool,
            _no_command,
            window=args.window,
            batch=args.batch,
            rng=random.Random(i),
            backoff_first=1.0,
        )
        links.append(link)
        spools.append(spool)
        tasks.append(asyncio.create_task(link.run()))
        if i % 20 == 19:
            await asyncio.sleep(0.1)  # pace the logins as agents starting over a minute would
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while not all(link.connected.is_set() for link in links) and loop.time() < deadline:
        await asyncio.sleep(0.1)
    EndlessSpool.go = True
    for link in links:
        link.wake()
    if args.mode == "steady":

        async def ticker(link: Link, spool: TickSpool, offset: float) -> None:
            await link.connected.wait()
            await asyncio.sleep(offset)
            next_at = loop.time()
            while True:
                spool.add()
                link.wake()
                next_at += args.interval
                await asyncio.sleep(max(0.0, next_at - loop.time()))

        rng = random.Random(7)
        for link, spool in zip(links, spools, strict=True):
            tasks.append(asyncio.create_task(ticker(link, spool, rng.uniform(0, args.interval))))
    await asyncio.sleep(args.lifetime)
    for link in links:
        link.stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# --- scheduler side ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(agents: int) -> tuple[Path, list[str], str]:
    from confsched.agentlink.keys import ensure_host_key, public_text
    from confsched.services.inventory import import_fleet
    from confsched.simulate import enroll_simulated, synthetic_fleet
    from confsched.store.db import open_db

    data = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    db = open_db(data)
    import_fleet(db, synthetic_fleet(data / "fleet.yaml", agents))
    endpoints = [row[0] for row in db.execute("SELECT id FROM endpoints ORDER BY position")]
    db.close()
    enroll_simulated(data, endpoints)
    return data, endpoints, public_text(ensure_host_key(data))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")


async def phase(args: argparse.Namespace, mode: str) -> dict[str, float]:
    from confsched.config import Settings
    from confsched.runtime.root import run_server

    data, endpoints, host_key = args.prepared
    port = free_port()
    settings = Settings(data_dir=data, http_port=0, ssh_port=port)
    ready: asyncio.Future = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(run_server(settings, ready=ready.set_result))
    ctx = await ready
    board, service = ctx.board, ctx.health_service
    delays: list[float] = []
    recording = False

    def observe(delay: float) -> None:
        if recording:
            delays.append(delay)

    service.observe_delay = observe
    lifetime = args.warmup_timeout + args.seconds + 30
    workers = []
    for p in range(args.procs):
        mine = endpoints[p :: args.procs]
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            "--mode",
            mode,
            "--port",
            str(port),
            "--data",
            str(data),
            "--host-key",
            host_key,
            "--endpoints",
            ",".join(mine),
            "--window",
            str(args.window),
            "--batch",
            str(args.batch),
            "--interval",
            str(args.interval),
            "--lifetime",
            str(lifetime),
        ]
        workers.append(subprocess.Popen(cmd))
    t0 = time.perf_counter()
    links = ctx.agentlink
    while links.connected < len(endpoints) and time.perf_counter() - t0 < args.warmup_timeout:
        await asyncio.sleep(0.1)
    connected, connect_s = links.connected, time.perf_counter() - t0
    await asyncio.sleep(2.0 if mode == "saturate" else args.interval + 1)  # reach steady state
    recording = True
    n0, b0, c0, w0 = board.reports_accepted, service.batches, cpu_seconds(), time.perf_counter()
    k0 = sum(proc_cpu(w.pid) for w in workers)
    await asyncio.sleep(args.seconds)
    n1, b1, c1, w1 = board.reports_accepted, service.batches, cpu_seconds(), time.perf_counter()
    k1 = sum(proc_cpu(w.pid) for w in workers)
    recording = False
    for w in workers:
        w.terminate()
    for w in workers:
        w.wait(timeout=30)
    server.cancel()
    await asyncio.gather(server, return_exceptions=True)
    stored = n1 - n0
    return {
        "mode": mode,
        "connected": connected,
        "connect_s": connect_s,
        "reports_per_s": stored / (w1 - w0),
        "p50_ms": pct(delays, 0.5),
        "p99_ms": pct(delays, 0.99),
        "batch_mean": stored / max(1, b1 - b0),
        "scheduler_cpu": (c1 - c0) / (w1 - w0),
        "agents_cpu": (k1 - k0) / (w1 - w0),
    }


def proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        parts = handle.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def run_peer(peer: Path | None, agents: int, seconds: float) -> tuple[float | None, str]:
    if peer is None:
        return None, f"{PEER} not found (give --peers DIR)"
    cmd = [
        sys.executable,
        str(peer),
        "--agents",
        str(agents),
        "--seconds",
        str(seconds),
        "--no-consistency-check",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    last = lines[-1] if lines else done.stderr[-300:]
    match = re.search(r"pushgateway: (\d+) reports/s", last)
    return (float(match.group(1)) if match else None), last


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--procs", type=int, default=2, help="agent worker processes")
    ap.add_argument("--window", type=int, default=64, help="unacked reports per agent")
    ap.add_argument("--batch", type=int, default=32, help="lines per write")
    ap.add_argument("--interval", type=float, default=2.0, help="steady phase: s between reports")
    ap.add_argument("--runs", type=int, default=1, help="saturate runs (median reported)")
    ap.add_argument("--warmup-timeout", type=float, default=120.0)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--peers", type=Path, default=None, help="folder holding peer-pushgateway.py")
    # worker mode (internal)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="saturate", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--host-key", help=argparse.SUPPRESS)
    ap.add_argument("--endpoints", help=argparse.SUPPRESS)
    ap.add_argument("--lifetime", type=float, default=120.0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        import logging

        logging.basicConfig(level=logging.ERROR)
        asyncio.run(worker(args))
        return 0

    import logging

    logging.basicConfig(level=logging.ERROR)
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cpus, Python {platform.python_version()}"
    )
    print(
        f"agents={args.agents} procs={args.procs} window={args.window} batch={args.batch} "
        f"window={args.seconds:g}s"
    )
    args.prepared = prepare(args.agents)
    runs = []
    for _ in range(args.runs):
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            with cProfile.Profile() as prof:
                runs.append(asyncio.run(phase(args, "saturate")))
            pstats.Stats(prof).sort_stats("tottime").print_stats(35)
        else:
            runs.append(asyncio.run(phase(args, "saturate")))
        r = runs[-1]
        print(
            f"saturate: {r['connected']}/{args.agents} agents connected in {r['connect_s']:.1f}s;"
            f" {r['reports_per_s']:.0f} reports/s stored; delay p50 {r['p50_ms']:.0f} ms p99 "
            f"{r['p99_ms']:.0f} ms; {r['batch_mean']:.0f} reports/commit; scheduler CPU "
            f"{100 * r['scheduler_cpu']:.0f}% of a core, agents {100 * r['agents_cpu']:.0f}%"
        )
    steady = asyncio.run(phase(replace_args(args), "steady"))
    print(
        f"steady: {args.agents} agents x 1 report/{args.interval:g}s = "
        f"{steady['reports_per_s']:.0f} reports/s; report-to-visible delay p50 "
        f"{steady['p50_ms']:.1f} ms p99 {steady['p99_ms']:.1f} ms; scheduler CPU "
        f"{100 * steady['scheduler_cpu']:.0f}% of a core, agents {100 * steady['agents_cpu']:.0f}%"
    )
    rate = statistics.median(r["reports_per_s"] for r in runs)
    peer, peer_line = (
        (None, "skipped")
        if args.no_peer
        else run_peer(_repo.find_peer(PEER, args.peers), args.agents, args.seconds)
    )
    print(f"peer: {peer_line}")
    verdict = f"confsched ingest: {rate:.0f} reports/s from {args.agents} SSH agents"
    if peer:
        verdict += f" = {rate / peer:.2f}x Pushgateway ({peer:.0f}/s)"
    verdict += f"; steady p99 report-to-visible {steady['p99_ms']:.1f} ms"
    print(verdict)
    figures = {"agents": args.agents, "reports_per_s": rate, "peer_reports_per_s": peer}
    _repo.emit("ingest", {**figures, "saturate": runs, "steady": steady})
    return 0


def replace_args(args: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args)})


if __name__ == "__main__":
    sys.exit(main())

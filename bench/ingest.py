"""bench/ingest.py — health reports stored per second from N agents over SSH, how long the
scheduler holds a report before its ack, the delay from a report's making to its state being
visible on the scheduler's board, and the event loop's worst lag meanwhile.

One scheduler (this process: the real ``run_server`` with the agent link, the health service
and the SQLite store) and N agents (real asyncssh connections, each with its own enrolled key)
in ``--procs`` worker processes. Three phases, each against a fresh scheduler:

  unbatched  --agents agents each send one report per write and wait for its ack before the
             next (window 1, batch 1: how live agents send), back to back: reports durably
             stored per second and the scheduler's CPU per report; compared with the peer
  batched    the same agents replay spools (closed loop, --window unacked, --batch lines per
             write, as after an outage): the ack wait (from the scheduler reading a report to
             its ack) at saturation, with commits bounded
  steady     --steady-agents agents send one report every --interval seconds (open loop,
             jittered): the report-to-visible delay a live fleet sees, and the loop lag

Then, in the same run, the peer: Prometheus Pushgateway taking the same reports over HTTP from
--agents agents, one push per request, back to back, in its fastest mode
(``peer-pushgateway.py --agents N --no-consistency-check``), found in ``--peers DIR`` or else in
the first ``shared/peers/`` beside the checkout or one of its parents (``../shared/peers/``).

The store is opened as the scheduler opens it (WAL, ``synchronous=FULL``: every commit that
acknowledges reports is on disk before the ack), so the figures include the fsync per commit.
The last line is one JSON object with every figure (``{"bench": "ingest", ...}``).

    .venv/bin/python bench/ingest.py [--agents 1000] [--steady-agents 10000] [--seconds 10]
                                     [--phases unbatched,batched,steady] [--peers DIR | --no-peer]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import re
import resource
import socket
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
    # One process holds thousands of agents' connections, which a real agent (one connection
    # in its own process) never does: the collector's full passes over them held this loop for
    # tens of milliseconds between a report's making and its sending, time the report-to-visible
    # delay then counted against the scheduler. What the connections are made of is frozen out
    # of the collector, as the scheduler does with what its start-up loaded.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)
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


async def phase(args: argparse.Namespace, mode: str, agents: int, window: int, batch: int) -> dict:
    """One phase against a fresh scheduler on the prepared store: ``mode`` saturate or steady."""
    from confsched.config import Settings
    from confsched.runtime.root import run_server

    data, all_endpoints, host_key = args.prepared
    endpoints = all_endpoints[:agents]
    port = free_port()
    settings = Settings(data_dir=data, http_port=0, ssh_port=port)
    ready: asyncio.Future = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(run_server(settings, ready=ready.set_result))
    ctx = await ready
    board, service, probe = ctx.board, ctx.health_service, ctx.looplag
    delays: list[float] = []
    acks: list[float] = []
    recording = False

    def observe(delay: float) -> None:
        if recording:
            delays.append(delay)

    def observe_ack(wait: float) -> None:
        if recording:
            acks.append(wait)

    service.observe_delay = observe
    service.observe_ack = observe_ack
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    gc_started = [0.0]

    def on_gc(stage: str, info: dict) -> None:
        if stage == "start":
            gc_started[0] = time.perf_counter()
        elif recording:
            pauses[info["generation"]].append(time.perf_counter() - gc_started[0])

    gc.callbacks.append(on_gc)
    tracer = HoldTracer() if args.trace_holds else None
    lifetime = args.warmup_timeout + args.seconds + 60
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
            str(window),
            "--batch",
            str(batch),
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
    await asyncio.sleep(3.0 if mode == "saturate" else args.interval + 2)  # reach steady state
    recording = True
    probe.reset()
    if tracer is not None:
        tracer.on = True
    n0, b0, c0, w0 = board.reports_accepted, service.batches, cpu_seconds(), time.perf_counter()
    k0 = sum(proc_cpu(w.pid) for w in workers)
    await asyncio.sleep(args.seconds)
    n1, b1, c1, w1 = board.reports_accepted, service.batches, cpu_seconds(), time.perf_counter()
    k1 = sum(proc_cpu(w.pid) for w in workers)
    lag = probe.worst
    recording = False
    gc.callbacks.remove(on_gc)
    holds = []
    if tracer is not None:
        tracer.close()
        holds = tracer.top()
    for w in workers:
        w.terminate()
    for w in workers:
        w.wait(timeout=30)
    server.cancel()
    await asyncio.gather(server, return_exceptions=True)
    stored = n1 - n0
    wall = w1 - w0
    return {
        "mode": mode,
        "agents": len(endpoints),
        "window": window,
        "batch": batch,
        "connected": connected,
        "connect_s": round(connect_s, 1),
        "reports_per_s": round(stored / wall, 1),
        "delay_p50_ms": round(pct(delays, 0.5), 2),
        "delay_p99_ms": round(pct(delays, 0.99), 2),
        "ack_p50_ms": round(pct(acks, 0.5), 2),
        "ack_p99_ms": round(pct(acks, 0.99), 2),
        "loop_lag_max_ms": round(lag * 1000, 1),
        "gc_full_passes": len(pauses[2]),
        "gc_full_max_ms": round(1000 * max(pauses[2], default=0.0), 1),
        "gc_ms_per_s": round(1000 * sum(sum(p) for p in pauses.values()) / wall, 1),
        "reports_per_commit": round(stored / max(1, b1 - b0), 1),
        "scheduler_cpu": round((c1 - c0) / wall, 3),
        "scheduler_us_per_report": round(1e6 * (c1 - c0) / max(1, stored), 1),
        "agents_cpu": round((k1 - k0) / wall, 3),
        **({"holds": holds} if tracer is not None else {}),
    }


class HoldTracer:
    """What holds the event loop: every callback that ran ``threshold`` s or more, by name
    (``--trace-holds``; costs a microsecond a callback, so off by default)."""

    def __init__(self, threshold: float = 0.02) -> None:
        self.threshold = threshold
        self.holds: dict[str, list[tuple[float, float]]] = {}
        """callback → (wall, CPU) seconds of each hold: on a loaded machine the wall time
        includes the process waiting for a core, the CPU time is the callback's own work."""
        self.on = False
        handle = asyncio.events.Handle
        self._original = handle._run
        tracer = self

        def _run(h: asyncio.events.Handle) -> None:
            started, cpu = time.perf_counter(), time.thread_time()
            tracer._original(h)
            took = time.perf_counter() - started
            if took >= tracer.threshold and tracer.on:
                worked = time.thread_time() - cpu
                tracer.holds.setdefault(_callback_name(h), []).append((took, worked))

        handle._run = _run  # type: ignore[method-assign]

    def close(self) -> None:
        asyncio.events.Handle._run = self._original  # type: ignore[method-assign]

    def top(self, n: int = 6) -> list[dict]:
        ranked = sorted(self.holds.items(), key=lambda kv: -sum(w for w, _ in kv[1]))[:n]
        return [
            {
                "callback": name,
                "holds": len(t),
                "max_ms": round(1000 * max(w for w, _ in t), 1),
                "max_cpu_ms": round(1000 * max(c for _, c in t), 1),
            }
            for name, t in ranked
        ]


def _callback_name(h: asyncio.events.Handle) -> str:
    callback = h._callback  # type: ignore[attr-defined]
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        return f"task {getattr(coro, '__qualname__', owner.get_name())}"
    return getattr(callback, "__qualname__", repr(callback))


def proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        parts = handle.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def run_peer(peer: Path | None, agents: int, seconds: float) -> tuple[dict | None, str]:
    """The peer's own figures (its ``--json`` line) and its verdict line."""
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
        "--json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    last = lines[-1] if lines else done.stderr[-300:]
    figures = None
    for line in lines:
        if line.startswith("{"):
            figures = json.loads(line)
    if figures is None or not re.search(r"^pushgateway: \d+ reports/s", last):
        return None, last
    figures["gateway_us_per_report"] = round(
        1e6 * figures["gateway_cpu_s"] / max(1, figures["ok"]), 1
    )
    return figures, last


def _line(name: str, r: dict) -> str:
    return (
        f"{name}: {r['agents']} agents (window {r['window']}, {r['batch']} per write) "
        f"{r['connected']} connected in {r['connect_s']:.0f}s; {r['reports_per_s']:.0f} reports/s "
        f"stored; ack wait p50 {r['ack_p50_ms']:.1f} ms p99 {r['ack_p99_ms']:.1f} ms; "
        f"report-to-visible p50 {r['delay_p50_ms']:.1f} ms p99 {r['delay_p99_ms']:.1f} ms; "
        f"loop lag max {r['loop_lag_max_ms']:.0f} ms; GC {r['gc_ms_per_s']:.0f} ms/s, "
        f"{r['gc_full_passes']} full passes (longest {r['gc_full_max_ms']:.0f} ms); "
        f"{r['reports_per_commit']:.0f} reports/commit;"
        f" scheduler CPU {100 * r['scheduler_cpu']:.0f}% of a core "
        f"({r['scheduler_us_per_report']:.0f} us/report), agents {100 * r['agents_cpu']:.0f}%"
        + "".join(
            f"\n  held {h['holds']}x up to {h['max_ms']:.0f} ms ({h['max_cpu_ms']:.0f} ms of CPU)"
            f" by {h['callback']}"
            for h in r.get("holds", [])
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=1000, help="agents of the saturate phases")
    ap.add_argument("--steady-agents", type=int, default=10000, help="agents of the steady phase")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured window of each phase")
    ap.add_argument("--procs", type=int, default=2, help="agent worker processes")
    ap.add_argument("--window", type=int, default=64, help="batched: unacked reports per agent")
    ap.add_argument("--batch", type=int, default=32, help="batched: lines per write")
    ap.add_argument("--interval", type=float, default=10.0, help="steady: s between reports")
    ap.add_argument("--runs", type=int, default=1, help="unbatched runs (median reported)")
    ap.add_argument(
        "--phases", default="unbatched,batched,steady", help="which phases (comma-separated)"
    )
    ap.add_argument("--warmup-timeout", type=float, default=400.0)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument(
        "--trace-holds", action="store_true", help="name the callbacks that hold the loop 20 ms+"
    )
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
    import logging

    logging.basicConfig(level=logging.ERROR)
    if args.worker:
        asyncio.run(worker(args))
        return 0

    phases = args.phases.split(",")
    machine = (
        f"{platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cpus, Python {platform.python_version()}"
    )
    load = os.getloadavg()
    print(f"machine: {machine}; load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    needed = max(args.agents, args.steady_agents if "steady" in phases else 0)
    args.prepared = prepare(needed)
    out: dict = {"machine": machine, "load_before": round(load[0], 1)}
    if "unbatched" in phases:
        runs = [asyncio.run(phase(args, "saturate", args.agents, 1, 1)) for _ in range(args.runs)]
        for r in runs:
            print(_line("unbatched", r))
        best = sorted(runs, key=lambda r: r["reports_per_s"])[len(runs) // 2]
        out["unbatched"] = best
    if "batched" in phases:
        r = asyncio.run(phase(args, "saturate", args.agents, args.window, args.batch))
        print(_line("batched", r))
        out["batched"] = r
    if "steady" in phases:
        r = asyncio.run(phase(args, "steady", args.steady_agents, 1, 1))
        print(_line(f"steady (1 report/{args.interval:g}s)", r))
        out["steady"] = r
    peer, peer_line = (
        (None, "skipped")
        if args.no_peer
        else run_peer(_repo.find_peer(PEER, args.peers), args.agents, args.seconds)
    )
    print(f"peer: {peer_line}")
    out["peer"] = peer
    verdict = []
    if "unbatched" in out:
        u = out["unbatched"]
        text = f"unbatched {u['reports_per_s']:.0f} reports/s from {args.agents} SSH agents"
        if peer:
            ratio = u["reports_per_s"] / max(1.0, peer["reports_per_s"])
            out["ratio_to_peer"] = round(ratio, 2)
            out["cpu_per_report_to_peer"] = round(
                u["scheduler_us_per_report"] / max(0.1, peer["gateway_us_per_report"]), 2
            )
            text += (
                f" = {ratio:.2f}x Pushgateway ({peer['reports_per_s']:.0f}/s); CPU per report "
                f"{u['scheduler_us_per_report']:.0f} us vs the gateway's "
                f"{peer['gateway_us_per_report']:.0f} us"
            )
        verdict.append(text)
    if "batched" in out:
        verdict.append(f"batched ack wait p99 {out['batched']['ack_p99_ms']:.0f} ms")
    if "steady" in out:
        st = out["steady"]
        verdict.append(
            f"steady {st['agents']} agents: report-to-visible p99 {st['delay_p99_ms']:.1f} ms, "
            f"loop lag max {st['loop_lag_max_ms']:.0f} ms"
        )
    out["load_after"] = round(os.getloadavg()[0], 1)
    print("confsched ingest: " + "; ".join(verdict))
    _repo.emit("ingest", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""bench/codecs.py — the scheduler polling N simulated codecs every interval: its CPU share, and
the time from a codec fault (a camera unplugged) to the changed state on the health board.

The scheduler side is this process: the real codec poller (aiohttp client, HTTPS with a pinned
CA, bounded concurrency), the real judge, health service and SQLite store. The simulated codecs
(half Cisco xAPI, half Poly REST) run in a child process, so their CPU is not counted; the
child unplugs a camera when told on its stdin.

    python bench/codecs.py [--codecs 200] [--interval 10] [--rounds 6] [--faults 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import _repo

ROOT = _repo.ROOT


def endpoint_ids(count: int) -> list[str]:
    return [f"codec-{i:04d}" for i in range(count)]


async def serve_codecs(count: int, tls_dir: Path) -> None:
    """Child: serve the codecs, print where, then unplug cameras as told ("unplug ID")."""
    from confsched.devsim.codec_server import start_lab
    from confsched.devsim.codec_state import SimCodec

    codecs = [
        SimCodec(e, "cisco-xapi" if i % 2 == 0 else "poly-rest", f"pw-{i}")
        for i, e in enumerate(endpoint_ids(count))
    ]
    lab = await start_lab(codecs, tls_dir=tls_dir)
    print(json.dumps({"base": lab.base_url, "ca": str(lab.ca_file)}), flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        lab.codecs[line.split()[1]].cameras = [False]
        print("ok", flush=True)
    await lab.close()


def codec_fleet(count: int, base: str):  # type: ignore[no-untyped-def]
    """The sample province's header with N codec endpoints at the simulator."""
    from confsched.domain.model import CodecAccess, Endpoint, EndpointKind
    from confsched.fleetfile import load_fleet_file

    sample = load_fleet_file(ROOT / "sample_rooms.yaml")
    template = next(e for e in sample.endpoints.values() if e.kind is EndpointKind.CODEC)
    endpoints: dict[str, Endpoint] = {}
    for i, e in enumerate(endpoint_ids(count)):
        driver = "cisco-xapi" if i % 2 == 0 else "poly-rest"
        endpoints[e] = replace(template, id=e, codec=CodecAccess(driver, f"{base}/{e}"))
    return replace(sample, endpoints=endpoints)


async def scheduler(args: argparse.Namespace, child: subprocess.Popen[str], data: Path) -> dict:
    from confsched.codecs.poller import CodecPoller, client_session
    from confsched.codecs.secrets import Credentials, write_secrets
    from confsched.services.health import HealthBoard, HealthService
    from confsched.store.db import open_db
    from confsched.store.inventory import save_fleet
    from confsched.store.runner import StoreRunner

    assert child.stdout is not None and child.stdin is not None
    where = json.loads(child.stdout.readline())
    fleet = codec_fleet(args.codecs, where["base"])
    db = open_db(data)
    save_fleet(db, fleet)
    db.close()
    ids = endpoint_ids(args.codecs)
    write_secrets(
        data, {e: Credentials("admin", f"pw-{i}", where["ca"]) for i, e in enumerate(ids)}
    )
    store = StoreRunner(data)
    board = HealthBoard()
    service = HealthService(board, store.write)
    service.start()

    class NoAck:
        def acked(self, seq: int, count: int) -> None:
            return None

    sink = NoAck()
    poller = CodecPoller(
        lambda: fleet, data, lambda item: service.submit(item, sink), interval=args.interval
    )
    http = client_session(poller.concurrency)
    task = asyncio.create_task(poller.run(http))
    await asyncio.sleep(args.interval * 1.5)  # first round (TLS handshakes, Poly logins) done
    cpu0, wall0, polls0 = _cpu(), time.monotonic(), poller.polls
    await asyncio.sleep(args.interval * args.rounds)
    cpu, wall, polls = _cpu() - cpu0, time.monotonic() - wall0, poller.polls - polls0
    delays = []
    for k in range(args.faults):
        victim = ids[(k * 37 + 11) % len(ids)]
        await asyncio.sleep(args.interval * (0.31 + 0.17 * k) % args.interval)
        child.stdin.write(f"unplug {victim}\n")
        child.stdin.flush()
        await asyncio.to_thread(child.stdout.readline)
        unplugged = time.monotonic()
        while board.health(victim, datetime.now(UTC)).reasons != ("camera disconnected",):
            await asyncio.sleep(0.01)
        delays.append(time.monotonic() - unplugged)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await http.close()
    await service.stop()
    store.close()
    failures = sum(1 for s in board.latest.values() if "codec" in s.health.codes)
    return {
        "codecs": args.codecs,
        "interval_s": args.interval,
        "polls": polls,
        "poll_failures_at_end": failures,
        "cpu_share_of_a_core": round(cpu / wall, 4),
        "fault_to_state_s": sorted(round(d, 2) for d in delays),
    }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codecs", type=int, default=200)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=6, help="rounds measured for CPU")
    parser.add_argument("--faults", type=int, default=5, help="cameras unplugged, one by one")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve_codecs(args.codecs, args.serve))
        return
    with tempfile.TemporaryDirectory() as tmp:
        child = subprocess.Popen(
            [sys.executable, __file__, "--codecs", str(args.codecs), "--serve", f"{tmp}/tls"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            result = asyncio.run(scheduler(args, child, Path(tmp) / "data"))
        finally:
            child.kill()
            child.wait()
    worst = max(result["fault_to_state_s"])
    print(
        f"{result['codecs']} codecs every {args.interval:g} s: scheduler CPU "
        f"{result['cpu_share_of_a_core'] * 100:.1f} % of a core (target < 5 %); fault to state "
        f"max {worst:.2f} s (target < {args.interval:g} s)"
    )
    _repo.emit("codecs", result)


if __name__ == "__main__":
    main()

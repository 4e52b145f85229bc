"""Console benchmark: time to the first full fleet screen (192, 1,000 and 10,000 endpoints),
how soon a filter typed at full speed settles at 10,000, and the console's CPU while all 192
endpoints change state every second.

python bench/console.py [--runs 5] [--seconds 30] [--sizes 192,1000,10000]

The console runs as an operator runs it (``python -m confsched.cli tui --url …``) in a 120×40
pseudo-terminal, its output read and thrown away like a terminal would; the scheduler is the
stand-in (``tests.fakes.console_api``) in its own process, so only the console's CPU is counted.
"First full fleet screen" is the moment the terminal receives the frame whose counts bar says
"N endpoints" (drawn in the same frame as the tiles), measured from the process spawn, so it
includes Python start-up and imports. "Filter settled" is the time from the last key of
``/hung ha`` (written to the terminal at once, as fast as a paste) to the frame whose counts
bar says "showing N of 10000 endpoints", N the rooms the words match.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import platform
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import _repo

ROOT = _repo.ROOT
COLS, ROWS = 120, 40
TICKS = os.sysconf("SC_CLK_TCK")
TOKEN = "operator-token-for-the-bench"
"""The stand-in asks for a token on every route, as the scheduler does."""


# -- the stand-in scheduler, in its own process ---------------------------------------------------
async def serve_forever(endpoints: int, churn: bool) -> None:
    import _repo  # noqa: F401  (tests.fakes below)

    from tests.fakes.console_api import FakeScheduler, serve

    fake = FakeScheduler(endpoints=endpoints, token=TOKEN)
    _, url = await serve(fake)
    print(url, flush=True)
    step = 0
    while True:
        await asyncio.sleep(1.0)
        if churn:
            step += 1
            fake.churn(step)


class Scheduler:
    def __init__(self, endpoints: int, churn: bool = False) -> None:
        args = [sys.executable, __file__, "--serve", str(endpoints)] + (
            ["--churn"] if churn else []
        )
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


# -- the console in a pseudo-terminal --------------------------------------------------------------
class Console:
    def __init__(self, url: str) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        command = [sys.executable, "-m", "confsched.cli", "tui", "--url", url, "--token", TOKEN]
        command += ["--lang", "en"]  # the marker below is the English counts bar
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT,
            start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self.received = 0

    def read_for(self, seconds: float) -> None:
        """Drain the terminal (a console blocks if nobody reads it), keeping a short tail."""
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    return
                self.received += len(chunk)
                self.output += chunk
                del self.output[:-200_000]

    def wait_for(self, marker: bytes, timeout: float = 30.0) -> float:
        """Seconds from spawn until ``marker`` is on the terminal."""
        deadline = time.perf_counter() + timeout
        while marker not in self.output:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{marker!r} never shown")
            self.read_for(0.005)
        return time.perf_counter() - self.started

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def revision_seen(self) -> int:
        found = re.findall(rb"revision (\d+)", bytes(self.output))
        return int(found[-1]) if found else -1

    def stop(self) -> None:
        os.write(self.master, b"\x11")  # Ctrl+Q
        try:
            self.read_for(0.5)
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        os.close(self.master)


# -- the measurements ------------------------------------------------------------------------------
def first_screen(endpoints: int, runs: int) -> list[float]:
    scheduler = Scheduler(endpoints)
    try:
        times = []
        for _ in range(runs):
            console = Console(scheduler.url)
            try:
                times.append(console.wait_for(f"{endpoints} endpoints".encode()))
            finally:
                console.stop()
        return times
    finally:
        scheduler.stop()


FILTER_WORDS = "hung ha"


def filter_settled(endpoints: int, runs: int) -> list[float]:
    """Seconds from the last key of the filter to the screen showing its result."""
    from confsched_tui.fleetview import FleetFilter, haystacks

    from tests.fakes.console_data import make_endpoints

    rooms = make_endpoints(endpoints)
    texts = haystacks(rooms)
    wanted = FleetFilter.parse(FILTER_WORDS)
    matching = sum(wanted.matches(e, "ok", texts[str(e["id"])]) for e in rooms)
    marker = f"showing {matching} of {endpoints} endpoints".encode()
    scheduler = Scheduler(endpoints)
    times = []
    try:
        for _ in range(runs):
            console = Console(scheduler.url)
            try:
                console.wait_for(f"{endpoints} endpoints".encode())
                console.read_for(1.0)  # the first screen drawn and idle
                os.write(console.master, b"/")
                console.read_for(0.3)
                del console.output[:]
                os.write(console.master, FILTER_WORDS.encode())
                typed = time.perf_counter()
                console.wait_for(marker)
                times.append(time.perf_counter() - typed)
            finally:
                console.stop()
        return times
    finally:
        scheduler.stop()


def live_cpu(seconds: float) -> tuple[float, float, int, int]:
    """(% of one core, KB/s written to the terminal, revisions the scheduler made, last one
    the console showed)."""
    scheduler = Scheduler(192, churn=True)
    console = Console(scheduler.url)
    try:
        console.wait_for(b"192 endpoints")
        console.read_for(3.0)
        cpu0, bytes0, rev0 = console.cpu_seconds(), console.received, console.revision_seen()
        console.read_for(seconds)
        cpu1, bytes1, rev1 = console.cpu_seconds(), console.received, console.revision_seen()
        percent = (cpu1 - cpu0) / seconds * 100
        return percent, (bytes1 - bytes0) / seconds / 1024, rev1 - rev0, rev1
    finally:
        console.stop()
        scheduler.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--sizes", default="192,1000,10000", help="fleet sizes to start with")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--churn", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve_forever(args.serve, args.churn))
        return
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}"
    )
    print(f"console in a {COLS}×{ROWS} pseudo-terminal, stand-in scheduler in its own process")
    print(f"load average {os.getloadavg()[0]:.1f} at the start")
    figures: dict[str, float] = {}
    for endpoints in (int(n) for n in args.sizes.split(",")):
        times = first_screen(endpoints, args.runs)
        figures[f"first_screen_{endpoints}_ms"] = round(statistics.median(times) * 1000)
        print(f"first full fleet screen, {endpoints} endpoints: {_spread(times)}; target < 1500 ms")
    largest = max(int(n) for n in args.sizes.split(","))
    times = filter_settled(largest, args.runs)
    figures[f"filter_settled_{largest}_ms"] = round(statistics.median(times) * 1000)
    print(
        f"filter '{FILTER_WORDS}' settled, {largest} endpoints: {_spread(times)}; target < 300 ms"
    )
    percent, rate, revisions, _ = live_cpu(args.seconds)
    figures |= {"live_cpu_pct": round(percent, 1), "live_kb_per_s": round(rate, 1)}
    print(
        f"live, 192 endpoints all changing state every second, {args.seconds:.0f} s: "
        f"console CPU {percent:.1f}% of one core (target < 15%), "
        f"{rate:.1f} KB/s to the terminal, {revisions} revisions followed"
    )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    _repo.emit("console", figures)


def _spread(times: list[float]) -> str:
    return (
        f"median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, "
        f"max {max(times) * 1000:.0f}, {len(times)} runs)"
    )


if __name__ == "__main__":
    main()

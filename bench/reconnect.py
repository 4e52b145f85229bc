"""Reconnect benchmark: how fast a fleet of agents is back after a cold start and a kill -9.

    python bench/reconnect.py                 # 10,000 agents (a few minutes, both cores)
    python bench/reconnect.py --agents 1500   # a development run

A real ``confsched serve`` (its own data directory, a fleet of N rooms, N enrolled keys) and
the real agent code (``confsched_agent`` Agent and Link: asyncssh, hello, spool, acks) in two
simulator processes, each agent from its own loopback address (127.1.x.y, as every room's PC
has its own). Measured:

- cold start: scheduler and agents started together, to every agent connected and its first
  report acknowledged;
- restart: ``kill -9`` of the scheduler and the same command again, to every agent back (its
  first report after the kill acknowledged); p50/p99 of the time back per agent;
- CPU seconds the scheduler and the simulators used in each phase (where the time goes: on 2
  cores, the simulated agents' own handshakes cost about what the scheduler's do);
- logins the scheduler refused (its ``confsched_ssh_logins_refused_total``), connections it
  told at the door when to come back (``confsched_ssh_logins_deferred_total``), and connection
  attempts that failed on the agents' side (timed out, reset: a deferral is not one), per phase.

The last line is machine-readable: ``{"bench": "reconnect", ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import contextlib
import json
import os
import platform
import random
import resource
import signal
import socket
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import _leanssh
import _repo
import asyncssh

KEYS_FILE = "bench-agent-keys.txt"
COMMUNES = 100


# -- the fleet and its keys ------------------------------------------------------------------------


def fleet_yaml(rooms: int, interval: int) -> str:
    """A province of ``rooms`` PC rooms (agents, no polled codecs) in 100 communes."""
    lines = [
        f"fleet: {{name: Tỉnh Thử, timezone: Asia/Ho_Chi_Minh, report_interval: {interval}s}}",
        "bridges:",
        *(
            f"  - {{id: mcu-{b}, name: MCU {b}, ports: 500, dial_in: 'sip:hop@mcu{b}.example'}}"
            for b in range(1, 5)
        ),
        "agencies:",
        "  - {id: ubnd, name: Ủy ban nhân dân tỉnh}",
        "sites:",
        "  - {id: tinh, name: Tỉnh Thử, level: province}",
        *(f"  - {{id: xa-{c}, name: Xã {c}, level: commune}}" for c in range(COMMUNES)),
        "endpoints:",
    ]
    for i in range(rooms):
        lines.append(
            f"  - {{id: {endpoint(i)}, name: Phòng {i}, site: xa-{i % COMMUNES}, agency: ubnd, "
            f"kind: pc, bridge: mcu-{i % 4 + 1}}}"
        )
    return "\n".join(lines) + "\n"


def endpoint(i: int) -> str:
    return f"room-{i:05d}"


def source_address(i: int) -> str:
    """Each agent's own loopback address: 127.1.0.1, 127.1.0.2, … (200 per /24)."""
    return f"127.1.{i // 200}.{i % 200 + 1}"


def prepare(data_dir: Path, rooms: int, interval: int) -> None:
    """Import the fleet and enrol a fresh ed25519 key per room (26 µs a key: no cache needed);
    the private keys go to one file the simulator processes read."""
    from confsched.agentlink.keys import public_text
    from confsched.services.inventory import import_fleet
    from confsched.store.db import open_db
    from confsched.store.health import enroll_keys

    fleet = data_dir / "fleet.yaml"
    fleet.write_text(fleet_yaml(rooms, interval), encoding="utf-8")
    keys = {endpoint(i): asyncssh.generate_private_key("ssh-ed25519") for i in range(rooms)}
    db = open_db(data_dir)
    try:
        import_fleet(db, fleet)
        enroll_keys(db, {e: public_text(k) for e, k in keys.items()}, datetime.now(UTC))
    finally:
        db.close()
    with (data_dir / KEYS_FILE).open("w") as out:
        for e, k in keys.items():
            out.write(f"{e} {base64.b64encode(k.export_private_key()).decode()}\n")


# -- the simulator process -------------------------------------------------------------------------


async def simulate(args: argparse.Namespace) -> None:
    """``--worker``: agents ``first`` … ``first+count-1``; a status line on stdout every half
    second; ``mark`` on stdin starts a new phase (each agent is back at its next ack)."""
    from confsched_agent.agent import Agent
    from confsched_agent.link import Link
    from confsched_agent.probes import Findings
    from confsched_agent.spool import MemorySpool
    from confsched_agent.wire import Check

    class Room:
        name = "room"

        async def run(self) -> Findings:
            return Findings({"camera": Check(True)}, {"rtt_ms": 12.0})

    class TimedSpool(MemorySpool):
        """Notes when the first acknowledgement of the current phase arrived."""

        back_at: float | None = None

        def acknowledge(self, seq: int) -> int:
            if self.back_at is None:
                self.back_at = time.monotonic()
            return super().acknowledge(seq)

    class CountedLink(Link):
        """The agent's own link (its backoff, its reading of the door's answer), its login
        attempts counted by outcome: what the phase's figures are made of."""

        def __init__(self, *a, **kw) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*a, **kw)
            self.outcomes: Counter[str] = Counter()

        @contextlib.asynccontextmanager
        async def _open(self):  # type: ignore[no-untyped-def]
            logged_in = False
            try:
                async with self._connect() as pair:
                    logged_in = True
                    self.outcomes["logged_in"] += 1
                    yield pair
            except BaseException as exc:
                if not logged_in:
                    self.outcomes[_outcome(exc)] += 1
                raise

        def _connect(self):  # type: ignore[no-untyped-def]
            return super()._open()

    class LeanLink(CountedLink):
        """The same link over ``_leanssh`` instead of asyncssh: the agents' side of a login
        costs a few crypto calls, so the simulator no longer sets the pace."""

        @contextlib.asynccontextmanager
        async def _connect(self):  # type: ignore[no-untyped-def]
            session = _AgentSession(self)
            host, port = self._address
            try:
                channel = await _leanssh.connect(
                    host,
                    port,
                    username=self.endpoint,
                    key=self._key,
                    host_key=self.host_key_text,
                    on_data=lambda data: session.data_received(data, None),
                    on_close=session.connection_lost,
                    local_addr=self._local,
                )
            except _leanssh.Disconnected as exc:  # the door's answer, as asyncssh gives it
                raise asyncssh.DisconnectError(exc.code, exc.reason) from None
            session.connection_made(channel)
            try:
                yield channel, session
            finally:
                channel.close()

    from confsched_agent.link import _AgentSession

    # asyncssh prepares each connection's options in the default executor. A real agent does
    # one connect at a time; 5,000 here would keep six threads fighting the event loop for the
    # GIL and slow every simulated handshake. One thread is what a real agent has.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=1))
    data_dir = Path(args.data)
    wanted = {endpoint(i) for i in range(args.first, args.first + args.count)}
    keys: dict[str, object] = {}
    with (data_dir / KEYS_FILE).open() as handle:
        for line in handle:
            name, text = line.split()
            if name in wanted:
                raw = base64.b64decode(text)
                lean = args.client == "lean"
                keys[name] = (
                    _leanssh.load_private_key(raw) if lean else asyncssh.import_private_key(raw)
                )
    host_key = (data_dir / "host_key.pub").read_text().strip()
    spools: list[TimedSpool] = []
    links: list[CountedLink] = []
    tasks = []
    kind = LeanLink if args.client == "lean" else CountedLink
    for i in range(args.first, args.first + args.count):
        name = endpoint(i)
        spool = TimedSpool(limit=1000)
        agent = Agent(name, [Room()], spool, float(args.interval))
        link = kind(
            name,
            ("127.0.0.1", args.port),
            keys[name],
            host_key,
            spool,
            agent.handle,
            rng=random.Random(i),
            local_address=source_address(i),
        )
        link.host_key_text = host_key
        agent.on_report = link.wake
        link.on_reconnected = agent.report_now
        spools.append(spool)
        links.append(link)
        tasks += [asyncio.create_task(agent.run()), asyncio.create_task(link.run())]

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def commands() -> None:
        while line := await reader.readline():
            if line.strip() == b"mark":
                for spool in spools:
                    spool.back_at = None
            elif line.strip() == b"times":
                times = [s.back_at for s in spools if s.back_at is not None]
                print(json.dumps({"times": times}), flush=True)

    commands_task = asyncio.create_task(commands())
    while not commands_task.done():
        outcomes: Counter[str] = Counter()
        for link in links:
            outcomes.update(link.outcomes)
        status = {
            "connected": sum(link.connected.is_set() for link in links),
            "back": sum(s.back_at is not None for s in spools),
            "failures": sum(link.failures for link in links),
            "deferrals": sum(link.deferrals for link in links),
            **{f"n_{k}": v for k, v in outcomes.items()},
        }
        print(json.dumps(status), flush=True)
        await asyncio.sleep(0.5)


def _outcome(exc: BaseException) -> str:
    """A failed login attempt in one word, for the counts."""
    if isinstance(exc, asyncssh.DisconnectError) and exc.code == 12:
        return "busy"
    if isinstance(exc, ConnectionRefusedError):
        return "not_listening"
    if isinstance(exc, TimeoutError):
        return "timed_out"
    return "other_error"


# -- the orchestra ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.status: dict[str, int] = {}
        self.times: asyncio.Future[list[float]] | None = None
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            msg = json.loads(line)
            if "times" in msg and self.times is not None:
                self.times.set_result(msg["times"])
            else:
                self.status = msg

    def send(self, word: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(word.encode() + b"\n")

    async def back_times(self) -> list[float]:
        self.times = asyncio.get_running_loop().create_future()
        self.send("times")
        return await self.times


class Bench:
    def __init__(self, args: argparse.Namespace, data_dir: Path) -> None:
        self.args = args
        self.data = data_dir
        self.ssh_port = free_port()
        self.http_port = free_port()
        self.serve: asyncio.subprocess.Process | None = None
        self.workers: list[Worker] = []

    async def start_serve(self) -> None:
        self.serve = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "confsched",
            "serve",
            "--data",
            str(self.data),
            "--ssh",
            f"127.0.0.1:{self.ssh_port}",
            "--http",
            f"127.0.0.1:{self.http_port}",
            stdout=asyncio.subprocess.PIPE,
            stderr=open(self.data / "serve.log", "ab"),  # noqa: SIM115
            cwd=self.data,
        )

    async def serve_ready(self) -> float:
        """Seconds until serve announces itself (its agent port is open then)."""
        assert self.serve is not None and self.serve.stdout is not None
        start = time.monotonic()
        while line := await self.serve.stdout.readline():
            if line.startswith(b"confsched:"):
                return time.monotonic() - start
        raise SystemExit(f"serve exited; see {self.data / 'serve.log'}")

    async def start_workers(self) -> None:
        n, procs = self.args.agents, self.args.processes
        for p in range(procs):
            first, last = n * p // procs, n * (p + 1) // procs
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--worker",
                "--data",
                str(self.data),
                "--port",
                str(self.ssh_port),
                "--interval",
                str(self.args.interval),
                "--client",
                self.args.client,
                "--first",
                str(first),
                "--count",
                str(last - first),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=open(self.data / f"agents-{p}.log", "ab"),  # noqa: SIM115
                limit=1 << 24,  # the times line: 5,000 numbers and more
            )
            self.workers.append(Worker(proc))

    def cpu(self) -> tuple[float, float]:
        """CPU seconds used so far by the scheduler and by the simulators (Linux /proc)."""
        agents = sum(_cpu_seconds(w.proc.pid) for w in self.workers)
        return _cpu_seconds(self.serve.pid) if self.serve else 0.0, agents

    def total(self, key: str) -> int:
        return sum(w.status.get(key, 0) for w in self.workers)

    def counted(self, metric: str) -> int:
        """One of the running scheduler's counters, summed over its labels (its /metrics)."""
        url = f"http://127.0.0.1:{self.http_port}/metrics"
        request = urllib.request.Request(url)
        token = self.data / "operator.token"
        if token.exists():
            request.add_header("Authorization", f"Bearer {token.read_text().strip()}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                text = response.read().decode()
        except OSError:
            return -1
        return int(
            sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith(metric)
            )
        )

    def outcomes(self) -> Counter[str]:
        """Login attempts so far by outcome (logged_in, busy, not_listening, timed_out, …)."""
        return Counter(
            {k[2:]: self.total(k) for w in self.workers for k in w.status if k[:2] == "n_"}
        )

    async def until_all_back(self, since: float, limit: float) -> dict[str, object]:
        """Poll the simulators until every agent is back; a line of progress every ``--every``
        seconds (agents back, connected, and the phase's attempts by outcome so far)."""
        n = self.args.agents
        failures0, deferrals0 = self.total("failures"), self.total("deferrals")
        outcomes0 = self.outcomes()
        serve_cpu0, agents_cpu0 = self.cpu()
        first_connected = None
        next_print = since + self.args.every
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            if first_connected is None and self.total("connected") > 0:
                first_connected = now - since
            if now >= next_print:
                next_print += self.args.every
                tried = self.outcomes() - outcomes0
                serve_cpu, agents_cpu = self.cpu()
                print(
                    f"  {now - since:6.1f} s: {self.total('back')} back, "
                    f"{self.total('connected')} connected; attempts "
                    + ", ".join(f"{k} {v}" for k, v in sorted(tried.items()))
                    + f"; CPU scheduler {serve_cpu - serve_cpu0:.1f} s, "
                    f"agents {agents_cpu - agents_cpu0:.1f} s",
                    flush=True,
                )
            if self.total("back") >= n or now - since > limit:
                break
        serve_cpu, agents_cpu = self.cpu()
        per_worker = [await w.back_times() for w in self.workers]
        times = sorted(t - since for ts in per_worker for t in ts)
        tried = self.outcomes() - outcomes0
        logins = max(tried["logged_in"], 1)
        return {
            "all_back_s": round(times[-1], 1) if len(times) >= n else -1.0,
            "back": len(times),
            "first_connected_s": round(first_connected or -1.0, 1),
            "p50_s": round(statistics.median(times), 1) if times else -1.0,
            "p99_s": round(times[int(len(times) * 0.99) - 1], 1) if times else -1.0,
            "failed_attempts": self.total("failures") - failures0,
            "deferrals": self.total("deferrals") - deferrals0,
            "attempts": dict(sorted(tried.items())),
            "back_by_second": [bisect.bisect_right(times, s) for s in range(int(times[-1]) + 2)]
            if times
            else [],
            "serve_cpu_s": round(serve_cpu - serve_cpu0, 1),
            "agents_cpu_s": round(agents_cpu - agents_cpu0, 1),
            "serve_cpu_ms_per_login": round(1000 * (serve_cpu - serve_cpu0) / logins, 2),
            "agents_cpu_ms_per_login": round(1000 * (agents_cpu - agents_cpu0) / logins, 2),
        }

    async def run(self) -> dict[str, object]:
        args = self.args
        load_before = round(os.getloadavg()[0], 1)
        print(f"preparing {args.agents} rooms and keys in {self.data}", flush=True)
        await asyncio.to_thread(prepare, self.data, args.agents, args.interval)
        from confsched.agentlink.keys import ensure_host_key, public_text

        host_key = public_text(ensure_host_key(self.data))
        (self.data / "host_key.pub").write_text(host_key + "\n")

        print("cold start: scheduler and agents together", flush=True)
        t0 = time.monotonic()
        await self.start_serve()
        await self.start_workers()
        boot = await self.serve_ready()
        cold = await self.until_all_back(t0, args.limit)
        cold["serve_ready_s"] = round(boot, 1)
        cold["refused_logins"] = self.counted("confsched_ssh_logins_refused_total")
        cold["deferred_logins"] = self.counted("confsched_ssh_logins_deferred_total")
        await asyncio.sleep(args.settle)

        print("restart: kill -9 the scheduler, start it again", flush=True)
        for w in self.workers:
            w.send("mark")
        assert self.serve is not None
        t1 = time.monotonic()
        self.serve.send_signal(signal.SIGKILL)
        await self.serve.wait()
        await self.start_serve()
        boot = await self.serve_ready()
        restart = await self.until_all_back(t1, args.limit)
        restart["serve_ready_s"] = round(boot, 1)
        restart["refused_logins"] = self.counted("confsched_ssh_logins_refused_total")
        restart["deferred_logins"] = self.counted("confsched_ssh_logins_deferred_total")
        return {
            "agents": args.agents,
            "client": args.client,
            "load_before": load_before,
            "load_after": round(os.getloadavg()[0], 1),
            "cold_start": cold,
            "restart": restart,
        }

    async def stop(self) -> None:
        for w in self.workers:
            if w.proc.stdin is not None:
                w.proc.stdin.close()
        for w in self.workers:
            try:
                await asyncio.wait_for(w.proc.wait(), 10)
            except TimeoutError:
                w.proc.kill()
        if self.serve is not None and self.serve.returncode is None:
            self.serve.send_signal(signal.SIGTERM)
            await self.serve.wait()


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU of a live process (0 where /proc cannot tell)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raise_file_limit() -> None:
    """One descriptor per connection on each side: 10,000 agents need more than 1024."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def report(result: dict[str, object]) -> None:
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}"
        f", load average {os.getloadavg()[0]:.1f}"
    )
    for phase in ("cold_start", "restart"):
        r = result[phase]
        assert isinstance(r, dict)
        print(
            f"{phase.replace('_', ' ')}: {r['back']} of {result['agents']} back, all in "
            f"{r['all_back_s']} s (p50 {r['p50_s']} s, p99 {r['p99_s']} s); serve ready in "
            f"{r['serve_ready_s']} s, first agent connected at {r['first_connected_s']} s; "
            f"{r['refused_logins']} logins refused, {r['deferred_logins']} told to come back "
            f"later, {r['failed_attempts']} failed attempts; CPU: scheduler {r['serve_cpu_s']} s "
            f"({r['serve_cpu_ms_per_login']} ms a login), simulated agents ({result['client']}) "
            f"{r['agents_cpu_s']} s ({r['agents_cpu_ms_per_login']} ms a login)"
        )
        print(f"  attempts: {r['attempts']}; back by second: {r['back_by_second']}")
    _repo.emit("reconnect", result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=10000)
    parser.add_argument("--processes", type=int, default=2, help="simulator processes")
    parser.add_argument("--interval", type=int, default=10, help="report interval, seconds")
    parser.add_argument("--limit", type=float, default=400, help="give up a phase after (s)")
    parser.add_argument("--settle", type=float, default=5, help="steady run between phases (s)")
    parser.add_argument("--keep", type=Path, help="data directory to use (and keep)")
    parser.add_argument(
        "--client",
        choices=("lean", "asyncssh"),
        default="lean",
        help="the simulated agents' SSH client: bench/_leanssh.py (cheap) or asyncssh (the "
        "real agent's)",
    )
    parser.add_argument("--every", type=float, default=5, help="seconds between progress lines")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    raise_file_limit()
    if args.worker:
        asyncio.run(simulate(args))
        return

    async def orchestrate(data_dir: Path) -> None:
        bench = Bench(args, data_dir)
        try:
            result = await bench.run()
        finally:
            await bench.stop()
        report(result)

    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        asyncio.run(orchestrate(args.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="confsched-reconnect-") as tmp:
            asyncio.run(orchestrate(Path(tmp)))


if __name__ == "__main__":
    main()

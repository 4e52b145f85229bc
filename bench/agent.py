"""bench/agent.py — the room agent's own cost: its RSS and CPU at a 10 s interval, and its
install footprint.

A real scheduler (``confsched serve``, a child process on loopback) and a real agent
(``confsched-agent``, another child, started from an ``agents enroll --bundle`` folder, with
its real Linux probes: host, camera, audio, display, client and bridge) run for ``--seconds``;
this process samples the agent through psutil every second. CPU is the agent's user+system time
over the run after its first report, as a share of one core; RSS is sampled throughout.

``--footprint`` also installs ``agents/`` alone into a fresh venv and reports the size of its
site-packages minus an empty venv's, in MiB of allocated blocks as ``du -sk`` counts them (pip's
own files cancel out).

    python bench/agent.py [--seconds 120] [--interval 10] [--footprint]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import _repo
import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ENDPOINT = "dhy-hoa-thuong"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def accepted(http: str, data: Path) -> int:
    """Reports the scheduler accepted, asked with the operator token it made in ``data``."""
    token = (data / "operator.token").read_text().strip()
    request = urllib.request.Request(
        f"{http}/api/v1/health", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        return int(json.load(resp)["counters"]["reports_accepted"])


def run_agent(args: argparse.Namespace, data: Path) -> dict[str, float]:
    ssh, web = free_port(), free_port()
    http = f"http://127.0.0.1:{web}"
    confsched = str(BIN / "confsched")
    subprocess.run(
        [confsched, "rooms", "import", str(ROOT / "sample_rooms.yaml"), "--data", str(data)],
        check=True,
        capture_output=True,
    )
    bundle = data / "bundle"
    subprocess.run(
        [confsched, "agents", "enroll", ENDPOINT, "--scheduler", f"127.0.0.1:{ssh}",
         "--bundle", str(bundle), "--data", str(data)],
        check=True, capture_output=True,
    )  # fmt: skip
    serve = subprocess.Popen(
        [confsched, "serve", "--data", str(data), "--ssh", f"127.0.0.1:{ssh}",
         "--http", f"127.0.0.1:{web}", "--rooms", str(ROOT / "sample_rooms.yaml")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    agent_proc: subprocess.Popen[bytes] | None = None
    try:
        wait_http(f"{http}/healthz", 60)
        agent_proc = subprocess.Popen(
            [str(BIN / "confsched-agent"), "--config", str(bundle / "agent.toml"),
             "--interval", str(args.interval), "--bridge", f"127.0.0.1:{ssh}",
             "--client-process", "confsched"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        agent = psutil.Process(agent_proc.pid)
        deadline = time.monotonic() + 60
        while accepted(http, data) < 1:
            if time.monotonic() > deadline or agent_proc.poll() is not None:
                raise SystemExit("the agent never reported")
            time.sleep(0.2)
        cpu0, t0 = agent.cpu_times(), time.monotonic()
        rss: list[float] = []
        while time.monotonic() - t0 < args.seconds:
            rss.append(agent.memory_info().rss / 1e6)
            time.sleep(1.0)
        cpu1, t1 = agent.cpu_times(), time.monotonic()
        reports = accepted(http, data)
    finally:
        for proc in (agent_proc, serve):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
    busy = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {
        "seconds": round(t1 - t0, 1),
        "reports_accepted": reports,
        "rss_mb_median": round(statistics.median(rss), 1),
        "rss_mb_max": round(max(rss), 1),
        "cpu_percent_of_a_core": round(100 * busy / (t1 - t0), 2),
        "agent_exit": agent_proc.returncode if agent_proc else -1,
    }


def du(path: Path) -> int:
    """Disk used, as ``du`` counts it (allocated blocks, not file lengths)."""
    return sum(f.lstat().st_blocks * 512 for f in path.rglob("*") if not f.is_symlink())


def footprint(work: Path) -> dict[str, float]:
    sizes = {}
    for name, install in (("empty", False), ("agent", True)):
        venv = work / name
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        if install:
            pip = venv / "bin" / "pip"
            subprocess.run([str(pip), "install", "-q", str(ROOT / "agents")], check=True)
        sizes[name] = du(next((venv / "lib").glob("python3*/site-packages")))
    extra = sizes["agent"] - sizes["empty"]
    return {"installed_mb": round(extra / 2**20, 1), "installed_bytes": extra}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=120.0, help="sampling time after warm-up")
    p.add_argument("--interval", type=float, default=10.0, help="the agent's report interval")
    p.add_argument("--footprint", action="store_true", help="also measure a fresh install")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    try:
        result: dict[str, object] = {"interval_s": args.interval, **run_agent(args, work / "data")}
        if args.footprint:
            result.update(footprint(work))
        result["cores"] = os.cpu_count()
        result["load_1min"] = round(os.getloadavg()[0], 2)
        print(
            f"agent every {args.interval:g} s for {result['seconds']} s: RSS median "
            f"{result['rss_mb_median']} MB (max {result['rss_mb_max']}), CPU "
            f"{result['cpu_percent_of_a_core']} % of a core, {result['reports_accepted']} reports"
        )
        _repo.emit("agent", result)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

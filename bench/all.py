"""bench/all.py — every benchmark in one go, the peers side by side, into one results file, and
the README's benchmark table regenerated from it.

    python bench/all.py [--peers DIR | --no-peer] [--long] [--only a,b | --skip a,b]
    python bench/all.py --quick               # small sizes: checks that every bench runs
    python bench/all.py --table-from bench/results/FILE.jsonl   # only rewrite the README table

Each benchmark runs as its own process with this interpreter, one after the other (they would
skew each other's figures side by side on 2 cores), its text streamed here as it comes; its
last line ``{"bench": NAME, ...}`` (``_repo.emit``) goes to ``bench/results/DATE.jsonl``, after
a first line describing the machine (CPU, cores, RAM, Python, SQLite, load before and after,
commit). The table between the README's markers is then rewritten from that file
(``bench/_table.py``). Sized to finish in about 15 minutes on 2 idle cores; ``--long`` adds the
full-size runs (reconnect with 10,000 agents, three saturated ingest runs). ``--quick`` figures
are for checking the scripts, so the README is left alone then.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _repo
import _table

ROOT = _repo.ROOT
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"


@dataclass(frozen=True, slots=True)
class Bench:
    name: str
    args: tuple[str, ...]
    quick: tuple[str, ...]
    """The arguments of a ``--quick`` run (a smoke test of the script)."""
    long: tuple[str, ...] | None = None
    """The arguments of a ``--long`` run, when they differ."""
    peers: bool = False
    """Takes ``--peers DIR`` / ``--no-peer``."""
    timeout_s: float = 1200


BENCHES = (
    Bench("fleet", (), ("--repeat", "3")),
    Bench("booking", (), ("--runs", "5")),
    Bench("metrics", (), ("--sizes", "192,1000", "--repeat", "2"), peers=True),
    Bench("feeds", (), ("--events", "200", "--repeats", "3"), peers=True),
    Bench(
        "ingest",
        (),
        ("--agents", "100", "--steady-agents", "200", "--seconds", "3"),
        long=("--runs", "3"),
        peers=True,
    ),
    Bench("codecs", (), ("--codecs", "20", "--interval", "2", "--rounds", "1", "--faults", "1")),
    Bench("console", (), ("--runs", "1", "--seconds", "5")),
    Bench("agent", ("--seconds", "60", "--footprint"), ("--seconds", "5")),
    Bench("national", (), ("--days", "5", "--runs", "2"), timeout_s=2400),
    Bench("history", (), ("--rooms", "10", "--hours", "2")),
    Bench(
        "reconnect",
        ("--agents", "2000"),
        ("--agents", "200", "--settle", "1"),
        long=("--agents", "10000"),
        timeout_s=2400,
    ),
)


def machine(load_before: float) -> dict[str, Any]:
    """What the figures were measured on (the first line of the results file)."""
    cpu = platform.processor() or platform.machine()
    ram_kib = 0
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        cpu = next((ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")), cpu)
    with open("/proc/meminfo", encoding="utf-8") as info:
        ram_kib = next((int(ln.split()[1]) for ln in info if ln.startswith("MemTotal")), 0)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "bench": _table.MACHINE,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit or "?",
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram_kib / 2**20, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_before": round(load_before, 2),
    }


def last_json(lines: list[str], name: str) -> dict[str, Any] | None:
    """The benchmark's own line: the last that parses as a JSON object naming it."""
    for line in reversed(lines):
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and record.get("bench") == name:
                return record
    return None


def run(bench: Bench, args: argparse.Namespace) -> dict[str, Any]:
    """Runs one benchmark, streaming its output; its figures with its wall time and exit."""
    chosen = bench.quick if args.quick else (bench.long if args.long and bench.long else bench.args)
    command = [sys.executable, str(ROOT / "bench" / f"{bench.name}.py"), *chosen]
    if bench.peers and args.no_peer:
        command.append("--no-peer")
    elif bench.peers and args.peers is not None:
        command += ["--peers", str(args.peers)]
    print(f"\n=== {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    lines: list[str] = []
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            print(f"  {line}", end="", flush=True)
            lines.append(line.rstrip("\n"))
        proc.wait(timeout=bench.timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    seconds = round(time.monotonic() - started, 1)
    record = last_json(lines, bench.name)
    if record is None:
        tail = " / ".join(lines[-3:])[-300:]
        record = {"bench": bench.name, "error": f"exit {proc.returncode}, no figures: {tail}"}
    return {**record, "seconds": seconds, "exit": proc.returncode, "args": list(chosen)}


def write_table(results_file: Path, readme: Path) -> None:
    machine_line, results = _table.load(results_file.read_text(encoding="utf-8").splitlines())
    table = _table.markdown(machine_line, results)
    readme.write_text(_table.replace_table(readme.read_text(encoding="utf-8"), table), "utf-8")
    print(f"{readme}: benchmark table rewritten from {results_file}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    names = [b.name for b in BENCHES]
    parser.add_argument("--only", help=f"comma-separated, of: {','.join(names)}")
    parser.add_argument("--skip", help="comma-separated benchmarks not to run")
    parser.add_argument("--peers", type=Path, default=None, help="folder holding the peers")
    parser.add_argument("--no-peer", action="store_true", help="run no peer")
    parser.add_argument("--long", action="store_true", help="the full-size runs too (~+10 min)")
    parser.add_argument("--quick", action="store_true", help="small sizes; README untouched")
    parser.add_argument("--out", type=Path, help="results file (default bench/results/DATE.jsonl)")
    parser.add_argument("--readme", type=Path, default=README, help="README to rewrite")
    parser.add_argument("--no-readme", action="store_true", help="leave the README alone")
    parser.add_argument("--table-from", type=Path, help="only rewrite the table from this file")
    args = parser.parse_args()
    if args.table_from is not None:
        write_table(args.table_from, args.readme)
        return 0
    wanted = set(args.only.split(",")) if args.only else set(names)
    wanted -= set(args.skip.split(",")) if args.skip else set()
    unknown = wanted - set(names)
    if unknown:
        parser.error(f"no benchmark {', '.join(sorted(unknown))} (there are {', '.join(names)})")
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M")
    out = args.out or RESULTS / f"{stamp}{'-quick' if args.quick else ''}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    about = machine(os.getloadavg()[0]) | {"quick": args.quick, "long": args.long}
    print(f"machine: {json.dumps(about, ensure_ascii=False)}")
    records = [run(bench, args) for bench in BENCHES if bench.name in wanted]
    about["load_after"] = round(os.getloadavg()[0], 2)
    with out.open("w", encoding="utf-8") as handle:
        for record in (about, *records):
            handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    print(f"\nresults: {out}")
    for record in records:
        state = "FAILED " + record["error"] if "error" in record else f"exit {record['exit']}"
        print(f"  {record['bench']:10} {record['seconds']:7.1f} s  {state}")
    if not (args.quick or args.no_readme):
        write_table(out, args.readme)
    failed = [r["bench"] for r in records if "error" in r]
    _repo.emit("all", {"results": str(out), "failed": failed})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

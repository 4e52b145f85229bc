"""Mutation run over the parts whose tests must catch a wrong change: the pure domain, the health
service, and the agent's spool and link. One command: ``python tools/mutation.py [TARGET ...]``.

Why a staging tree: mutmut names a mutant by its file path, so ``agents/confsched_agent/spool.py``
would be the module ``agents.confsched_agent.spool``, which nothing imports. The script copies the
three packages side by side (``confsched``, ``confsched_agent``, ``confsched_tui``) with the tests
into a scratch directory, writes the ``[tool.mutmut]`` section there, and runs mutmut in it; the
work tree is never touched.

Why test subsets: the machine has two cores shared by a team. Each target names the unit tests that
cover it (no running server unless the code under test only lives behind one), so a run of one
target takes minutes, not hours. mutmut then runs only the tests that reach a mutated function.

Why ``TZ=Pacific/Kiritimati``: a mutant that turns ``astimezone(tz)`` into ``astimezone(None)``
converts to the machine's own zone, which is UTC on CI and on this machine, so it would survive a
suite that is right. Under a zone fourteen hours away from UTC it cannot.

Why ``--again``: a whole domain run takes an hour or more on two shared cores. After tests are
added, ``--again OLD`` stages afresh and runs only the mutants not killed in the run kept in
``OLD`` (the code is the same, the tests only grew, so a mutant killed then is killed now), and
counts both runs together.

It is not part of ``.ci/run`` (too slow for CI's budget); ``docs/mutation.md`` holds the figures
and the survivors accepted, with why.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TARGETS: dict[str, tuple[list[str], list[str]]] = {
    # target: (files mutated, relative to the staging tree; tests that cover them)
    "domain": (
        ["confsched/domain/*.py"],
        [
            "tests/test_booking_decision.py",
            "tests/test_booking.py",
            "tests/test_health_domain.py",
            "tests/test_ports.py",
            "tests/test_recurrence.py",
            "tests/test_slots.py",
            "tests/test_forecast.py",
            "tests/test_fleet_tree.py",
            "tests/test_fleetfile.py",
            "tests/test_calendar_ics.py",
            "tests/test_conflict_shapes.py",
            "tests/test_booking_properties.py",
            "tests/test_fleet_impact.py",
            "tests/test_timeparse.py",
            "tests/test_readiness_stages.py",
            "tests/test_cancel_started_series.py",
            "tests/test_fleet_validation.py",
            "tests/test_health_rules.py",
            "tests/test_stages_and_tokens.py",
            "tests/test_history_and_series_rules.py",
            "tests/test_domain_edges.py",
            "tests/test_booking_validation.py",
            "tests/test_invites_and_feeds.py",
            "tests/test_booking_series_ports.py",
            "tests/test_ports_edges.py",
            "tests/test_booking_edges.py",
        ],
    ),
    "health": (
        ["confsched/services/health.py", "confsched/services/health_board.py"],
        [
            "tests/test_health_domain.py",
            "tests/test_health_rules.py",
            "tests/test_health_writer.py",
            "tests/test_health_api.py",
            "tests/test_cli_health.py",
            "tests/test_health_writer_edges.py",
        ],
    ),
    "agent": (
        ["confsched_agent/spool.py", "confsched_agent/link.py"],
        [
            "tests/test_agent_spool.py",
            "tests/test_agent_spool_full.py",
            "tests/test_agent_unacked.py",
            "tests/test_agentlink.py",
            "tests/test_agent_spool_edges.py",
            "tests/test_agent_link_edges.py",
        ],
    ),
}

STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped"}
TIMEOUTS = {36, -24, 24, 152, 255}


def stage(scratch: Path, mutate: list[str], tests: list[str]) -> None:
    """The staging tree: the three packages as top-level directories, the tests, the data the
    tests read, and a pyproject whose [tool.mutmut] section names what to mutate and run."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "confsched", scratch / "confsched", ignore=ignore)
    shutil.copytree(ROOT / "agents" / "confsched_agent", scratch / "confsched_agent", ignore=ignore)
    shutil.copytree(ROOT / "tui" / "confsched_tui", scratch / "confsched_tui", ignore=ignore)
    shutil.copytree(ROOT / "tests", scratch / "tests", ignore=ignore)
    shutil.copytree(ROOT / "examples", scratch / "examples")
    shutil.copy2(ROOT / "sample_rooms.yaml", scratch / "sample_rooms.yaml")
    existing = [t for t in tests if (ROOT / t).exists()]
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pyproject += (
        "\n[tool.mutmut]\n"
        'source_paths = ["confsched", "confsched_agent"]\n'
        f"only_mutate = {json.dumps(mutate)}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(existing)}\n"
        'also_copy = ["sample_rooms.yaml", "examples", "confsched_tui"]\n'
        "use_git_change_detection = false\n"
    )
    (scratch / "pyproject.toml").write_text(pyproject, encoding="utf-8")


def exit_codes(scratch: Path) -> dict[str, dict[str, int | None]]:
    """mutmut's outcome of each mutant (None: not run), per mutated file, from its .meta files."""
    per_file: dict[str, dict[str, int | None]] = {}
    for meta in sorted((scratch / "mutants").rglob("*.py.meta")):
        codes = json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {})
        per_file[str(meta.relative_to(scratch / "mutants"))[: -len(".meta")]] = codes
    return per_file


def killed(code: int | None) -> bool:
    return code is not None and STATUS.get(code) == "killed"


def merged(
    earlier: dict[str, dict[str, int | None]], now: dict[str, dict[str, int | None]]
) -> dict[str, dict[str, int | None]]:
    """Each mutant's outcome over two runs of the same code: killed in either run is killed."""
    out: dict[str, dict[str, int | None]] = {}
    for name in earlier.keys() | now.keys():
        old, new = earlier.get(name, {}), now.get(name, {})
        out[name] = {
            key: old.get(key) if killed(old.get(key)) or new.get(key) is None else new.get(key)
            for key in old.keys() | new.keys()
        }
    return out


def tally(per_file_codes: dict[str, dict[str, int | None]]) -> dict[str, Counter[str]]:
    """Outcome counts per mutated file."""
    per_file: dict[str, Counter[str]] = {}
    for name, codes in sorted(per_file_codes.items()):
        counts: Counter[str] = Counter()
        for code in codes.values():
            if code is None:
                counts["not checked"] += 1
            elif code in TIMEOUTS:
                counts["timeout"] += 1
            else:
                counts[STATUS.get(code, "suspicious")] += 1
        if codes:
            per_file[name] = counts
    return per_file


def survivors(per_file_codes: dict[str, dict[str, int | None]]) -> list[str]:
    """The names of surviving mutants, as ``mutmut show NAME`` takes them."""
    return sorted(
        key
        for codes in per_file_codes.values()
        for key, code in codes.items()
        if code is not None and STATUS.get(code) == "survived"
    )


def not_killed(per_file_codes: dict[str, dict[str, int | None]]) -> list[str]:
    return sorted(
        key for codes in per_file_codes.values() for key, code in codes.items() if not killed(code)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help=f"some of {', '.join(TARGETS)} (default all)")
    parser.add_argument("--scratch", type=Path, default=ROOT / "build" / "mutation")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at once (default 1)")
    parser.add_argument("--show", action="store_true", help="print each survivor's diff")
    parser.add_argument(
        "--again",
        type=Path,
        action="append",
        default=[],
        metavar="OLD",
        help="run only the mutants not killed in the run kept in OLD (a target's scratch; "
        "repeatable: earlier runs of the same code) and count the runs together",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="GLOB",
        help="mutate only these files of the target (e.g. confsched/domain/booking.py); repeatable",
    )
    args = parser.parse_args()
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown target {', '.join(sorted(unknown))}; known: {', '.join(TARGETS)}")
    failed = False
    for target in args.targets or list(TARGETS):
        mutate, tests = TARGETS[target]
        if args.only:
            mutate = args.only
        scratch = args.scratch / target
        earlier: dict[str, dict[str, int | None]] = {}
        for old in args.again:
            if scratch.resolve() == old.resolve():
                parser.error("--again needs the earlier run moved out of the scratch directory")
            earlier = merged(earlier, exit_codes(old))
        if args.only:  # the earlier runs' other files are not this run's business
            earlier = {
                name: codes
                for name, codes in earlier.items()
                if any(fnmatch.fnmatch(name, glob) for glob in mutate)
            }
        stage(scratch, mutate, tests)
        started = time.monotonic()
        names = not_killed(earlier) if args.again else []
        if args.again and not names:
            print(f"== {target}: every mutant was killed in the earlier runs")
            continue
        run = subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.jobs), *names],
            cwd=scratch,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "TZ": "Pacific/Kiritimati"},
            check=False,
        )
        elapsed = time.monotonic() - started
        failed |= run.returncode != 0
        print(f"== {target}: {elapsed:.0f} s (mutmut exit {run.returncode})")
        codes = merged(earlier, exit_codes(scratch))
        total: Counter[str] = Counter()
        for name, counts in tally(codes).items():
            total += counts
            n = sum(counts.values())
            print(f"  {name}: {counts['killed']}/{n} killed  {dict(counts)}")
        n = sum(total.values())
        share = 100 * total["killed"] / n if n else 0.0
        print(f"  {target} total: {total['killed']}/{n} killed ({share:.1f} %)  {dict(total)}")
        for name in survivors(codes):
            print(f"  survived: {name}")
            if args.show:
                subprocess.run(
                    [sys.executable, "-m", "mutmut", "show", name], cwd=scratch, check=False
                )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Fleet file benchmark: parse + validate the sample province, and import it into a fresh store.

python bench/fleet.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import _repo

from confsched.fleetfile import load_fleet_file
from confsched.store.db import open_db
from confsched.store.inventory import save_fleet

SAMPLE = Path(__file__).resolve().parent.parent / "sample_rooms.yaml"


def median_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}"
    )
    fleet = load_fleet_file(SAMPLE)
    parse = median_ms(lambda: load_fleet_file(SAMPLE), args.repeat)

    def fresh_import() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            db = open_db(tmp)
            save_fleet(db, fleet)
            db.close()

    store = median_ms(fresh_import, args.repeat)
    print(f"parse+validate {len(fleet.endpoints)} endpoints: median {parse:.1f} ms")
    print(f"import into a fresh store (incl. migrations): median {store:.1f} ms")
    _repo.emit(
        "fleet",
        {
            "endpoints": len(fleet.endpoints),
            "parse_ms": round(parse, 1),
            "import_ms": round(store, 1),
        },
    )


if __name__ == "__main__":
    main()

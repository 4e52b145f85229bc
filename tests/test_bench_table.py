"""The README's benchmark table is made from one results file (``bench/_table.py``): every
figure in it comes from that run, a missing one says so, and only the text between the
markers changes."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


table = _load("_table")

MACHINE = {
    "bench": "machine",
    "date": "2026-12-02 16:40 UTC",
    "commit": "0123456789abcdef",
    "cpu": "Intel(R) Xeon(R) Test CPU",
    "cores": 2,
    "ram_gib": 23.4,
    "python": "3.11.7",
    "sqlite": "3.40.1",
    "load_before": 0.12,
    "load_after": 1.5,
}
RESULTS = [
    MACHINE,
    {
        "bench": "ingest",
        "unbatched": {"agents": 1000, "reports_per_s": 6300.0, "scheduler_us_per_report": 98.4},
        "batched": {"agents": 1000, "window": 64, "batch": 32, "ack_p50_ms": 40, "ack_p99_ms": 120},
        "steady": {
            "agents": 10000,
            "delay_p50_ms": 2.5,
            "delay_p99_ms": 41.25,
            "loop_lag_max_ms": 31.0,
        },
        "peer": {"reports_per_s": 6000.0, "gateway_us_per_report": 101.0},
    },
    {
        "bench": "feeds",
        "events": 2000,
        "bytes": 1_810_000,
        "gzip_bytes": 48_000,
        "served_ms": 1.1,
        "gzip_ms": 0.5,
        "changed_ms": 11.7,
        "conditional_ms": 0.39,
        "peer_ms": 316.0,
    },
    {"bench": "fleet", "endpoints": 192, "parse_ms": 60.4, "import_ms": 36.0},
    {"bench": "codecs", "error": "exit 1, no figures: Traceback"},
]


def _text() -> str:
    machine, results = table.load(json.dumps(r) for r in RESULTS)
    return str(table.markdown(machine, results))


def test_the_table_names_the_machine_and_the_load_of_the_run() -> None:
    first = _text().splitlines()[0]
    assert "Intel(R) Xeon(R) Test CPU, 2 cores, 23.4 GiB RAM" in first
    assert "load average 0.12 before the run, 1.5 after" in first
    assert "2026-12-02 16:40 UTC" in first and "0123456789" in first


def test_every_figure_comes_from_the_results_with_the_peer_of_the_same_run() -> None:
    rows = {line.split(" | ")[0]: line for line in _text().splitlines() if line.startswith("|")}
    ingest = next(v for k, v in rows.items() if "stored per second from 1,000 SSH agents" in k)
    assert "| 6,300/s, 98 µs of CPU each |" in ingest
    assert "Pushgateway: 6,000 reports/s (ours at 105% of it), 101 µs of CPU each" in ingest
    acks = next(v for k, v in rows.items() if "ack wait at saturation, 1,000 agents" in k)
    assert "(64 unacked, 32 per write) | p50 40 ms, p99 120 ms |" in acks
    delay = next(v for k, v in rows.items() if "report-to-visible" in k)
    assert "10,000 agents" in delay and "p50 2.5 ms, p99 41.2 ms; loop lag 31 ms" in delay
    feed = rows["| `feeds.py`: that feed, GET / gzipped GET"]
    assert "1.10 ms / 0.50 ms" in feed and "Radicale: 316 ms" in feed
    assert (
        "| 1.81 MB / 48 KB |" in rows["| `feeds.py`: agency feed of 2,000 events, size / gzipped"]
    )
    assert "60.40 ms" not in _text() and "60 ms / 36 ms" in _text()


def test_a_failed_bench_and_a_missing_figure_say_so() -> None:
    text = _text()
    assert text.count("`codecs.py` | failed: exit 1, no figures: Traceback") == 1
    assert "Not run this time:" in text and "`national.py`" in text and "`ingest.py`," not in text
    machine, results = table.load(json.dumps(r) for r in RESULTS)
    del results["feeds"]["peer_ms"]
    feed = next(r for r in table.markdown(machine, results).splitlines() if "GET / gzipped" in r)
    assert table.MISSING in feed


def test_only_the_text_between_the_markers_is_replaced() -> None:
    readme = f"# Title\n\nintro\n\n{table.BEGIN}\nold table\n{table.END}\n\n## Next\nkept\n"
    out = table.replace_table(readme, "NEW")
    assert out == f"# Title\n\nintro\n\n{table.BEGIN}\nNEW\n{table.END}\n\n## Next\nkept\n"
    assert table.replace_table(out, "NEW") == out
    with pytest.raises(ValueError, match="markers"):
        table.replace_table("# no markers\n", "NEW")


def test_the_readme_has_the_markers() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.count(table.BEGIN) == 1 and readme.count(table.END) == 1

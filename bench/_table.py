"""The README's benchmark table, made from one run's results (``bench/results/DATE.jsonl``).

``bench/all.py`` runs every benchmark and writes their JSON lines to one file, the machine's
description first; ``markdown`` turns such a file into the table and ``replace_table`` puts it
between the README's markers. Both are pure (text in, text out) so a test can check them. To
show another figure, add a ``Row``: a missing figure reads "not in this run", never a guess.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

BEGIN = "<!-- bench-table:begin (written by bench/all.py from bench/results/; do not edit) -->"
END = "<!-- bench-table:end -->"
MACHINE = "machine"
"""The ``bench`` name of the line describing the machine and the run."""
MISSING = "not in this run"

Figures = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: the benchmark's name, what it measures (``str.format`` over its
    figures), and how its figures and its peer's read."""

    bench: str
    what: str
    ours: Callable[[Figures], str]
    peer: Callable[[Figures], str] | None = None
    target: str = "—"


def _ms(value: float) -> str:
    return f"{value:,.2f} ms" if value < 10 else f"{value:,.0f} ms"


def _peer_ratio(ours: float, peer: float | None, name: str, unit: str = "ms") -> str:
    if not peer:
        return MISSING
    text = f"{peer:,.0f} {unit}" if unit else f"{peer:,.0f}"
    share = ours / peer
    return (
        f"{name}: {text} (ours {share:.0%} of it)"
        if share >= 0.01
        else (f"{name}: {text} (ours {share:.1%} of it)")
    )


def _metrics(size: str, key: str) -> Callable[[Figures], float]:
    return lambda r: float(r["sizes"][size][key])


def _hold(r: Figures) -> float:
    big = r["sizes"]["10000"]
    return max(float(big["http_identity_hold"]), float(big["http_gzip_hold"]))


def _cli(key: str) -> Callable[[Figures], str]:
    return lambda r: ", ".join(f"{name} {ms}" for name, ms in r[key].items()) + " ms"


ROWS: tuple[Row, ...] = (
    Row(
        "booking",
        "`booking.py`: book a 192-room session against a year of history ({sessions} sessions, "
        "{busy_rows:,} busy rows)",
        lambda r: _ms(r["book_ms"]),
        target="< 5 ms",
    ),
    Row(
        "booking",
        "`booking.py`: the same refused where it collides, every conflict listed",
        lambda r: _ms(r["refuse_ms"]),
    ),
    Row(
        "booking",
        "`booking.py`: earliest free slot for 192 rooms within 30 days",
        lambda r: _ms(r["slot_ms"]),
        target="< 25 ms",
    ),
    Row(
        "booking",
        "`booking.py`: book 192 of a 619-room city on six 120-port bridges",
        lambda r: _ms(r["city_book_ms"]),
        target="< 5 ms",
    ),
    Row(
        "booking",
        "`booking.py`: rooms of that session kept on their home bridge, alone / as the third "
        "192-room session at once",
        lambda r: f"{r['city_home_alone_pct']} % / {r['city_home_third_pct']} %",
    ),
    Row(
        "ingest",
        "`ingest.py`: reports durably stored per second from {unbatched[agents]:,} SSH agents, "
        "one report per write and per ack, back to back",
        lambda r: (
            f"{r['unbatched']['reports_per_s']:,.0f}/s, "
            f"{r['unbatched']['scheduler_us_per_report']:.0f} µs of CPU each"
        ),
        lambda r: (
            _peer_ratio(
                r["unbatched"]["reports_per_s"],
                r["peer"]["reports_per_s"],
                "Pushgateway",
                "reports/s",
            ).replace("(ours ", "(ours at ")
            + f", {r['peer']['gateway_us_per_report']:.0f} µs of CPU each"
        ),
        "≥ 1.0× peer, CPU ≤ peer's",
    ),
    Row(
        "ingest",
        "`ingest.py`: ack wait at saturation, {batched[agents]:,} agents replaying spools "
        "({batched[window]} unacked, {batched[batch]} per write)",
        lambda r: (
            f"p50 {r['batched']['ack_p50_ms']:.0f} ms, p99 {r['batched']['ack_p99_ms']:.0f} ms"
        ),
        target="p99 < 250 ms",
    ),
    Row(
        "ingest",
        "`ingest.py`: report-to-visible delay and longest loop lag, {steady[agents]:,} agents "
        "each sending a report every 10 s",
        lambda r: (
            f"p50 {r['steady']['delay_p50_ms']:.1f} ms, p99 {r['steady']['delay_p99_ms']:.1f} ms; "
            f"loop lag {r['steady']['loop_lag_max_ms']:.0f} ms"
        ),
        target="p99 < 50 ms, lag < 50 ms",
    ),
    Row(
        "metrics",
        "`metrics.py`: `/metrics` at 10,000 endpoints, after every endpoint reported",
        lambda r: _ms(_metrics("10000", "churn")(r)),
        lambda r: _peer_ratio(
            _metrics("10000", "churn")(r), r["peer_10000_ms"], "prometheus-client generate_latest"
        ),
        "≤ 20 % of peer",
    ),
    Row(
        "metrics",
        "`metrics.py`: longest event-loop hold during a 10,000-endpoint scrape",
        lambda r: _ms(_hold(r)),
        target="< 50 ms",
    ),
    Row(
        "metrics",
        "`metrics.py`: `/metrics` at 192 / 1,000 endpoints",
        lambda r: f"{_ms(_metrics('192', 'churn')(r))} / {_ms(_metrics('1000', 'churn')(r))}",
        lambda r: (
            "prometheus-client over the same families: "
            f"{_ms(_metrics('192', 'client')(r))} / {_ms(_metrics('1000', 'client')(r))}"
        ),
    ),
    Row(
        "feeds",
        "`feeds.py`: agency feed of {events:,} events, size / gzipped",
        lambda r: f"{r['bytes'] / 1e6:.2f} MB / {r['gzip_bytes'] / 1e3:.0f} KB",
        target="≤ 2 MB / ≤ 300 KB",
    ),
    Row(
        "feeds",
        "`feeds.py`: that feed, GET / gzipped GET",
        lambda r: f"{_ms(r['served_ms'])} / {_ms(r['gzip_ms'])}",
        lambda r: _peer_ratio(r["served_ms"], r["peer_ms"], "Radicale"),
        "≤ 1/4 of peer",
    ),
    Row(
        "feeds",
        "`feeds.py`: first GET after one session changed",
        lambda r: _ms(r["changed_ms"]),
        lambda r: _peer_ratio(r["changed_ms"], r["peer_ms"], "Radicale"),
        "≤ peer",
    ),
    Row(
        "feeds",
        "`feeds.py`: conditional GET (If-None-Match)",
        lambda r: f"{_ms(r['conditional_ms'])} (304)",
        target="< 2 ms",
    ),
    Row(
        "console",
        "`console.py`: start to first full fleet screen, 192 / 1,000 endpoints",
        lambda r: (
            f"{r['first_screen_192_ms'] / 1000:.2f} / {r['first_screen_1000_ms'] / 1000:.2f} s"
        ),
        target="< 1.5 s",
    ),
    Row(
        "console",
        "`console.py`: at 10,000 endpoints, first full fleet screen / a filter typed at full "
        "speed settled",
        lambda r: (
            f"{r['first_screen_10000_ms'] / 1000:.2f} s / {r['filter_settled_10000_ms']:.0f} ms"
        ),
        target="< 1.5 s / < 300 ms",
    ),
    Row(
        "console",
        "`console.py`: CPU while 192 rooms change state every second",
        lambda r: f"{r['live_cpu_pct']} % of a core",
        target="< 15 %",
    ),
    Row(
        "agent",
        "`agent.py`: the real agent reporting every {interval_s:g} s to a real scheduler, "
        "sampled for {seconds:g} s",
        lambda r: f"{r['rss_mb_median']} MB RSS, {r['cpu_percent_of_a_core']} % of a core",
        target="< 35 MB",
    ),
    Row(
        "agent",
        "`agent.py --footprint`: `pip install ./agents` in a fresh venv, minus the empty venv",
        lambda r: f"{r['installed_mb']} MiB",
        target="≤ 25 MB",
    ),
    Row(
        "history",
        "`history.py`: health history for a year at {fleet:,} rooms (changes / minutes / hours "
        "/ latest), from {rooms_sampled} rooms × {hours_sampled} h through the writer",
        lambda r: (
            f"{r['total_mb']:,} MB ({r['changes_mb']} / {r['minutes_mb']} / {r['hours_mb']} / "
            f"{r['latest_mb']}); {r['writer_us_per_report']} µs of CPU per report"
        ),
        target="< 2 GB with the national year",
    ),
    Row(
        "national",
        "`national.py`: 10,000 rooms, a year of {sessions:,} sessions ({busy_rows:,} busy rows) "
        "built through the booking service",
        lambda r: f"{r['build_s']} s",
    ),
    Row(
        "national",
        "`national.py`: a month ({listed_month:,} sessions) / a week listed with their sittings, "
        "in the process",
        lambda r: f"{_ms(r['list_month_ms'])} / {_ms(r['list_week_ms'])}",
    ),
    Row(
        "national",
        "`national.py`: a month listed through the API (real `serve`, real HTTP)",
        lambda r: _ms(r["api_list_month_ms"]),
        target="< 150 ms",
    ),
    Row(
        "national",
        "`national.py`: a session's detail through the API, alone / while months are listed",
        lambda r: f"{_ms(r['api_detail_ms'])} / {_ms(r['api_detail_while_listing_ms'])}",
        target="< 20 ms",
    ),
    Row(
        "national",
        "`national.py`: `serve` restarted on that year: first API read after launch / RSS "
        "(peak after the reads)",
        lambda r: (
            f"{r['first_read_after_launch_s']} s / {r['serve_rss_mb']} MB "
            f"({r['serve_peak_rss_mb']} MB)"
        ),
        target="< 1 s / < 400 MB",
    ),
    Row(
        "national",
        "`national.py`: fleet health through the API, whole / a page of 200 / If-None-Match "
        "(304) / since a token, nothing changed",
        lambda r: (
            f"{_ms(r['health_ms'])} ({r['health_kb']} kB) / {_ms(r['health_page_ms'])} / "
            f"{_ms(r['health_304_ms'])} / {_ms(r['health_since_ms'])}"
        ),
    ),
    Row(
        "national",
        "`national.py`: CLI commands at 10,000 rooms, each less `confsched --version` "
        "({cli_start_up_ms} ms)",
        _cli("cli_own_ms"),
        target="< 150 ms (a month's listing < 300 ms)",
    ),
    Row(
        "national",
        "`national.py`: the same commands' own CPU time (user + system), less `--version`'s "
        "({cli_start_up_cpu_ms} ms)",
        _cli("cli_own_cpu_ms"),
    ),
    Row(
        "national",
        "`national.py`: the data directory for that year",
        lambda r: f"{r['disk_mb']:,.0f} MB",
        target="< 2 GB",
    ),
    Row(
        "fleet",
        "`fleet.py`: parse and validate the sample province / import it into a fresh store",
        lambda r: f"{_ms(r['parse_ms'])} / {_ms(r['import_ms'])}",
    ),
    Row(
        "reconnect",
        "`reconnect.py --agents {agents:,}`: every agent back after a `kill -9` restart / after "
        "a cold start",
        lambda r: (
            f"{r['restart']['all_back_s']} s / {r['cold_start']['all_back_s']} s, "
            f"{r['restart']['refused_logins']} logins refused"
        ),
        target="< 60 s / < 90 s at 10,000 agents",
    ),
    Row(
        "codecs",
        "`codecs.py`: polling {codecs} simulated codecs every {interval_s:g} s",
        lambda r: f"{r['cpu_share_of_a_core'] * 100:.1f} % of a core",
        target="< 5 %",
    ),
    Row(
        "codecs",
        "`codecs.py`: camera unplugged → down on the board",
        lambda r: f"{min(r['fault_to_state_s'])}–{max(r['fault_to_state_s'])} s",
        target="< one interval",
    ),
)


def load(lines: Iterable[str]) -> tuple[Figures, dict[str, Figures]]:
    """The machine's line and each benchmark's figures (its last line, if it ran twice)."""
    machine: Figures = {}
    results: dict[str, Figures] = {}
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        if record.get("bench") == MACHINE:
            machine = record
        else:
            results[str(record["bench"])] = record
    return machine, results


def _cell(make: Callable[[Figures], str] | None, figures: Figures) -> str:
    if make is None:
        return "—"
    try:
        return make(figures)
    except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError):
        return MISSING  # a figure this run did not produce (a bench failed or changed its line)


def machine_text(machine: Figures) -> str:
    """The sentence above the table: what ran it, where, under which load."""
    return (
        f"Figures from one run of `python bench/all.py` on {machine.get('date', '?')} "
        f"(commit {str(machine.get('commit', '?'))[:10]}): {machine.get('cpu', '?')}, "
        f"{machine.get('cores', '?')} cores, {machine.get('ram_gib', '?')} GiB RAM, "
        f"Python {machine.get('python', '?')}, SQLite {machine.get('sqlite', '?')}; "
        f"load average {machine.get('load_before', '?')} before the run, "
        f"{machine.get('load_after', '?')} after. Peers ran in the same run, side by side."
    )


def markdown(machine: Figures, results: Mapping[str, Figures]) -> str:
    """The table (and the sentence naming the machine) for the README."""
    lines = [
        machine_text(machine),
        "",
        "| benchmark | confsched | peer in the same run | target |",
        "| --- | --- | --- | --- |",
    ]
    failed: set[str] = set()
    for row in ROWS:
        figures = results.get(row.bench)
        if figures is None or row.bench in failed:
            continue
        if "error" in figures:
            failed.add(row.bench)
            lines.append(f"| `{row.bench}.py` | failed: {figures['error']} | — | — |")
            continue
        try:
            what = row.what.format_map(figures)
        except (KeyError, ValueError):
            what = row.what.split(":")[0]
        ours, peer = _cell(row.ours, figures), _cell(row.peer, figures)
        lines.append(f"| {what} | {ours} | {peer} | {row.target} |")
    missing = sorted({row.bench for row in ROWS} - set(results))
    if missing:
        lines += ["", "Not run this time: " + ", ".join(f"`{name}.py`" for name in missing) + "."]
    return "\n".join(lines)


def replace_table(readme: str, table: str) -> str:
    """``readme`` with the text between the markers replaced by ``table``."""
    head, begin, rest = readme.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the README has no {BEGIN!r} … {END!r} markers")
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"

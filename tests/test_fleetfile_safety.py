"""Hostile and sloppy fleet files: bounded aliases, no custom tags, strict ranges, a capped
report; never a traceback (a fuzz test over mutated files)."""

from __future__ import annotations

import resource
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confsched.errors import FleetInvalid
from confsched.fleetfile import parse_fleet_text
from tests.test_fleetfile import GOOD

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_a_billion_laughs_is_refused_fast_and_small() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()  # this process's CPU: a loaded machine does not inflate it
    with pytest.raises(FleetInvalid, match="expands to more than 400,000 values"):
        parse_fleet_text(LAUGHS, "laughs.yaml")
    assert time.process_time() - started < 1.0
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 100 * 1024


SAFETY = [
    ("custom tag", ("ports: 10", "ports: !!python/object:os.system 10"), 5, "is not allowed"),
    ("local tag", ("name: MCU 1", "name: !secret MCU 1"), 5, "tag '!secret' is not allowed"),
    ("huge number", ("ports: 10", "ports: " + "9" * 5000), 5, "not a usable value"),
    ("ports out of range", ("ports: 10", "ports: 100001"), 5, "from 1 to 100,000"),
    (
        "interval too short",
        ("timezone: Asia", "report_interval: 0s\n  timezone: Asia"),
        3,
        "1s to 1h",
    ),
    (
        "interval too long",
        ("timezone: Asia", "report_interval: 2h\n  timezone: Asia"),
        3,
        "1s to 1h",
    ),
    ("empty name", ("name: MCU 1", "name: '  '"), 5, "name must not be empty"),
    ("long name", ("name: MCU 1", "name: " + "x" * 201), 5, "at most 200"),
    (
        "not a day",
        ("timezone: Asia", "working_hours: {days: [monkey]}\n  timezone: Asia"),
        3,
        "unknown day 'monkey'",
    ),
]


@pytest.mark.parametrize(("what", "change", "line", "message"), SAFETY, ids=[s[0] for s in SAFETY])
def test_unsafe_or_out_of_range_values_are_refused_with_their_line(
    what: str, change: tuple[str, str], line: int, message: str
) -> None:
    old, new = change
    assert old in GOOD, what
    with pytest.raises(FleetInvalid) as refused:
        parse_fleet_text(GOOD.replace(old, new, 1), "f.yaml")
    located = [str(p) for p in refused.value.problems]
    assert any(p.startswith(f"f.yaml:{line}: ") and message in p for p in located), located


def test_thousands_of_problems_print_the_first_fifty_and_the_count() -> None:
    rooms = "".join(
        f"  - {{id: r{i}, name: R, site: nowhere, agency: ubnd}}\n" for i in range(3000)
    )
    with pytest.raises(FleetInvalid) as refused:
        parse_fleet_text(GOOD + rooms, "f.yaml")
    lines = str(refused.value).splitlines()
    assert len(refused.value.problems) == 3000
    assert len(lines) == 51 and lines[-1] == "… 3000 problems in all; the first 50 shown"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    position=st.integers(0, len(GOOD)),
    cut=st.integers(0, 12),
    insert=st.sampled_from(
        ["", ":", "- ", "{", "}", "[", "&x ", "*x", "!t ", "\t", "  ", "'", "é"]
    ),
)
def test_no_mutated_fleet_file_raises_anything_but_a_refusal(
    position: int, cut: int, insert: str
) -> None:
    text = GOOD[:position] + insert + GOOD[position + cut :]
    try:
        parse_fleet_text(text, "f.yaml")
    except FleetInvalid as refused:
        assert refused.problems and all(p.line >= 0 for p in refused.problems)

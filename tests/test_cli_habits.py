"""What CLI users expect of ``confsched``: examples in every --help, the documented exit codes,
``--data`` before the command, suggestions for a mistyped command, date-only windows, a warning
for a booking outside working hours, and shell completion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SAMPLE
from tests.test_cli_booking import MONDAY, booked_id


def every_command() -> list[list[str]]:
    from confsched.cli import cli as group

    def walk(command: Any, path: list[str]) -> Any:
        yield path
        for name in getattr(command, "list_commands", lambda ctx: [])(None):
            yield from walk(command.get_command(None, name), [*path, name])

    return list(walk(group, []))


@pytest.mark.parametrize("path", every_command(), ids=" ".join)
def test_every_help_shows_an_example(cli: Any, path: list[str]) -> None:
    result = cli(*path, "--help", data=None)
    assert result.code == 0, path
    assert "Example" in result.out and "  confsched " in result.out, result.out


def test_top_help_documents_exit_codes_and_completion(cli: Any) -> None:
    out = cli("--help", data=None).out
    for line in ("0  done", "1  error", "2  usage", "3  booking refused", "_CONFSCHED_COMPLETE"):
        assert line in out
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for words in ("| 3 |", "_CONFSCHED_COMPLETE=bash_source", "confsched --data"):
        assert words in readme


def test_data_accepted_before_the_command(cli: Any, data_dir: Path, tmp_path: Path) -> None:
    before = cli("--data", str(data_dir), "rooms", "show", "tinh-uy", data=None)
    assert before.code == 0, before.err
    assert "Tỉnh ủy" in before.out
    # the command's own --data wins over the one before it
    own = cli("--data", str(tmp_path / "empty"), "rooms", "show", "tinh-uy")
    assert own.code == 0, own.err


def test_mistyped_command_suggests_the_nearest_and_exits_2(cli: Any) -> None:
    result = cli("sesions", "list", data=None)
    assert result.code == 2
    assert "No such command 'sesions'. Did you mean 'sessions'?" in result.err
    nested = cli("sessions", "lsit", data=None)
    assert nested.code == 2 and "Did you mean 'list'?" in nested.err


def test_over_192_rooms_is_a_refused_booking_exit_3(cli: Any, tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8").rstrip("\n")
    extra = "\n".join(
        f'  - {{id: them-{i}, name: "Phòng thêm {i}", site: tinh, agency: tinh-uy, kind: pc, '
        f"address: them-{i}.example, bridge: mcu-tinh-1}}"
        for i in range(3)
    )
    bigger = tmp_path / "bigger.yaml"
    bigger.write_text(f"{text}\n{extra}\n", encoding="utf-8")
    data = tmp_path / "big"
    assert cli("rooms", "import", str(bigger), data=data).code == 0
    refused = cli("book", "Họp", "--start", f"{MONDAY} 08:00", "--duration", "1h",
                  "--with", "all", data=data)  # fmt: skip
    assert refused.code == 3
    assert "195 endpoints chosen; a session holds at most 192" in refused.err
    assert cli("sessions", "list", "--json", data=data).json() == []


def test_date_alone_in_from_and_to_means_its_midnight(cli: Any) -> None:
    booked = cli("book", "Giao ban", "--start", f"{MONDAY} 08:00", "--duration", "1h",
                 "--with", "tinh-uy")  # fmt: skip
    session_id = booked_id(booked.out)
    found = cli("sessions", "list", "--from", MONDAY, "--json").json()
    assert [s["id"] for s in found] == [session_id]  # type: ignore[index]
    before = cli("sessions", "list", "--to", MONDAY, "--json").json()
    assert before == []
    bad = cli("sessions", "list", "--from", "2026-13-01")
    assert bad.code == 1 and "bad time '2026-13-01'" in bad.err


def test_booking_outside_working_hours_is_booked_with_a_warning(cli: Any) -> None:
    late = cli("book", "Họp tối", "--start", f"{MONDAY} 20:00", "--duration", "1h",
               "--with", "tinh-uy")  # fmt: skip
    assert late.code == 0, late.err
    assert "warning: 20:00–21:00 is outside working hours (07:30–17:00); booked anyway" in late.err
    assert late.out.startswith("Booked ")
    usual = cli("book", "Giao ban", "--start", f"{MONDAY} 08:00", "--duration", "1h",
                "--with", "tinh-uy")  # fmt: skip
    assert usual.code == 0 and "warning" not in usual.err


def test_shell_completion_completes_commands() -> None:
    env = {**os.environ, "_CONFSCHED_COMPLETE": "bash_complete",
           "COMP_WORDS": "confsched sess", "COMP_CWORD": "1"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", "from confsched.cli import main; main()"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "plain,sessions" in done.stdout, done.stderr

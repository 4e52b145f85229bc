"""``confsched rooms``: import, list, show — and clear one-line errors, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLE


def test_rooms_list_json_gives_192_endpoints_with_area_and_agency(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("rooms", "list", "--json")
    assert result.code == 0, result.err
    rooms = result.json()
    assert len(rooms) == 192
    commune = next(r for r in rooms if r["id"] == "dt-la-bang")
    assert commune["area_name"] == "Huyện Đại Từ"
    assert commune["agency_name"] == "UBND xã La Bằng"


def test_rooms_show_keeps_vietnamese_diacritics(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("rooms", "show", "dhy-hoa-thuong")
    assert result.code == 0
    assert "Phòng họp UBND xã Hóa Thượng" in result.out
    assert "Huyện Đồng Hỷ" in result.out


def test_reimport_of_same_file_changes_nothing(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("rooms", "import", str(SAMPLE))
    assert result.code == 0
    assert "no changes" in result.out


def test_reimport_reports_what_changed(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    edited = tmp_path / "edited.yaml"
    text = SAMPLE.read_text(encoding="utf-8").replace("ports: 96", "ports: 100")
    edited.write_text(text, encoding="utf-8")
    result = cli("rooms", "import", str(edited), "--json")
    assert result.code == 0
    assert result.json()["bridges"]["updated"] == ["mcu-tinh-2"]


def test_deleting_one_line_reports_only_that_room(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    edited = tmp_path / "edited.yaml"
    edited.write_text("".join(x for x in lines if '{id: tinh-uy, name: "Phòng' not in x), "utf-8")
    result = cli("rooms", "import", str(edited))
    assert result.code == 0, result.err
    assert result.out.strip() == "endpoints: 1 removed"
    rooms = cli("rooms", "list", "--json").json()
    assert [r["id"] for r in rooms[:2]] == ["ubnd-tinh", "hdnd-tinh"]  # order kept


def test_changed_fleet_settings_are_reported_by_name(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    edited = tmp_path / "edited.yaml"
    text = SAMPLE.read_text(encoding="utf-8").replace("report_interval: 10s", "report_interval: 5s")
    edited.write_text(text, encoding="utf-8")
    result = cli("rooms", "import", str(edited))
    assert result.code == 0, result.err
    assert result.out.strip() == "fleet settings: report_interval"
    assert cli("rooms", "import", str(edited), "--json").json()["settings"] == []


@pytest.mark.parametrize(
    ("selector", "message"),
    [("distrct:h-dai-tu", "unknown selector key 'distrct'"), ("level:cluster", "no level")],
)
def test_rooms_list_names_a_wrong_selector_and_exits_1(cli, selector: str, message: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("rooms", "list", "--with", selector)
    assert result.code == 1
    assert message in result.err and "Traceback" not in result.err


def test_unknown_endpoint_is_one_line_error_and_exit_1(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("rooms", "show", "atlantis")
    assert result.code == 1
    assert result.err.strip() == "error: unknown endpoint 'atlantis'"


def test_broken_fleet_file_prints_file_line_and_fails(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        SAMPLE.read_text(encoding="utf-8").replace("ports: 120", "ports: zero"), encoding="utf-8"
    )
    result = cli("rooms", "import", str(broken))
    assert result.code == 1
    assert f"{broken}:13: ports must be a whole number" in result.err
    assert "Traceback" not in result.err
    assert cli("rooms", "show", "tinh-uy").code == 0


def test_list_before_any_import_says_what_to_do(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("rooms", "list", data=tmp_path / "empty")
    assert result.code == 1
    assert "rooms import" in result.err


def test_every_command_has_help(cli) -> None:  # type: ignore[no-untyped-def]
    from confsched.cli import cli as group

    def walk(command, path):  # type: ignore[no-untyped-def]
        yield path
        for name in getattr(command, "list_commands", lambda ctx: [])(None):
            yield from walk(command.get_command(None, name), [*path, name])

    for path in walk(group, []):
        result = cli(*path, "--help", data=None)
        assert result.code == 0, path
        assert "Usage:" in result.out, path


def test_console_script_runs_from_a_fresh_interpreter(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "confsched.cli",
            "rooms",
            "import",
            str(SAMPLE),
            "--data",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "endpoints: 192 added" in done.stdout


def test_every_command_is_documented_in_the_readme() -> None:
    from confsched.cli import COMMANDS
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in COMMANDS if f"confsched {name}" not in readme]
    assert not missing, f"README does not show: {missing}"


@pytest.mark.parametrize("option", ["--http", "--ssh"])
def test_serve_refuses_a_bad_listen_address(cli, option: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("serve", option, "localhost")
    assert result.code == 1
    assert (
        result.err.strip() == f"error: {option} 'localhost' must be HOST:PORT, e.g. 127.0.0.1:8080"
    )

"""A mistyped ``--data`` is said so, and leaves nothing behind (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SAMPLE


@pytest.mark.parametrize(
    "args",
    [
        ("rooms", "list"),
        ("rooms", "show", "tinh-uy"),
        ("health",),
        ("sessions", "list"),
        ("sessions", "risk"),
        ("feeds", "list"),
        ("tokens", "list"),
        ("agents", "list"),
        ("rooms", "import", str(SAMPLE), "--check"),
    ],
)
def test_a_command_on_a_missing_store_says_so_and_creates_nothing(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, args: tuple[str, ...]
) -> None:
    typo = tmp_path / "confsched-dta"
    result = cli(*args, data=typo)
    assert result.code == 1
    assert f"no store at {typo}" in result.err
    assert "Traceback" not in result.err
    assert not typo.exists()


def test_an_import_creates_the_store(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fresh = tmp_path / "new-data"
    assert cli("rooms", "import", str(SAMPLE), data=fresh).code == 0
    assert (fresh / "confsched.db").is_file()
    assert cli("rooms", "list", data=fresh).code == 0

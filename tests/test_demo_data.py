"""The demo never eats real data: it runs in its own directory (./confsched-demo unless --data
says otherwise; never $CONFSCHED_DATA) and refuses, changing nothing, a directory that holds a
fleet it did not make (it once re-enrolled 192 keys over a real fleet's, locking out its agent)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from confsched.demo import claim_demo_directory
from confsched.errors import InvalidInput
from confsched.store.db import DB_NAME, open_db
from confsched.store.demo_mark import peek_fleet


def listing(directory: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``directory``: mode, mtime and content digest."""
    found = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(directory))] = (stat.st_mode, stat.st_mtime_ns, digest)
    return found


def test_demo_refuses_a_real_fleet_in_one_line_and_changes_nothing(cli, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    before = listing(data_dir), data_dir.stat().st_mode
    result = cli("demo", "--headless", data=data_dir)
    assert result.code == 1
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert f"{data_dir} holds the fleet 'Tỉnh Thái Nguyên' (192 rooms), not a demo's" in result.err
    assert "leave out --data (it uses ./confsched-demo)" in result.err
    assert (listing(data_dir), data_dir.stat().st_mode) == before


def test_demo_refuses_the_store_of_a_running_scheduler_and_leaves_its_wal_alone(
    data_dir: Path,
) -> None:
    """With a scheduler on the store its fleet may be in the WAL only: read through it."""
    serving = open_db(data_dir)
    serving.execute("UPDATE fleet_meta SET value = 'Tỉnh Bắc Kạn' WHERE key = 'name'")
    try:
        before = sorted(p.name for p in data_dir.iterdir())
        with pytest.raises(InvalidInput, match="holds the fleet 'Tỉnh Bắc Kạn'"):
            claim_demo_directory(data_dir)
        assert sorted(p.name for p in data_dir.iterdir()) == before
    finally:
        serving.close()


def test_the_default_is_the_demos_own_directory_whatever_confsched_data_says(
    cli,  # type: ignore[no-untyped-def]
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No --data: ./confsched-demo, not $CONFSCHED_DATA (the real scheduler's). A real fleet
    copied there is refused by name, which shows where the demo looked."""
    work = tmp_path / "work"
    shutil.copytree(data_dir, work / "confsched-demo")
    monkeypatch.chdir(work)
    monkeypatch.setenv("CONFSCHED_DATA", str(tmp_path / "real"))
    result = cli("demo", "--headless", data=None)
    assert result.code == 1
    assert result.err.startswith("error: confsched-demo holds the fleet")
    assert not (tmp_path / "real").exists()


def test_a_new_or_empty_directory_becomes_the_demos_and_stays_so(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    claim_demo_directory(fresh)
    assert peek_fleet(fresh) is None  # no fleet yet: the demo's serve imports it
    db = open_db(fresh)
    db.execute("INSERT INTO fleet_meta (key, value) VALUES ('name', 'Tỉnh mẫu')")
    db.close()
    stored = peek_fleet(fresh)
    assert stored is not None and stored.demo and stored.name == "Tỉnh mẫu"
    claim_demo_directory(fresh)  # a second demo run on its own directory is welcome


def test_a_directory_whose_store_is_not_a_database_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / DB_NAME).write_bytes(b"not a database, just a file named like the store" * 20)
    with pytest.raises(InvalidInput, match="its store cannot be read"):
        claim_demo_directory(broken)

"""Files are private: the data directory 0700, the store (it holds the feed tokens) and every key
0600, whatever the umask; files an older version left open are closed on the next start. And
making them so never costs a running scheduler its view of other processes' writes."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from confsched.agentlink.keys import ensure_host_key
from confsched.codecs.secrets import Credentials, write_secrets
from confsched.config import Settings
from confsched.devsim.codec_server import start_lab
from confsched.simulate import enroll_simulated
from confsched.store.db import DB_NAME, data_version, open_db
from tests.conftest import SAMPLE, running
from tests.test_agentlink import eventually


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes_under(root: Path) -> dict[str, int]:
    """Every directory and file under ``root`` (itself included), by relative path."""
    found = {".": mode(root)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = mode(path)
    return found


def test_store_and_data_directory_are_private_under_umask_000(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with umask(0):
        db = open_db(data)
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
        modes = modes_under(data)
        db.close()
    assert {DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"} <= set(modes)
    assert modes == {".": 0o700, **dict.fromkeys(set(modes) - {"."}, 0o600)}


async def test_everything_a_scheduler_writes_in_its_data_directory_is_private_under_umask_000(
    tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    """A scheduler started on an empty directory, an agent enrolled with a bundle, an API token,
    codec secrets, simulated agents' keys and codecs' CA: directories 0700, files 0600 (the
    bundle's key too)."""
    data, bundle = tmp_path / "data", tmp_path / "bundle"
    settings = Settings(data_dir=data, rooms_file=SAMPLE, http_port=0, ssh_port=0)
    with umask(0):
        async with running(settings):
            enrolled = cli("agents", "enroll", "dt-la-bang", "--bundle", str(bundle), data=data)
            assert enrolled.code == 0, enrolled.err
            assert cli("tokens", "create", "--name", "wall", "--viewer", data=data).code == 0
            write_secrets(data, {"tinh-uy": Credentials("admin", "mật khẩu")})
            enroll_simulated(data, ["dt-cu-van"])
            lab = await start_lab([], tls_dir=data / "simulated-codecs")
            await lab.close()
            # serve opens its port first, then makes the feeds' cache
            await eventually(lambda: (data / "calendar-cache.db").exists(), timeout=10)
            modes = modes_under(data)
    assert {"operator.token", "ssh_host_ed25519_key", "agent-keys/dt-la-bang.key"} <= set(modes)
    assert {"agent-keys/dt-cu-van.key", "codec-secrets.toml", f"{DB_NAME}-wal"} <= set(modes)
    assert {"calendar-cache.db", "simulated-codecs/codec-ca.key"} <= set(modes)
    dirs = {p for p in modes if p == "." or (data / p).is_dir()}
    assert modes == {**dict.fromkeys(dirs, 0o700), **dict.fromkeys(set(modes) - dirs, 0o600)}
    assert mode(bundle / "dt-la-bang.key") == 0o600


def test_files_an_older_version_left_readable_are_closed_on_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    open_db(data).close()
    ensure_host_key(data)
    data.chmod(0o755)
    for path in (data / DB_NAME, data / "ssh_host_ed25519_key"):
        path.chmod(0o644)
    open_db(data).close()
    ensure_host_key(data)
    assert mode(data) == 0o700
    assert mode(data / DB_NAME) == mode(data / "ssh_host_ed25519_key") == 0o600


WRITE_AND_CLOSE = """
import sys, sqlite3
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("INSERT INTO t VALUES (2)")
conn.close()
"""


def test_opening_the_store_again_leaves_other_processes_writes_visible(tmp_path: Path) -> None:
    """A second connection opened in this process (each server thread opens its own) must not
    drop the first one's locks: a CLI process closing its own connection would then delete the
    WAL under the server, which stops seeing later writes. An earlier attempt at private files
    opened and closed the store file on every open, and did exactly that."""
    data = tmp_path / "data"
    first = open_db(data)
    first.execute("CREATE TABLE t (x)")
    first.execute("INSERT INTO t VALUES (1)")
    before = data_version(first)
    second = open_db(data)
    try:
        subprocess.run(
            [sys.executable, "-c", WRITE_AND_CLOSE, str(data / DB_NAME)], check=True, timeout=60
        )
        assert (data / f"{DB_NAME}-wal").exists(), "another process deleted the live WAL"
        assert data_version(first) != before
        assert [r[0] for r in first.execute("SELECT x FROM t ORDER BY x")] == [1, 2]
    finally:
        second.close()
        first.close()


@pytest.mark.parametrize("name", ["confsched.db-wal", "confsched.db-shm"])
def test_a_wal_file_left_readable_is_closed_on_open(tmp_path: Path, name: str) -> None:
    data = tmp_path / "data"
    keep = open_db(data)  # keeps the WAL and -shm in place
    keep.execute("CREATE TABLE t (x)")
    (data / name).chmod(0o644)
    open_db(data).close()
    assert mode(data / name) == 0o600
    keep.close()

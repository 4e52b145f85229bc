"""What the wheels ship: the product and nothing of the tests.

Built from a copy of the tracked files (a stale ``build/`` in a working tree would otherwise
put deleted modules back into the wheel), with pip's build isolation, as a user's install does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tracked_copy(target: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _wheel_names(project: Path, out: Path) -> list[str]:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(project)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tracked_copy(tmp_path_factory.mktemp("tree"))


def test_the_scheduler_wheel_holds_the_product_and_no_fake(tree: Path, tmp_path: Path) -> None:
    names = _wheel_names(tree, tmp_path)
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"confsched", "confsched_agent", "confsched_tui"}  # no `agents`, `tui`, `tests`
    assert not [n for n in names if "fake" in n or "synthetic" in n]
    assert "confsched/sample_rooms.yaml" in names
    assert "confsched/examples/thai-nguyen-2025.yaml" in names
    assert "confsched_agent/wire.py" in names
    assert "confsched_tui/locale/vi/LC_MESSAGES/confsched_tui.po" in names


def test_the_console_wheel_ships_its_vietnamese_catalog(tree: Path, tmp_path: Path) -> None:
    """The console compiles its ``.po`` when it starts: the wheel must carry it."""
    names = _wheel_names(tree / "tui", tmp_path)
    assert "confsched_tui/locale/vi/LC_MESSAGES/confsched_tui.po" in names
    assert "confsched_tui/console.tcss" in names


def test_the_agent_wheel_holds_only_the_agent(tree: Path, tmp_path: Path) -> None:
    names = _wheel_names(tree / "agents", tmp_path)
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"confsched_agent"}
    assert not [n for n in names if "fake" in n or "test" in n.lower()]

"""The import contracts (pyproject.toml, run by .ci/run) hold, and a layering mutant breaks them.

The mutant is the one a review found passing the older fresh-interpreter test: the domain
importing the store. It is planted in a copy of the packages, so the tree under test stays clean.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")


def lint(cwd: Path, pythonpath: list[Path]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, pythonpath))}
    return subprocess.run(
        [str(LINT), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def copy_tree(tmp: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "confsched", tmp / "confsched", ignore=ignore)
    shutil.copytree(ROOT / "agents" / "confsched_agent", tmp / "confsched_agent", ignore=ignore)
    shutil.copytree(ROOT / "tui" / "confsched_tui", tmp / "confsched_tui", ignore=ignore)
    return tmp


def test_the_tree_keeps_every_contract() -> None:
    result = lint(ROOT, [ROOT, ROOT / "agents", ROOT / "tui"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_domain_importing_the_store_breaks_the_contracts(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    mutant = tree / "confsched" / "domain" / "mutant.py"
    mutant.write_text("from confsched.store import db  # noqa: F401\n", encoding="utf-8")
    result = lint(tree, [tree])
    assert result.returncode != 0
    assert "confsched.domain.mutant -> confsched.store.db" in result.stdout
    assert "BROKEN" in result.stdout

"""Puts the repository root on ``sys.path``, so a benchmark can use the fakes in ``tests.fakes``,
finds the peers the benchmarks compare against, and prints a benchmark's figures as the one
machine-readable line that ``bench/all.py`` collects.

Import it before anything from ``tests``: ``import _repo  # noqa: F401``.
"""

import json
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def find_peer(script: str, explicit: Path | None) -> Path | None:
    """The peer ``script`` in ``--peers DIR``, else in ``shared/peers/`` beside the checkout or
    one of its parents; None when it is not there."""
    if explicit is not None:
        return explicit / script if (explicit / script).exists() else None
    for parent in ROOT.parents:
        candidate = parent / "shared" / "peers" / script
        if candidate.exists():
            return candidate
    return None


def emit(bench: str, figures: Mapping[str, object]) -> None:
    """Prints ``{"bench": NAME, ...figures}`` on one line, the last a benchmark prints: the
    figures as a script reads them (``bench/all.py`` keeps the last line that parses and has
    ``"bench"``), besides the text a person reads. Call it once, at the end."""
    line = json.dumps({"bench": bench, **figures}, ensure_ascii=False, default=str)
    print(line, flush=True)

"""Puts the repository root on ``sys.path``, so a benchmark can use the fakes in ``tests.fakes``,
and finds the peers the benchmarks compare against.

Import it before anything from ``tests``: ``import _repo  # noqa: F401``.
"""

import sys
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

"""Puts the repository root on ``sys.path``, so a benchmark can use the fakes in ``tests.fakes``.

Import it before anything from ``tests``: ``import _repo  # noqa: F401``.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

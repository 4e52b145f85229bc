"""Long reads give way to short ones: a checkpoint that any loop of a long read calls.

The server runs a listing (a month at national scale: 1,100 sessions, 5 MB of JSON) on a
long-read thread of :class:`~confsched.store.runner.StoreRunner`, which sets that thread's
pause here for the read's duration. :func:`checkpoint` then waits while short reads (a
session's detail) are in flight, so they get the GIL instead of queueing for it behind the
listing. Anywhere else (the CLI, short reads, tests) a checkpoint does nothing: the loops that
call it need not know who runs them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

_local = threading.local()


def checkpoint() -> None:
    """A point between two steps of a few hundred microseconds at most where a long read may
    wait for short reads; a no-op outside a long read."""
    pause: Callable[[], None] | None = getattr(_local, "pause", None)
    if pause is not None:
        pause()


def paced(items: Iterable[T]) -> Iterator[T]:
    """``items``, with a checkpoint before each (rows read in bulk, then decoded one by one)."""
    for item in items:
        checkpoint()
        yield item


@contextmanager
def pausing(pause: Callable[[], None]) -> Iterator[None]:
    """Within: this thread's checkpoints call ``pause``."""
    _local.pause = pause
    try:
        yield
    finally:
        _local.pause = None

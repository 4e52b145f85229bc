"""Completion for the booking form's inputs (a Textual suggester; accept with →)."""

from __future__ import annotations

from collections.abc import Iterable

from textual.suggester import Suggester


class Completer(Suggester):
    """Completes the value (or, with ``multiple``, the last comma-separated item) from a list.

    Candidates keep their order: put the likeliest first (``all`` before endpoint ids).
    """

    def __init__(self, candidates: Iterable[str] = (), *, multiple: bool = False) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self.multiple = multiple
        self.candidates: list[str] = list(candidates)

    async def get_suggestion(self, value: str) -> str | None:
        return complete(value, self.candidates, self.multiple)


def complete(value: str, candidates: list[str], multiple: bool) -> str | None:
    head, sep, last = value.rpartition(",") if multiple else ("", "", value)
    item = last.lstrip()
    if not item:
        return None
    lead = last[: len(last) - len(item)]
    for candidate in candidates:
        if candidate.casefold().startswith(item.casefold()) and len(candidate) > len(item):
            return f"{head}{sep}{lead}{candidate}"
    return None


def selector_candidates(
    endpoint_ids: Iterable[str],
    levels: Iterable[str],
    areas: Iterable[tuple[str, str]],
    tags: Iterable[str],
) -> list[str]:
    """What ``with`` accepts: groups first (levels, then each area as ``under:`` and as its
    level's key, ``district:h-dai-tu``), then every endpoint id."""
    chosen = list(areas)
    groups = ["all", *(f"level:{name}" for name in levels)]
    groups += [f"under:{a}" for a, _level in chosen]
    groups += [f"{level}:{a}" for a, level in chosen if level]
    groups += [f"tag:{t}" for t in sorted(set(tags))]
    return [*groups, *endpoint_ids]

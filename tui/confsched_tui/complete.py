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
    endpoint_ids: Iterable[str], districts: Iterable[str], tags: Iterable[str]
) -> list[str]:
    """What ``with`` accepts: groups first, then every endpoint id."""
    groups = ["all", "level:province", "level:district", "level:commune"]
    groups += [f"district:{d}" for d in districts]
    groups += [f"tag:{t}" for t in sorted(set(tags))]
    return [*groups, *endpoint_ids]

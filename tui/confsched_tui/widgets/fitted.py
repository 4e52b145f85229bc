"""An input whose placeholder is the longest of its readings that fits its width."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from textual import events
from textual.suggester import Suggester
from textual.widgets import Input


def fitting(forms: Sequence[str], width: int) -> str:
    """The first (longest) of ``forms`` that fits ``width`` cells; the last when none does,
    and the first while the width is not known yet."""
    if not forms:
        return ""
    if width <= 0:
        return forms[0]
    return next((form for form in forms if cell_len(form) <= width), forms[-1])


class FittedInput(Input):
    """``placeholders`` longest first: a wall screen shows the whole explanation, 80 columns
    a shorter one instead of the first words of the long one cut mid-word (a Vietnamese
    reading is often a third longer than the English)."""

    def __init__(
        self,
        value: str | None = None,
        *,
        placeholders: Sequence[str] = (),
        suggester: Suggester | None = None,
        id: str | None = None,
        compact: bool = False,
    ) -> None:
        super().__init__(value, suggester=suggester, id=id, compact=compact)
        self._forms: tuple[str, ...] = ()
        self.placeholders = placeholders

    @property
    def placeholders(self) -> tuple[str, ...]:
        return self._forms

    @placeholders.setter
    def placeholders(self, forms: Sequence[str]) -> None:
        self._forms = tuple(forms)
        self._fit()

    def on_resize(self, _event: events.Resize) -> None:
        self._fit()

    def _fit(self) -> None:
        # one cell stays free for the cursor, drawn after the placeholder
        self.placeholder = fitting(self._forms, self.content_size.width - 1)

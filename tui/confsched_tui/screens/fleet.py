"""Fleet: every endpoint at a glance, counts per state, filters by state, selector or text.

Selector words (``under:h-dai-tu``, ``level:commune``, ``tag:vung-cao``) are resolved by the
scheduler (``/api/v1/select``), so the console speaks the same selector language as the CLI
and the API without a copy of it; free words and ``state:`` are matched here.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import Input

from confsched_tui.api import ApiError, ApiProblem, RouteMissing
from confsched_tui.fleetview import (
    DEFAULT_LEVELS,
    STATE_NAMES,
    STATES,
    Band,
    FleetFilter,
    Group,
    count_states,
    fill_bands,
    filter_groups,
    haystacks,
    plan_bands,
    reason_text,
)
from confsched_tui.i18n import N_, _
from confsched_tui.screens.base import LiveScreen
from confsched_tui.widgets.counts import CountsBar
from confsched_tui.widgets.fitted import FittedInput
from confsched_tui.widgets.fleet_grid import FleetGrid

FILTER_HINT = N_("/ filter: words, state:down, {selectors} — 1-5 toggle states, 0 clears")
FILTER_SHORT = N_("/ filter: words, state:down, {selectors}")
FILTER_PAUSE_S = 0.06
FOLD_CHUNK = 500
"""The filter applies once typing pauses this long: keys typed at full speed cost one redraw,
not one each (at 10,000 rooms a redraw is tens of milliseconds)."""


def filter_hints(*selectors: str) -> list[str]:
    """The filter's hint with fewer examples, then without its keys, longest first."""
    return [_(hint).format(selectors=s) for hint in (FILTER_HINT, FILTER_SHORT) for s in selectors]


class FleetScreen(LiveScreen):
    REFRESH_EVERY = 5.0
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", N_("Filter")),
        *(
            Binding(str(n), f"toggle_state('{s}')", STATE_NAMES[s], show=False)
            for n, s in enumerate(STATES, start=1)
        ),
        Binding("0", "clear_filter", N_("Clear filter"), show=False),
        Binding("r", "reload", N_("Reload"), show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.ordered: list[dict[str, Any]] = []
        self.states: dict[str, str] = {}
        self.healths: dict[str, Any] = {}
        self.reasons: dict[str, str] | None = None
        """Folded health reasons per endpoint id, made at the first ``reason:`` typed."""
        self.texts: dict[str, str] | None = None
        """Folded filter text per endpoint id, made after the first screen (``_fold_texts``),
        or at the first word typed if that comes sooner."""
        self.bands: list[Band] = []
        self.groups: list[Group] = []
        self._pending_filter: Timer | None = None
        self.chosen_states: set[str] = set()
        self.health_missing = False
        self.levels: list[str] = []
        self.resolved: dict[str, tuple[frozenset[str], str]] = {}
        """Per selector word the scheduler answered for: the ids it chose, and why none ("")."""
        self.resolving: set[str] = set()
        self.resolved_for_good: set[str] = set()
        """Words the scheduler itself refused (an unknown key): no use asking again."""

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield CountsBar(id="counts")
        yield FittedInput(placeholders=filter_hints("under:SITE, tag:…"), id="fleet-filter",
                          compact=True)  # fmt: skip
        yield FleetGrid(id="grid")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.sub_title = _("Fleet")
        self.query_one(FleetGrid).focus()

    async def load(self) -> None:
        console = self.console
        # together, and a failure of both is one failure: an unreachable scheduler used to
        # leave the health fetch's error unread ("Task exception was never retrieved")
        catalog, states = await asyncio.gather(console.catalog.get(), self._health())
        if states and not catalog.knows(states):
            catalog = await console.catalog.get(must_know=states)
        if states == self.states and catalog.endpoints is self.ordered:
            return
        if catalog.endpoints is not self.ordered:
            self.texts = None
            self.resolved.clear()  # the inventory changed: resolve the selectors again
            self.resolved_for_good.clear()
            examples = catalog.examples()
            hints = filter_hints(*(examples.selectors(n) for n in (3, 2, 1)))
            self.query_one("#fleet-filter", FittedInput).placeholders = hints
            self.levels = catalog.levels()
            self.bands = plan_bands(catalog.endpoints, self.levels or DEFAULT_LEVELS)
        self.ordered = catalog.endpoints
        self.endpoints = catalog.by_id
        self.states = states
        self.groups = fill_bands(self.bands, states)
        self.refresh_view()
        if self.texts is None:
            self._fold_texts(self.ordered)

    @work(exclusive=True, group="fold", exit_on_error=False)
    async def _fold_texts(self, endpoints: list[dict[str, Any]]) -> None:
        """The filter's folded text of every room, made after the first screen a few hundred
        rooms at a time (the console stays quick to keys meanwhile), so the first word typed
        does not wait for 10,000 rooms to be folded."""
        texts: dict[str, str] = {}
        for start in range(0, len(endpoints), FOLD_CHUNK):
            texts.update(haystacks(endpoints[start : start + FOLD_CHUNK]))
            await asyncio.sleep(0)
        if endpoints is self.ordered and self.texts is None:
            self.texts = texts

    async def _health(self) -> dict[str, str]:
        try:
            health = await self.console.prefetched_health() or await self.console.api.health()
        except RouteMissing:
            if not self.health_missing:
                self.notify(_("this scheduler reports no health yet: every room shows unknown"))
            self.health_missing = True
            return {}
        entries = health.get("endpoints") or []
        self.healths = {str(h["endpoint"]): h for h in entries}
        self.reasons = None
        return {str(h["endpoint"]): str(h["state"]) for h in entries}

    def refresh_view(self) -> None:
        """Regroup, filter and redraw from what was last loaded (no network)."""
        text = self.query_one("#fleet-filter", Input).value
        wanted = FleetFilter.parse(text, self.chosen_states)
        selected, selection_problem = self._selection(wanted.selectors)
        if wanted.words and self.texts is None:
            self.texts = haystacks(self.ordered)
        if wanted.reasons and self.reasons is None:
            self.reasons = {i: reason_text(h) for i, h in self.healths.items()}
        shown = filter_groups(
            self.groups, self.endpoints, wanted, self.texts, selected, self.reasons
        )
        self.query_one(FleetGrid).show(shown, self.groups)
        counts = count_states(self.states.get(str(e["id"]), "unknown") for e in self.ordered)
        visible = sum(len(g.tiles) for g in shown)
        problem = selection_problem
        if "unknown selector key" in problem:  # the scheduler's words: it knows its keys only
            problem += " " + _("(the filter also takes state: and reason:)")
        problem = "; ".join([*wanted.problems, problem] if problem else wanted.problems)
        bar = self.query_one(CountsBar)
        bar.show(counts, visible, len(self.ordered), wanted.states, problem)
        self.console.loaded("fleet", len(self.ordered))

    def _selection(self, words: tuple[str, ...]) -> tuple[frozenset[str] | None, str]:
        """The rooms every selector word chooses (each word as the CLI's ``--with``: its
        commas are "or"; the words together "and", like the other filter words), and the first
        problem; None until the scheduler has answered for each word."""
        for word in words:
            if word not in self.resolved and word not in self.resolving:
                self.resolving.add(word)
                self._resolve(word)
        if not words or any(word not in self.resolved for word in words):
            return None, ""
        answers = [self.resolved[word] for word in words]
        chosen = frozenset.intersection(*(ids for ids, _problem in answers))
        return chosen, next((problem for _ids, problem in answers if problem), "")

    @work(group="select", exit_on_error=False)
    async def _resolve(self, selectors: str) -> None:
        """Ask the scheduler which rooms one selector word chooses (or why none)."""
        try:
            self.resolved[selectors] = (frozenset(await self.console.api.select(selectors)), "")
        except ApiError as exc:
            self.resolved[selectors] = (frozenset(), exc.message)
            self.resolved_for_good.add(selectors)
        except ApiProblem as exc:
            self.resolved[selectors] = (frozenset(), str(exc))
        finally:
            self.resolving.discard(selectors)
        self.refresh_view()
        if self.resolved[selectors][1] and selectors not in self.resolved_for_good:
            del self.resolved[selectors]  # unreachable: ask again at the next redraw

    @on(Input.Changed, "#fleet-filter")
    def _filter_changed(self) -> None:
        if self._pending_filter is not None:
            self._pending_filter.stop()
        self._pending_filter = self.set_timer(FILTER_PAUSE_S, self._apply_filter)

    def _apply_filter(self) -> None:
        self._pending_filter = None
        self.refresh_view()

    @on(Input.Submitted, "#fleet-filter")
    def _filter_done(self) -> None:
        if self._pending_filter is not None:
            self._apply_filter()
        self.query_one(FleetGrid).focus()

    def key_escape(self) -> None:
        self.query_one(FleetGrid).focus()

    def action_filter(self) -> None:
        self.query_one("#fleet-filter", Input).focus()

    def action_toggle_state(self, state: str) -> None:
        self.chosen_states ^= {state}
        self.refresh_view()

    def action_clear_filter(self) -> None:
        self.chosen_states.clear()
        self.query_one("#fleet-filter", Input).value = ""
        self.refresh_view()

    def action_reload(self) -> None:
        self.request_reload()

    @on(FleetGrid.Opened)
    def _open(self, event: FleetGrid.Opened) -> None:
        from confsched_tui.screens.endpoint import EndpointScreen

        self.app.push_screen(EndpointScreen(event.endpoint_id))

"""The fleet filter speaks the CLI's language: its selectors (parsed and resolved by the
scheduler: one parser), words without diacritics, ``state:`` as ``--state`` and ``reason:``
over the health reasons; an unknown key or state is flagged on the counts bar, not ignored."""

from __future__ import annotations

from confsched_tui.app import ConsoleApp
from confsched_tui.fleetview import FleetFilter, filter_groups, group_endpoints, reason_text
from confsched_tui.screens.fleet import FleetScreen
from confsched_tui.widgets.fleet_grid import FleetGrid
from textual.widgets import Input

from confsched.runtime.components import Components
from tests.conftest import http_url
from tests.test_tui_pilot import SIZE, loaded, report, scheduler, text_of, until
from tests.test_tui_view import BY_ID, ENDPOINTS

__all__ = ["scheduler"]  # the fixture, shared with the Pilot tests


def test_reason_words_match_a_rooms_reasons_or_codes_without_diacritics() -> None:
    groups = group_endpoints(ENDPOINTS, {"tinh-uy": "down", "ioc": "degraded"})
    reasons = {
        "tinh-uy": reason_text({"reasons": ["camera missing"], "codes": ["camera"]}),
        "ioc": reason_text({"reasons": ["Mất tiếng micrô"], "codes": ["audio"]}),
    }
    for text, expected in (("reason:camera", {"tinh-uy"}), ("reason:mat", {"ioc"}),
                           ("reason:camera,audio", {"tinh-uy", "ioc"}),
                           ("reason:camera state:degraded", set())):  # fmt: skip
        wanted = FleetFilter.parse(text)
        shown = filter_groups(groups, BY_ID, wanted, reasons=reasons)
        assert {t.id for g in shown for t in g.tiles} == expected, text


def test_an_unknown_state_is_flagged_and_matches_nothing() -> None:
    wanted = FleetFilter.parse("state:dwn")
    assert wanted.problems == (
        "unknown state 'dwn' (states: ok, degraded, down, offline, unknown)",
    )
    assert filter_groups(group_endpoints(ENDPOINTS, {}), BY_ID, wanted) == []
    assert FleetFilter.parse("state:").problems  # a key without its value is flagged too
    assert FleetFilter.parse("reason:").problems
    assert FleetFilter.parse("state:down,off").states == {"down", "offline"}
    assert not FleetFilter.parse("state:down,off").problems


async def test_the_filter_finds_rooms_by_reason_and_flags_unknown_keys_and_states(
    scheduler: Components,
) -> None:
    report(scheduler, "dt-hung-son", camera=False)
    report(scheduler, "tinh-uy", camera=True)
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: loaded(app, FleetScreen))
        grid = app.screen.query_one(FleetGrid)
        box = app.screen.query_one("#fleet-filter", Input)
        box.value = "reason:camera"
        await until(pilot, lambda: [t.id for t in grid._tiles] == ["dt-hung-son"])
        box.value = "reason:camera under:h-dai-tu hung"  # with a selector and a bare word
        await until(pilot, lambda: [t.id for t in grid._tiles] == ["dt-hung-son"])
        box.value = "state:broken"
        await until(pilot, lambda: "unknown state 'broken'" in text_of(app, "#counts"))
        assert grid._tiles == []
        box.value = "reasn:camera"
        await until(pilot, lambda: "unknown selector key 'reasn'" in text_of(app, "#counts"))
        assert "state: and reason:" in text_of(app, "#counts") and grid._tiles == []


async def test_selector_words_narrow_together_and_a_words_commas_widen_as_in_with(
    scheduler: Components,
) -> None:
    fleet = scheduler.ctx.fleet.endpoints.values()
    centres = {e.id for e in fleet if "trung-tam-huyen" in e.tags}
    high = {e.id for e in fleet if "vung-cao" in e.tags}
    app = ConsoleApp(url=http_url(scheduler), token=scheduler.ctx.operator_token, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: loaded(app, FleetScreen))
        grid = app.screen.query_one(FleetGrid)
        box = app.screen.query_one("#fleet-filter", Input)
        box.value = "tag:trung-tam-huyen tag:vung-cao"
        both = centres & high
        assert both and both != centres
        await until(pilot, lambda: {t.id for t in grid._tiles} == both)
        box.value = "tag:trung-tam-huyen,tag:vung-cao"
        await until(pilot, lambda: {t.id for t in grid._tiles} == centres | high)

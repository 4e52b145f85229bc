"""The fast /metrics renderer writes exactly what prometheus-client writes for the same
families, and re-renders only what changed."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as om_generate_latest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as om_string_to_families,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.utils import floatToGoString

from confsched.domain.health import Observation
from confsched.domain.model import Endpoint, EndpointHealth, EndpointState, Fleet, Readiness
from confsched.metrics.exporter import ConfschedCollector, MetricsExporter
from confsched.metrics.families import FamiliesCollector, ScrapeInput, build_families
from confsched.metrics.render import go_float
from confsched.metrics.sources import BookingSnapshot
from tests.fakes.metrics_synthetic import (
    Entry,
    FakeHealthBoard,
    fill_board,
    fixed_now,
    observation,
    report_all,
    synthetic_booking,
    synthetic_fleet,
)

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
NOW = fixed_now()


class Scene:
    """A fleet, a fake board and a booking snapshot; ``read`` is what the exporter scrapes."""

    def __init__(self, fleet: Fleet, seed: int = 7) -> None:
        self.rnd = random.Random(seed)
        self.fleet = fleet
        self.board = fill_board(fleet, NOW, self.rnd, silent=0.05)
        self.booking = synthetic_booking(fleet, NOW, self.rnd)
        self.now = NOW.timestamp() + 5
        self.refusals = {"ports": 2, "endpoint_conflict": 5}

    def read(self) -> ScrapeInput:
        return ScrapeInput(
            now=self.now,
            fleet=self.fleet,
            health=self.board.entries(),
            counters=self.board.counters(),
            booking=self.booking,
            refusals=self.refusals,
            version="0.1.0",
        )


async def scrape_and_reference(
    exporter: MetricsExporter, scene: Scene, accept: str = ""
) -> tuple[bytes, bytes]:
    """The exporter's body, and prometheus-client's rendering of the same input."""
    stats = exporter.stats
    body = (await exporter.render(accept)).body
    families = build_families(replace(scene.read(), stats=stats))
    generate = om_generate_latest if accept == OPENMETRICS else generate_latest
    return body, generate(FamiliesCollector(families))


@pytest.fixture(params=["three tiers", "two tiers"])
def sample_scene(
    request: pytest.FixtureRequest, sample_fleet: Fleet, two_tier_fleet: Fleet
) -> Scene:
    """Both example fleets: the seed's province and the merged province of 2025."""
    return Scene(sample_fleet if request.param == "three tiers" else two_tier_fleet)


async def test_text_output_is_byte_identical_to_prometheus_client(sample_scene: Scene) -> None:
    exporter = MetricsExporter(sample_scene.read)
    body, reference = await scrape_and_reference(exporter, sample_scene)
    assert body == reference
    parsed = {f.name: f for f in text_string_to_metric_families(body.decode())}
    expected = {f.name: f for f in text_string_to_metric_families(reference.decode())}
    assert parsed == expected
    assert len(parsed["confsched_endpoint_state"].samples) == 5 * len(sample_scene.fleet.endpoints)


async def test_openmetrics_output_is_byte_identical_and_parses(sample_scene: Scene) -> None:
    exporter = MetricsExporter(sample_scene.read)
    body, reference = await scrape_and_reference(exporter, sample_scene, OPENMETRICS)
    assert body == reference
    assert body.endswith(b"# EOF\n")
    names = {f.name for f in om_string_to_families(body.decode())}
    assert {"confsched_endpoint", "confsched_endpoint_state", "confsched_reports_accepted"} <= names


async def test_output_stays_identical_as_reports_arrive_and_rooms_go_silent(
    sample_scene: Scene,
) -> None:
    exporter = MetricsExporter(sample_scene.read)
    await exporter.render()
    for step in range(4):
        report_all(sample_scene.board, sample_scene.fleet, NOW, sample_scene.rnd, silent=0.3)
        sample_scene.now += 7 * step  # some rooms cross the offline threshold between scrapes
        for accept in ("", OPENMETRICS):
            body, reference = await scrape_and_reference(exporter, sample_scene, accept)
            assert body == reference


async def test_only_endpoints_with_a_new_report_are_rendered_again(sample_scene: Scene) -> None:
    exporter = MetricsExporter(sample_scene.read)
    await exporter.render()
    await exporter.render()
    assert exporter.stats.rerendered_endpoints == 0
    for ep in list(sample_scene.fleet.endpoints)[:3]:
        sample_scene.board.accept(observation(ep, NOW, sample_scene.rnd))
    await exporter.render()
    assert exporter.stats.rerendered_endpoints == 3


async def test_silent_endpoint_turns_offline_without_a_new_report(sample_fleet: Fleet) -> None:
    board = FakeHealthBoard()
    board.accept(Observation("tinh-uy", NOW, {"camera": True}, {}, {"rtt_ms": 12.5}))
    inp = ScrapeInput(now=NOW.timestamp() + 5, fleet=sample_fleet, health=board.entries())
    clock = {"now": inp.now}
    exporter = MetricsExporter(lambda: replace(inp, now=clock["now"]))
    assert 'endpoint="tinh-uy",state="ok"} 1.0' in (await exporter.render()).body.decode()
    clock["now"] += sample_fleet.report_interval.total_seconds() * 3
    text = (await exporter.render()).body.decode()
    assert 'endpoint="tinh-uy",state="offline"} 1.0' in text
    assert 'confsched_endpoint_problem{endpoint="tinh-uy",reason="no_report"} 1.0' in text
    assert 'confsched_endpoint_network_rtt_seconds{endpoint="tinh-uy"} 0.0125' in text


async def test_label_values_are_escaped_like_the_client(sample_fleet: Fleet) -> None:
    odd = Endpoint(
        'phòng "họp"\\số\n1', "Phòng họp", sample_fleet.endpoints["tinh-uy"].kind,
        "ủy-ban", "tinh", sample_fleet.endpoints["tinh-uy"].level, None,
    )  # fmt: skip
    fleet = replace(sample_fleet, endpoints={odd.id: odd})
    board = FakeHealthBoard()
    board.accept(Observation(odd.id, NOW, {"camera": False}, {}, {"loss_ratio": 0.5}))
    inp = ScrapeInput(now=NOW.timestamp(), fleet=fleet, health=board.entries())
    exporter = MetricsExporter(lambda: inp)
    body = (await exporter.render()).body
    assert body == generate_latest(FamiliesCollector(build_families(inp)))
    assert 'endpoint="phòng \\"họp\\"\\\\số\\n1"' in body.decode()


async def test_inventory_reload_renders_changed_endpoints_anew(sample_scene: Scene) -> None:
    exporter = MetricsExporter(sample_scene.read)
    await exporter.render()
    endpoints = dict(sample_scene.fleet.endpoints)
    first = next(iter(endpoints))
    endpoints[first] = replace(endpoints[first], agency="so-tttt")
    del endpoints[list(endpoints)[-1]]
    sample_scene.fleet = replace(sample_scene.fleet, endpoints=endpoints)
    body, reference = await scrape_and_reference(exporter, sample_scene)
    assert body == reference
    bridge = sample_scene.fleet.bridges["mcu-tinh-1"].name
    info = f'agency="so-tttt",area="",bridge="mcu-tinh-1",bridge_name="{bridge}",endpoint="{first}"'
    assert "confsched_endpoint_info{" + info in body.decode()


async def test_rooms_and_bridges_carry_their_names_and_a_renamed_bridge_shows(
    sample_scene: Scene,
) -> None:
    """Dashboards join names from the info series; renaming a bridge renders them anew."""
    exporter = MetricsExporter(sample_scene.read)
    text = (await exporter.render()).body.decode()
    room = sample_scene.fleet.endpoints["tinh-uy"]
    assert f'endpoint="tinh-uy",kind="codec",level="province",name="{room.name}"}} 1.0' in text
    bridges = dict(sample_scene.fleet.bridges)
    bridges["mcu-tinh-1"] = replace(bridges["mcu-tinh-1"], name="Cầu truyền hình số 1")
    sample_scene.fleet = replace(sample_scene.fleet, bridges=bridges)
    body, reference = await scrape_and_reference(exporter, sample_scene)
    assert body == reference
    text = body.decode()
    assert 'confsched_bridge_info{bridge="mcu-tinh-1",name="Cầu truyền hình số 1"} 1.0' in text
    assert 'bridge="mcu-tinh-1",bridge_name="Cầu truyền hình số 1",endpoint="tinh-uy"' in text


async def test_name_filter_keeps_only_the_named_families(sample_scene: Scene) -> None:
    exporter = MetricsExporter(sample_scene.read)
    names = {"confsched_endpoint_state", "confsched_reports_accepted_total"}
    text = (await exporter.render("", names)).body.decode()
    assert {f.name for f in text_string_to_metric_families(text)} == {
        "confsched_endpoint_state",
        "confsched_reports_accepted",
    }


async def test_booking_series_follow_the_snapshot(sample_scene: Scene) -> None:
    sample_scene.booking = BookingSnapshot(
        taken_at=NOW.timestamp(),
        next_start={"tinh-uy": NOW.timestamp() + 600},
        readiness={"tinh-uy": Readiness.NOT_READY},
        upcoming_sessions=1,
    )
    exporter = MetricsExporter(sample_scene.read)
    body, reference = await scrape_and_reference(exporter, sample_scene)
    assert body == reference
    text = body.decode()
    assert 'confsched_endpoint_readiness{endpoint="tinh-uy",state="not_ready"} 1.0' in text
    assert 'confsched_upcoming_session_endpoints{state="not_ready"} 1.0' in text
    sample_scene.booking = BookingSnapshot()
    assert "confsched_endpoint_readiness{" not in (await exporter.render()).body.decode()


async def test_a_large_scrape_lets_the_event_loop_run_between_slices() -> None:
    scene = Scene(synthetic_fleet(2000))
    exporter = MetricsExporter(scene.read, slice_seconds=0.001)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    await exporter.render()
    task.cancel()
    assert ticks - before > 5
    assert exporter.stats.longest_hold_seconds < 0.5


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**60), 2**60))
def test_go_float_matches_the_client(value: float) -> None:
    assert go_float(value) == floatToGoString(value)


@pytest.mark.parametrize("value", [1.7e9, 1796605200.0, 1796605200.125, 1e6, 999999.5, 1e22])
def test_go_float_writes_timestamps_like_go(value: float) -> None:
    assert go_float(value) == floatToGoString(value)


def test_aged_interval_comes_from_the_entry(sample_fleet: Fleet) -> None:
    board = FakeHealthBoard()
    board.accept(observation("tinh-uy", NOW, random.Random(1)), interval=60.0)
    inp = ScrapeInput(
        now=(NOW + timedelta(seconds=100)).timestamp(), fleet=sample_fleet, health=board.entries()
    )
    text = generate_latest(FamiliesCollector(build_families(inp))).decode()
    assert 'endpoint="tinh-uy",state="offline"} 0.0' in text


async def test_collector_in_a_client_registry_gives_the_same_exposition(
    sample_scene: Scene,
) -> None:
    registry = CollectorRegistry()
    registry.register(ConfschedCollector(sample_scene.read))
    fast = (await MetricsExporter(sample_scene.read).render()).body
    assert generate_latest(registry) == fast
    only = generate_latest(registry.restricted_registry(["confsched_bridge_ports_capacity"]))
    bridges = len(sample_scene.fleet.bridges)
    assert only.decode().count("confsched_bridge_ports_capacity{") == bridges


def test_metrics_core_does_not_load_the_web_stack() -> None:
    code = (
        "import sys, confsched.metrics.exporter, confsched.metrics.booking; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'asyncssh')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def healths(endpoints: list[str]) -> st.SearchStrategy[dict[str, Entry]]:
    """Any judged health a board could hold, odd values included."""
    number = st.none() | st.floats(0, 1e7, allow_nan=False) | st.integers(0, 10**7)
    moment = st.none() | st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    )
    health = st.builds(
        EndpointHealth,
        endpoint=st.just(""),
        state=st.sampled_from(list(EndpointState)),
        codes=st.lists(st.sampled_from(["camera", "loss", "rtt", "Not A Code", "no_report"])).map(
            tuple
        ),
        last_report_at=moment,
        checks=st.dictionaries(
            st.from_regex(r"[a-z][a-z0-9_.-]{0,8}", fullmatch=True), st.booleans()
        ),
        rtt_ms=number,
        jitter_ms=number,
        loss_ratio=number,
        measurements=st.dictionaries(
            st.just("spool_dropped"), st.floats(0, 1e12) | st.integers(0, 10**12)
        ),
    )
    entry = st.builds(Entry, health, st.sampled_from([0.0, 5.0, 60.0]))
    return st.dictionaries(st.sampled_from(endpoints), entry)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_any_health_renders_exactly_like_the_client(
    sample_fleet: Fleet, data: st.DataObject
) -> None:
    endpoints = list(sample_fleet.endpoints)[:6]
    fleet = replace(sample_fleet, endpoints={e: sample_fleet.endpoints[e] for e in endpoints})
    state = {"inp": ScrapeInput(now=NOW.timestamp(), fleet=fleet)}
    exporter = MetricsExporter(lambda: state["inp"])
    for _ in range(3):  # successive scrapes exercise what the renderer keeps between them
        entries = data.draw(healths(endpoints))
        now = data.draw(st.floats(NOW.timestamp() - 1e8, NOW.timestamp() + 1e8))
        state["inp"] = ScrapeInput(now=now, fleet=fleet, health=entries)
        stats = exporter.stats
        body = asyncio.run(exporter.render()).body
        reference = FamiliesCollector(build_families(replace(state["inp"], stats=stats)))
        assert body == generate_latest(reference)

"""Alerts reach people through a real Alertmanager: a running scheduler with a room down and a
session booked within 24 hours, a real Prometheus scraping its /metrics on loopback with the
shipped rules loaded, and a real Alertmanager that posts the at-risk alert, area label and
absolute runbook address included, to a webhook on loopback."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from aiohttp import web

from confsched.runtime.components import Components
from tests.test_agentlink import ENDPOINT, Room
from tests.test_metrics_booking import book
from tests.test_metrics_http import report_from_agent
from tests.test_metrics_prometheus import free_port

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
SCRAPE_EXAMPLE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
DEADLINE = 60.0
pytestmark = [
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus (Debian) missing"),
    pytest.mark.skipif(ALERTMANAGER is None, reason="prometheus-alertmanager (Debian) missing"),
    pytest.mark.slow,
]


def quick_rules(target: Path) -> Path:
    """The shipped rules, with every ``for:`` at 0s and the group intervals left to the 1 s
    global one, so the test waits seconds, not the minutes the rules wait in production."""
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in doc["groups"]:
        group.pop("interval", None)
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = "0s"
    target.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return target


def runbook_base() -> str:
    config = yaml.safe_load(SCRAPE_EXAMPLE.read_text(encoding="utf-8"))
    return str(config["global"]["external_labels"]["runbook_base"])


class Processes:
    """Child processes of one test, each terminated at the end."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *argv: str) -> None:
        self.procs.append(
            subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def processes() -> Iterator[Processes]:
    procs = Processes()
    yield procs
    procs.stop()


@pytest_asyncio.fixture
async def webhook() -> AsyncIterator[tuple[int, asyncio.Queue[dict[str, Any]]]]:
    """An aiohttp server on loopback that queues every alert Alertmanager posts to it."""
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        body = await request.json()
        for alert in body["alerts"]:
            await received.put(alert)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/alerts", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield port, received
    finally:
        await runner.cleanup()


def start_alertmanager(procs: Processes, tmp: Path, webhook_port: int) -> int:
    port = free_port()
    config = {
        "route": {
            "receiver": "webhook",
            "group_by": ["alertname", "area"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "webhook",
                "webhook_configs": [{"url": f"http://127.0.0.1:{webhook_port}/alerts"}],
            }
        ],
    }
    path = tmp / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert ALERTMANAGER is not None
    procs.start(
        ALERTMANAGER,
        f"--config.file={path}",
        f"--storage.path={tmp / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # no gossip port: a single Alertmanager, loopback only
    )
    return port


def start_prometheus(procs: Processes, tmp: Path, scheduler_port: int, am_port: int) -> None:
    rules = quick_rules(tmp / "rules.yml")
    config = {
        "global": {
            "scrape_interval": "1s",
            "evaluation_interval": "1s",
            "external_labels": {"runbook_base": runbook_base()},
        },
        "rule_files": [str(rules)],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
        },
        "scrape_configs": [
            {
                "job_name": "video-rooms",  # not "confsched": no rule depends on the job name
                "static_configs": [{"targets": [f"127.0.0.1:{scheduler_port}"]}],
            }
        ],
    }
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    procs.start(
        "prometheus",
        f"--config.file={path}",
        f"--storage.tsdb.path={tmp / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{free_port()}",
    )


async def first_alert(
    received: asyncio.Queue[dict[str, Any]], name: str, timeout: float
) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            alert = await received.get()
            if alert["labels"].get("alertname") == name:
                return alert


async def test_a_room_down_before_tomorrows_session_reaches_the_webhook_with_its_area(
    server: Components,
    processes: Processes,
    webhook: tuple[int, asyncio.Queue[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    started = asyncio.get_running_loop().time()
    await report_from_agent(server, Room(camera=False))  # the room is down: camera gone
    fleet = server.ctx.fleet
    start = (datetime.now(UTC) + timedelta(hours=20)).replace(second=0, microsecond=0)
    await server.ctx.store.write(book, fleet, f"{ENDPOINT},tinh-uy", start)
    await server.metrics.booking.refresh()
    hook_port, received = webhook
    am_port = start_alertmanager(processes, tmp_path, hook_port)
    start_prometheus(processes, tmp_path, server.http_port, am_port)

    alert = await first_alert(received, "ConfschedRoomAtRisk", DEADLINE)
    waited = asyncio.get_running_loop().time() - started

    by_endpoint = {alert["labels"]["endpoint"]: alert}
    assert alert["status"] == "firing"
    while {ENDPOINT, "tinh-uy"} - set(by_endpoint):  # the never-reported province room too
        other = await first_alert(received, "ConfschedRoomAtRisk", DEADLINE - waited)
        by_endpoint[other["labels"]["endpoint"]] = other
    mine = by_endpoint[ENDPOINT]
    assert mine["labels"]["area"] == fleet.endpoints[ENDPOINT].area == "h-dong-hy"
    assert mine["labels"]["severity"] == "warning"
    assert "area" not in by_endpoint["tinh-uy"]["labels"]  # a province room has none
    runbook = mine["annotations"]["runbook_url"]
    assert runbook == runbook_base() + "#confschedroomatrisk"
    assert runbook.startswith("https://")

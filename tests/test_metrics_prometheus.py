"""A real Prometheus (Debian's) scrapes a running scheduler: it negotiates OpenMetrics, sees
every endpoint, and every query of the Grafana dashboard returns series."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from confsched_agent.probes import Findings
from confsched_agent.wire import Check

from confsched.runtime.components import Components
from confsched.services import booking as svc
from tests.test_agentlink import Room
from tests.test_metrics_http import report_from_agent

DASHBOARD = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "confsched.json"
pytestmark = [
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus (Debian) missing"),
    pytest.mark.slow,
]


class RoomWithNetwork(Room):
    """A room whose camera is gone and whose link to the bridge is measured in full."""

    async def run(self) -> Findings:
        return Findings(
            {k: Check(v) for k, v in self.checks.items()},
            {"rtt_ms": 18.5, "jitter_ms": 2.5, "loss_ratio": 0.002},
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Any]:
    """A function starting Prometheus against a scheduler's HTTP port; returns its API URL."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(target_port: int) -> str:
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: confsched\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n"
        )
        procs.append(
            subprocess.Popen(
                [
                    "prometheus",
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        return f"http://127.0.0.1:{port}/api/v1"

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


async def query(http: aiohttp.ClientSession, api: str, expr: str) -> list[dict[str, Any]]:
    async with http.get(f"{api}/query", params={"query": expr}) as resp:
        body = await resp.json()
    assert body["status"] == "success", (expr, body)
    return list(body["data"]["result"])


async def wait_for(http: aiohttp.ClientSession, api: str, expr: str, timeout: float = 40) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            result = await query(http, api, expr)
            if result:
                return result
        except aiohttp.ClientError:
            pass  # not listening yet
        assert asyncio.get_running_loop().time() < deadline, f"no result for {expr}"
        await asyncio.sleep(0.5)


async def test_prometheus_scrapes_the_scheduler_and_the_dashboard_has_data(
    server: Components, prometheus_for: Any
) -> None:
    await report_from_agent(server, RoomWithNetwork(camera=False))
    start = datetime.now(UTC) + timedelta(minutes=10)
    local = start.astimezone(ZoneInfo(server.ctx.fleet.timezone)).strftime("%Y-%m-%d %H:%M")
    request = svc.parse_request(
        server.ctx.fleet, title="Họp", with_="all", start=local, duration="1h"
    )
    await server.ctx.store.write(svc.book, server.ctx.fleet, request)
    await server.metrics.booking.refresh()
    api = prometheus_for(server.http_port)
    async with aiohttp.ClientSession() as http:
        count = await wait_for(http, api, "count(confsched_endpoint_info)")
        assert count[0]["value"][1] == str(len(server.ctx.fleet.endpoints))
        await wait_for(http, api, "count_over_time(confsched_reports_accepted_total[1m]) > 2")
        async with http.get(f"{api}/targets") as resp:
            target = (await resp.json())["data"]["activeTargets"][0]
        assert target["health"] == "up" and target["lastError"] == ""
        board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
        empty = []
        for panel in board["panels"]:
            for t in panel["targets"]:
                expr = t["expr"].replace("$area", ".*").replace("$__range", "1h")
                if not await query(http, api, expr):
                    empty.append((panel["title"], expr))
        assert empty == []

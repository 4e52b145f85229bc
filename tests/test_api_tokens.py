"""Every API route needs a token, reads included; viewer tokens read and never write; the feeds,
``/healthz`` and (unless closed) ``/metrics`` stay open; ``confsched tokens`` makes and revokes."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from confsched.config import Settings
from confsched.runtime.components import Components
from tests.conftest import api_session, http_url, running, viewer_token
from tests.test_feeds_http import feed_path

READS = [
    "/api/v1/fleet",
    "/api/v1/endpoints",
    "/api/v1/endpoints/tinh-uy",
    "/api/v1/endpoints/tinh-uy/health",
    "/api/v1/select?with=all",
    "/api/v1/health",
    "/api/v1/risk",
    "/api/v1/sessions",
    "/api/v1/sessions/s-1",
    "/api/v1/sessions/s-1/readiness",
    "/api/v1/sessions/s-1/invite.ics",
    "/api/v1/slots?with=all&duration=1h",
    "/api/v1/changes?since=-1",
    "/api/v1/whoami",
    "/api/v1/no-such-route",
]
BOOKING = {"title": "Giao ban", "with": "ioc", "start": "2027-03-01 08:00", "duration": "1h"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get(ctx: Components, path: str, headers: dict[str, str]) -> tuple[int, Any, str]:
    async with aiohttp.ClientSession() as http, http.get(http_url(ctx, path), headers=headers) as r:
        body = await r.json() if r.content_type == "application/json" else None
        return r.status, body, r.headers.get("WWW-Authenticate", "")


async def test_every_api_read_without_a_token_is_a_401_that_says_how(server: Components) -> None:
    for path in READS:
        status, body, challenge = await get(server, path, {})
        assert status == 401, path
        assert "needs a token" in body["error"] and "operator.token" in body["error"]
        assert challenge.startswith("Bearer")
        status, body, _ = await get(server, path, bearer("guessed"))
        assert status == 401, path
        assert "not recognised" in body["error"]


async def test_healthz_feeds_and_metrics_stay_open(server: Components, cli: Any) -> None:
    for path in ("/healthz", "/metrics", feed_path(cli, "agency", "ubnd-tinh")):
        async with aiohttp.ClientSession() as http, http.get(http_url(server, path)) as resp:
            assert resp.status == 200, path


async def test_a_viewer_reads_everything_and_writes_nothing(server: Components) -> None:
    token = await viewer_token(server)
    async with aiohttp.ClientSession(headers=bearer(token)) as http:
        for path in ("/api/v1/fleet", "/api/v1/health", "/api/v1/sessions"):
            async with http.get(http_url(server, path)) as resp:
                assert resp.status == 200, path
        async with http.post(http_url(server, "/api/v1/sessions/preview"), json=BOOKING) as resp:
            assert resp.status == 200  # a booking tried, not made
        async with http.post(http_url(server, "/api/v1/sessions"), json=BOOKING) as resp:
            assert resp.status == 403
            assert resp.content_type == "application/json"
            assert "viewer token can only read" in (await resp.json())["error"]
    async with api_session(server) as http, http.get(http_url(server, "/api/v1/sessions")) as r:
        assert await r.json() == []


async def test_metrics_closed_by_the_serve_flag_takes_a_bearer_token(settings: Settings) -> None:
    async with running(settings.with_(metrics_need_token=True)) as server:
        status, body, _ = await get(server, "/metrics", {})
        assert status == 401 and "needs a token" in body["error"]
        token = await viewer_token(server, "prometheus")
        status, _, _ = await get(server, "/metrics", bearer(token))
        assert status == 200
        status, _, _ = await get(server, "/healthz", {})
        assert status == 200


async def test_tokens_cli_shows_a_token_once_keeps_its_hash_and_revokes_it(
    server: Components, cli: Any
) -> None:
    made = cli("tokens", "create", "--name", "Màn hình phòng họp", "--viewer")
    assert made.code == 0, made.err
    token = made.out.strip()
    assert len(token) >= 43 and "shown this once" in made.err
    store = (server.ctx.settings.data_dir / "confsched.db").read_bytes()
    assert token.encode() not in store
    listed = cli("tokens", "list", "--json").json()
    assert listed == [
        {
            "name": "Màn hình phòng họp",
            "role": "viewer",
            "created_at": listed[0]["created_at"],
            "revoked_at": None,
        }
    ]
    assert token not in cli("tokens", "list").out
    await until_status(server, bearer(token), 200)
    assert cli("tokens", "revoke", "Màn hình phòng họp").code == 0
    await until_status(server, bearer(token), 401)
    assert cli("tokens", "list", "--json").json() == []
    assert cli("tokens", "list", "--all", "--json").json()[0]["revoked_at"] is not None


async def test_an_operator_token_made_by_the_cli_books(server: Components, cli: Any) -> None:
    token = cli("tokens", "create", "--name", "second-operator").out.strip()
    await until_status(server, bearer(token), 200)
    async with (
        aiohttp.ClientSession(headers=bearer(token)) as http,
        http.post(http_url(server, "/api/v1/sessions"), json=BOOKING) as resp,
    ):
        assert resp.status == 201, await resp.text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "--name", " "), "needs a name"),
        (("create", "--name", "a\x1bb"), "control character"),
        (("create", "--name", "x" * 65), "longer than 64"),
        (("revoke", "nobody"), "unknown token 'nobody'"),
    ],
)
def test_bad_token_commands_say_what_and_store_nothing(
    cli: Any, args: tuple[str, ...], message: str
) -> None:
    result = cli("tokens", *args)
    assert result.code == 1 and message in result.err, result.err
    assert cli("tokens", "list", "--json").json() == []


def test_a_second_live_token_of_the_same_name_is_refused(cli: Any) -> None:
    assert cli("tokens", "create", "--name", "grafana", "--viewer").code == 0
    again = cli("tokens", "create", "--name", "grafana")
    assert again.code == 1 and "exists" in again.err
    assert cli("tokens", "revoke", "grafana").code == 0
    assert cli("tokens", "create", "--name", "grafana").code == 0  # the name is free again


async def until_status(ctx: Components, headers: dict[str, str], status: int) -> None:
    """The server reloads tokens when another process changes them (polled every 0.25 s)."""
    for _ in range(80):
        if (await get(ctx, "/api/v1/fleet", headers))[0] == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the token never got {status}")


async def test_whoami_names_the_tokens_role_so_the_console_can_say_it_is_read_only(
    server: Components,
) -> None:
    viewer = await viewer_token(server)
    status, body, _ = await get(server, "/api/v1/whoami", bearer(server.ctx.operator_token))
    assert (status, body) == (200, {"role": "operator"})
    status, body, _ = await get(server, "/api/v1/whoami", bearer(viewer))
    assert (status, body) == (200, {"role": "viewer"})
    status, body, _ = await get(server, "/api/v1/whoami", bearer("mistyped"))
    assert status == 401 and "not recognised" in body["error"]

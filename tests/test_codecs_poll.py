"""The codec poller against simulated codecs over real HTTPS on loopback: every fault a real
codec's API shows (wrong credentials, hang, HTTP 500, malformed answers, a reboot mid-poll, an
untrusted certificate, a closed port) becomes a clear reason, never a crash."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from confsched.codecs.poller import CodecPoller, client_session
from confsched.codecs.secrets import Credentials, load_secrets, write_secrets
from confsched.devsim.codec_server import CodecLab, start_lab
from confsched.devsim.codec_state import ApiFault, SimCodec
from confsched.domain.health import judge
from confsched.domain.model import CodecAccess, EndpointState, Fleet
from confsched.errors import InvalidInput
from confsched.store.health import StoredHealth

CISCO, POLY = "tinh-uy", "h-dai-tu"


@pytest_asyncio.fixture
async def lab(tmp_path: Path) -> AsyncIterator[CodecLab]:
    codecs = [SimCodec(CISCO, "cisco-xapi", "s3cret-c"), SimCodec(POLY, "poly-rest", "s3cret-p")]
    lab = await start_lab(codecs, tls_dir=tmp_path / "tls")
    yield lab
    await lab.close()


def _fleet(sample_fleet: Fleet, urls: dict[str, str]) -> Fleet:
    from dataclasses import replace

    endpoints = dict(sample_fleet.endpoints)
    for endpoint, url in urls.items():
        driver = "cisco-xapi" if endpoint == CISCO else "poly-rest"
        endpoints[endpoint] = replace(endpoints[endpoint], codec=CodecAccess(driver, url))
    others = {e: replace(v, codec=None) for e, v in endpoints.items() if e not in urls}
    return replace(sample_fleet, endpoints={**endpoints, **others})


class Harness:
    def __init__(self, poller: CodecPoller, stored: list[StoredHealth]) -> None:
        self.poller, self.stored = poller, stored

    async def poll(self, endpoint: str) -> tuple[EndpointState, tuple[str, ...]]:
        fleet = self.poller.fleet()
        async with client_session(4) as http:
            obs = await self.poller.poll(http, fleet.endpoints[endpoint])
        health = judge(obs)
        return health.state, health.reasons


@pytest.fixture
def harness(lab: CodecLab, sample_fleet: Fleet, tmp_path: Path) -> Harness:
    data = tmp_path / "data"
    creds = {e: Credentials("admin", c.password, str(lab.ca_file)) for e, c in lab.codecs.items()}
    write_secrets(data, creds)
    fleet = _fleet(sample_fleet, {e: lab.url(e) for e in lab.codecs})
    stored: list[StoredHealth] = []
    poller = CodecPoller(lambda: fleet, data, stored.append, interval=2.0, timeout=0.5)
    poller._reload_secrets()
    return Harness(poller, stored)


@pytest.mark.parametrize("endpoint", [CISCO, POLY])
async def test_healthy_codecs_are_ok_over_https(harness: Harness, endpoint: str) -> None:
    assert await harness.poll(endpoint) == (EndpointState.OK, ())
    item = harness.stored[-1]
    assert item.health.endpoint == endpoint and item.health.measurements["in_call"] == 0.0


@pytest.mark.parametrize("endpoint", [CISCO, POLY])
async def test_camera_unplugged_is_down_camera_disconnected(
    harness: Harness, lab: CodecLab, endpoint: str
) -> None:
    lab.codecs[endpoint].cameras = [False]
    assert await harness.poll(endpoint) == (EndpointState.DOWN, ("camera disconnected",))


@pytest.mark.parametrize("endpoint", [CISCO, POLY])
async def test_wrong_credentials_say_so(
    harness: Harness, lab: CodecLab, endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    lab.codecs[endpoint].password = "changed-on-the-device"
    with caplog.at_level(logging.DEBUG):
        state, reasons = await harness.poll(endpoint)
    assert state is EndpointState.DOWN and reasons[0].startswith("codec auth failed")
    assert "codec auth failed" in caplog.text
    assert "s3cret" not in caplog.text and "changed-on-the-device" not in caplog.text


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (ApiFault.HANG, "codec did not answer in time (no answer within 0.5 s)"),
        (ApiFault.HTTP_500, "codec API error (HTTP 500)"),
        (ApiFault.MALFORMED, "codec sent a malformed"),
    ],
)
@pytest.mark.parametrize("endpoint", [CISCO, POLY])
async def test_api_faults_become_reasons(
    harness: Harness, lab: CodecLab, endpoint: str, fault: ApiFault, reason: str
) -> None:
    lab.codecs[endpoint].fault = fault
    state, reasons = await harness.poll(endpoint)
    assert state is EndpointState.DOWN and reasons[0].startswith(reason)


@pytest.mark.parametrize("endpoint", [CISCO, POLY])
async def test_reboot_mid_poll_then_recovers(
    harness: Harness, lab: CodecLab, endpoint: str
) -> None:
    assert (await harness.poll(endpoint))[0] is EndpointState.OK  # a Poly session exists now
    codec = lab.codecs[endpoint]
    codec.boot_seconds = 0.6
    codec.fault = ApiFault.REBOOT
    state, reasons = await harness.poll(endpoint)
    assert state is EndpointState.DOWN and reasons[0].startswith("codec unreachable")
    assert await harness.poll(endpoint) == (EndpointState.DOWN, ("codec API error (HTTP 503)",))
    await asyncio.sleep(0.7)
    assert await harness.poll(endpoint) == (EndpointState.OK, ())  # Poly logged in again
    assert harness.stored[-1].health.measurements["uptime_s"] < 60


async def test_untrusted_certificate_is_refused(harness: Harness, tmp_path: Path) -> None:
    data = harness.poller.data_dir
    creds = dict(load_secrets(data))
    creds[CISCO] = Credentials("admin", "s3cret-c")  # no ca_file: the default trust store
    write_secrets(data, creds)
    harness.poller._secrets_stamp = None
    harness.poller._reload_secrets()
    state, reasons = await harness.poll(CISCO)
    assert (state, reasons) == (
        EndpointState.DOWN,
        ("codec unreachable (TLS certificate not trusted)",),
    )


async def test_closed_port_is_unreachable(harness: Harness, sample_fleet: Fleet) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fleet = _fleet(sample_fleet, {CISCO: f"https://127.0.0.1:{port}"})
    harness.poller.fleet = lambda: fleet
    state, reasons = await harness.poll(CISCO)
    assert state is EndpointState.DOWN and reasons[0].startswith("codec unreachable (")


async def test_codec_missing_from_secrets_says_so(harness: Harness) -> None:
    write_secrets(harness.poller.data_dir, {})
    harness.poller._secrets_stamp = None
    harness.poller._reload_secrets()
    assert await harness.poll(POLY) == (
        EndpointState.DOWN,
        ("codec credentials missing (none in codec-secrets.toml)",),
    )


def test_secrets_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = write_secrets(tmp_path, {CISCO: Credentials("admin", "pw")})
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    with pytest.raises(
        InvalidInput, match=r"mode 0644 lets others read codec passwords; chmod 600"
    ):
        load_secrets(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tinh-uy]\nusername = 'a'\n", "needs username and password"),
        ("[tinh-uy]\nusername = 'a'\npassword = 'b'\ntoken = 'c'\n", "unknown key 'token'"),
        ("tinh-uy = 3\n", "must be a table"),
        ("[tinh-uy\n", "not valid TOML"),
    ],
)
def test_malformed_secrets_are_refused_naming_the_entry(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "codec-secrets.toml"
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(InvalidInput, match=message) as caught:
        load_secrets(tmp_path)
    assert "'b'" not in str(caught.value)


async def test_a_round_polls_every_codec_concurrently(harness: Harness, lab: CodecLab) -> None:
    lab.codecs[CISCO].fault = ApiFault.HANG
    async with client_session(4) as http:
        started = asyncio.get_running_loop().time()
        await harness.poller.poll_all(http)
        took = asyncio.get_running_loop().time() - started
    assert {s.health.endpoint for s in harness.stored} == {CISCO, POLY}
    assert took < 1.5  # the hanging codec costs its timeout, not the round

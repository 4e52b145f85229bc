"""The codec poller: a runtime component that polls every codec room each report interval.

Decision: the scheduler polls, rather than a gateway agent on the codec's network. Codecs at
province and district level sit on the province's network with the scheduler; one poller in
the scheduler keeps the credentials in one private file and needs nothing installed per room. A
commune codec behind NAT needs a route (the VPN its calls already use) or, later, the same
drivers run by a gateway agent that reports over the agents' SSH link — the driver interface
takes an HTTP session and returns a status, so it does not care who runs it.

Each round polls every codec endpoint at once, at most ``concurrency`` in flight, each poll
bounded by ``timeout`` (below the interval). A poll's status or failure becomes an observation,
is judged by the same judge as an agent's report and submitted to the same health service, so a
codec's state reaches the store, API, metrics and console like a PC room's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from confsched.codecs.drivers import CodecClient, client_for
from confsched.codecs.secrets import SECRETS_FILE, Credentials, load_secrets, secrets_path
from confsched.codecs.status import (
    FailureKind,
    PollFailure,
    failure_observation,
    observation,
)
from confsched.domain.health import Observation, Thresholds, judge
from confsched.domain.model import CodecAccess, Endpoint, Fleet
from confsched.errors import InvalidInput
from confsched.server import ServerContext
from confsched.services.health import HealthService
from confsched.store.health import StoredHealth

log = logging.getLogger(__name__)

Submit = Callable[[StoredHealth], None]


class _NoAck:
    """A poll has no agent to acknowledge: the store's commit is the end of its story."""

    def acked(self, seq: int, count: int) -> None:
        return None

    def refused(self, seq: int, reason: str, detail: str) -> None:
        log.warning("a codec poll was refused by the store: %s", detail)


@dataclass
class CodecPoller:
    """Polls the codecs of ``fleet()`` every ``interval`` seconds and submits what it learns."""

    fleet: Callable[[], Fleet]
    data_dir: Path
    submit: Submit
    interval: float = 10.0
    timeout: float = 5.0
    concurrency: int = 32
    thresholds: Thresholds = field(default_factory=Thresholds)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    polls: int = 0
    failures: dict[str, FailureKind] = field(default_factory=dict)
    """The current failure per endpoint (none while its polls succeed)."""
    _clients: dict[str, tuple[CodecAccess, Credentials, CodecClient]] = field(default_factory=dict)
    _secrets: dict[str, Credentials] = field(default_factory=dict)
    _secrets_stamp: tuple[float, int] | None = None
    _secrets_error: str = ""
    _seq: dict[str, int] = field(default_factory=dict)

    def codecs(self) -> list[Endpoint]:
        return [e for e in self.fleet().endpoints.values() if e.codec is not None]

    async def run(self, http: aiohttp.ClientSession) -> None:
        """Poll round after round until cancelled; a round never waits for a slow codec
        longer than ``timeout``."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            await self.poll_all(http)
            next_at = max(next_at + self.interval, loop.time())
            await asyncio.sleep(next_at - loop.time())

    async def poll_all(self, http: aiohttp.ClientSession) -> None:
        """One round; none while there is no secrets file (codec polling not set up yet: the
        codec rooms stay "never reported" rather than each claiming missing credentials)."""
        self._reload_secrets()
        if self._secrets_stamp is None:
            return
        limit = asyncio.Semaphore(self.concurrency)

        async def one(endpoint: Endpoint) -> None:
            async with limit:
                await self.poll(http, endpoint)

        await asyncio.gather(*(one(e) for e in self.codecs()))

    async def poll(self, http: aiohttp.ClientSession, endpoint: Endpoint) -> Observation:
        """Poll one codec, submit the judged result, and return the observation."""
        obs = await self._observe(http, endpoint)
        health = judge(obs, self.thresholds)
        now = obs.received_at
        seq = max(int(now.timestamp() * 1000), self._seq.get(endpoint.id, 0) + 1)
        self._seq[endpoint.id] = seq
        self.submit(StoredHealth(health, seq, now, self.interval))
        self.polls += 1
        return obs

    async def _observe(self, http: aiohttp.ClientSession, endpoint: Endpoint) -> Observation:
        try:
            client = self._client(endpoint)
            status = await client.status(http, self.timeout)
        except PollFailure as failure:
            self._note_failure(endpoint.id, failure)
            return failure_observation(endpoint.id, failure, self.clock())
        if self.failures.pop(endpoint.id, None) is not None:
            log.info("%s: codec answers again", endpoint.id)
        return observation(endpoint.id, status, self.clock())

    def _client(self, endpoint: Endpoint) -> CodecClient:
        access = endpoint.codec
        if access is None:
            raise PollFailure(FailureKind.NO_CREDENTIALS, "not a polled codec")
        creds = self._secrets.get(endpoint.id)
        if creds is None:
            detail = "secrets file refused" if self._secrets_error else f"none in {SECRETS_FILE}"
            raise PollFailure(FailureKind.NO_CREDENTIALS, detail)
        cached = self._clients.get(endpoint.id)
        if cached is not None and cached[0] == access and cached[1] == creds:
            return cached[2]
        client = client_for(access, creds)
        self._clients[endpoint.id] = (access, creds, client)
        return client

    def _note_failure(self, endpoint: str, failure: PollFailure) -> None:
        """Log a failure when it starts or changes kind, not at every poll."""
        if self.failures.get(endpoint) != failure.kind:
            log.warning("%s: %s", endpoint, failure.reason)
        self.failures[endpoint] = failure.kind

    def _reload_secrets(self) -> None:
        """Re-read the secrets file when it changed (a stat per round), logging a refusal once."""
        path = secrets_path(self.data_dir)
        try:
            info = path.stat()
            stamp: tuple[float, int] | None = (info.st_mtime, info.st_mode)
        except FileNotFoundError:
            stamp = None
        if stamp == self._secrets_stamp and self._secrets_stamp is not None:
            return
        self._secrets_stamp = stamp
        try:
            self._secrets = dict(load_secrets(self.data_dir))
            self._secrets_error = ""
        except InvalidInput as exc:
            if str(exc) != self._secrets_error:
                log.error("codec credentials not loaded: %s", exc)
            self._secrets, self._secrets_error = {}, str(exc)


def client_session(concurrency: int) -> aiohttp.ClientSession:
    """One HTTP client for all codecs: connections kept alive between rounds (a TLS handshake
    per poll would cost more than the poll), no shared cookies (each Poly session is sent
    explicitly), no proxy from the environment."""
    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=60)
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())


class CodecPolling:
    """The runtime component: a :class:`CodecPoller` over the fleet, feeding the health
    service, on one HTTP client kept for its life (rounds find nothing to do without codecs)."""

    def __init__(self, ctx: ServerContext, service: HealthService) -> None:
        no_ack = _NoAck()
        self.poller = CodecPoller(
            fleet=lambda: ctx.fleet,
            data_dir=ctx.settings.data_dir,
            submit=lambda item: service.submit(item, no_ack),
            interval=ctx.fleet.report_interval.total_seconds(),
            thresholds=service.board.thresholds,
        )
        self._http: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._http = client_session(self.poller.concurrency)
        self._task = asyncio.create_task(self.poller.run(self._http), name="codec-poller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

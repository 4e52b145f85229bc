"""The running scheduler's components, each named by its real type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from confsched.agentlink.server import AgentLink
from confsched.calendar.service import FeedService
from confsched.codecs.poller import CodecPolling
from confsched.mail.mailer import Mailer
from confsched.runtime.health import HealthRuntime
from confsched.runtime.looplag import LoopLagProbe
from confsched.runtime.metrics import LiveMetrics
from confsched.runtime.readiness import ReadinessChecker
from confsched.server import ServerContext
from confsched.services.health import HealthBoard, HealthService
from confsched.web.app import HttpServer


class Component(Protocol):
    """What the root starts and stops (see the package docstring)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Components:
    """Everything a running scheduler is made of; built once by ``root.build``."""

    ctx: ServerContext
    looplag: LoopLagProbe
    health: HealthRuntime
    agentlink: AgentLink
    codecs: CodecPolling
    readiness: ReadinessChecker
    calendar: FeedService
    metrics: LiveMetrics
    http: HttpServer
    mailer: Mailer | None
    """Only with ``serve --smtp``: invitations mailed from the outbox."""

    def in_start_order(self) -> tuple[Component, ...]:
        """Each after what it uses; the feeds before HTTP, so that a feed request finds their
        warm-up begun (and waits for it)."""
        always: tuple[Component, ...] = (
            self.looplag,
            self.health,
            self.agentlink,
            self.codecs,
            self.readiness,
            self.calendar,
            self.metrics,
            self.http,
        )
        return always if self.mailer is None else (*always, self.mailer)

    @property
    def board(self) -> HealthBoard:
        return self.health.board

    @property
    def health_service(self) -> HealthService:
        return self.health.service

    @property
    def http_port(self) -> int:
        return self.http.port

    @property
    def ssh_port(self) -> int:
        return self.agentlink.port

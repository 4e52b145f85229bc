"""A real SMTP server on loopback (aiosmtpd) that keeps what it accepts and answers as told."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

ACCEPT = "250 OK"
DROP = "drop"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    def parsed(self) -> EmailMessage:
        message = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class Inbox:
    """The handler: ``plan`` holds the answers to the next DATA commands (then: accept)."""

    plan: list[str] = field(default_factory=list)
    plan_for: dict[str, list[str]] = field(default_factory=dict)
    """Answers for messages to one recipient (before ``plan``)."""
    received: list[Received] = field(default_factory=list)
    refused: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        own = [a for r in envelope.rcpt_tos for a in self.plan_for.get(r, [])[:1]]
        if own:
            answer = self.plan_for[envelope.rcpt_tos[0]].pop(0)
        else:
            answer = self.plan.pop(0) if self.plan else ACCEPT
        if answer == DROP:
            assert server.transport is not None
            server.transport.close()
            self.refused += 1
            return "421 closing"
        if not answer.startswith("250"):
            self.refused += 1
            return answer
        assert isinstance(envelope.content, bytes) and envelope.mail_from
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or b"")
        )
        return answer

    async def wait_for(self, count: int, seconds: float = 15.0) -> list[Received]:
        """Poll until ``count`` messages arrived (then a little longer, to catch a duplicate)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while len(self.received) < count:
            assert asyncio.get_running_loop().time() < deadline, (
                f"{len(self.received)} of {count} messages arrived"
            )
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        return list(self.received)


class Login:
    """Accepts one username and password (LOGIN or PLAIN, after STARTTLS)."""

    def __init__(self, username: str, password: str) -> None:
        self.expected = (username.encode(), password.encode())

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == self.expected
        return AuthResult(success=ok, handled=False)


@contextlib.asynccontextmanager
async def smtp_server(
    inbox: Inbox, tls: ssl.SSLContext | None = None, login: Login | None = None
) -> AsyncIterator[int]:
    """Serve ``inbox`` on 127.0.0.1 (a free port, yielded) on the running loop."""

    def factory() -> SMTP:
        return SMTP(
            inbox,
            hostname="relay.test",
            tls_context=tls,
            require_starttls=tls is not None,
            authenticator=login,
            auth_required=login is not None,
        )

    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()

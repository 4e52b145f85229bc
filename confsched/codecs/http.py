"""One HTTP exchange with a codec, its failures turned into :class:`PollFailure` kinds.

Shared by the drivers so that every device API fails the same way: a refused or reset
connection is "unreachable", no answer within the timeout is "timeout", 401/403 is "auth",
any other non-2xx is "http", and a body over ``MAX_BODY`` is a bad response (a codec's status
is a few tens of kilobytes; a runaway answer must not fill the scheduler's memory).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from confsched.codecs.status import FailureKind, PollFailure

MAX_BODY = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes


async def exchange(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    timeout: float,
    tls: ssl.SSLContext | bool = True,
    headers: Mapping[str, str] | None = None,
    json_body: object = None,
    allow: frozenset[int] = frozenset(),
) -> Answer:
    """``method url`` → its answer; raises PollFailure unless 2xx or a status in ``allow``."""
    try:
        async with asyncio.timeout(timeout):
            async with http.request(
                method, url, headers=headers, json=json_body, ssl=tls
            ) as response:
                body = await response.content.read(MAX_BODY + 1)
                status, expected = response.status, response.content_length
    except TimeoutError:
        raise PollFailure(FailureKind.TIMEOUT, f"no answer within {timeout:g} s") from None
    except aiohttp.ClientConnectorCertificateError:
        raise PollFailure(FailureKind.UNREACHABLE, "TLS certificate not trusted") from None
    except aiohttp.ClientSSLError:
        raise PollFailure(FailureKind.UNREACHABLE, "TLS handshake failed") from None
    except aiohttp.ClientConnectorError as exc:
        raise PollFailure(FailureKind.UNREACHABLE, _why(exc)) from None
    except (aiohttp.ClientError, ConnectionError) as exc:
        raise PollFailure(FailureKind.UNREACHABLE, _why(exc)) from None
    if len(body) > MAX_BODY:
        raise PollFailure(FailureKind.BAD_RESPONSE, f"answer over {MAX_BODY} bytes")
    if expected is not None and len(body) < expected:  # the codec went away mid-answer
        raise PollFailure(FailureKind.UNREACHABLE, "connection closed mid-answer")
    if status in allow or 200 <= status < 300:
        return Answer(status, body)
    if status in (401, 403):
        raise PollFailure(FailureKind.AUTH, f"HTTP {status}")
    raise PollFailure(FailureKind.HTTP, f"HTTP {status}")


def _why(exc: BaseException) -> str:
    """A short cause without the URL's query or anything the caller sent."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return (exc.os_error.strerror or type(exc.os_error).__name__).lower()
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection closed mid-answer"
    if isinstance(exc, ConnectionResetError | aiohttp.ClientPayloadError):
        return "connection reset"
    return type(exc).__name__

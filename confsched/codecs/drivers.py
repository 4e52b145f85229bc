"""The one place that knows which driver serves which ``codec: {driver}`` name.

A driver is anything with ``async status(http, timeout) -> CodecStatus``; adding one (Huawei
TE/IdeaHub, …) means a module like :mod:`.cisco`, a name in ``confsched.domain.model.
CODEC_DRIVERS`` and a case below.
"""

from __future__ import annotations

from typing import Protocol

import aiohttp

from confsched.codecs.cisco import CiscoXapi
from confsched.codecs.poly import PolyRest
from confsched.codecs.secrets import Credentials
from confsched.codecs.status import CodecStatus
from confsched.domain.model import CodecAccess


class CodecClient(Protocol):
    """One codec's management API; may keep state (a login session) between polls."""

    async def status(self, http: aiohttp.ClientSession, timeout: float) -> CodecStatus: ...


def client_for(access: CodecAccess, credentials: Credentials) -> CodecClient:
    """A client for ``access`` with ``credentials``; ValueError for a driver with no code."""
    match access.driver:
        case "cisco-xapi":
            return CiscoXapi(access.url, credentials, credentials.tls())
        case "poly-rest":
            return PolyRest(access.url, credentials, credentials.tls())
    raise ValueError(f"no codec driver named {access.driver!r}")

"""What every route module shares: the context's app key, JSON answers, JSON bodies.

Apart from ``app.py`` so that route modules never import the module that assembles them.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from confsched.errors import InvalidInput
from confsched.server import ServerContext

CTX = web.AppKey("ctx", ServerContext)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        data,
        status=status,
        headers=headers,
        dumps=lambda v: json.dumps(v, ensure_ascii=False, default=str),
    )


def encode_json(data: Any) -> bytes:
    """JSON as every response writes it (UTF-8 text kept as is); for bodies built on a store
    thread, where encoding a large listing does not hold up the event loop."""
    return json.dumps(data, ensure_ascii=False, default=str).encode()


def encoded_response(body: bytes, status: int = 200) -> web.Response:
    """A response for a body :func:`encode_json` made."""
    return web.Response(body=body, status=status, content_type="application/json")


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    return json_response({"error": message, **extra}, status=status, headers=headers)


async def read_json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"request body is not JSON: {exc}") from None
    except RecursionError:
        raise InvalidInput("request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise InvalidInput("request body must be a JSON object")
    return body

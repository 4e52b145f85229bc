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

"""A real HTTP server on 127.0.0.1 that speaks enough of the PagerDuty Events API v2 (and a
webhook receiver) for the sink tests: it validates what it receives the way the real API
does, records every request, and answers from a script (202, 429 + Retry-After, 5xx, or a
stall longer than the client's timeout)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Reply = tuple[int, dict[str, str]] | float
"""``(status, headers)`` or a number of seconds to stall before answering 202."""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ScriptedServer:
    script: list[Reply] = field(default_factory=list)
    """Replies in order; 202 once the script runs out."""
    received: list[Received] = field(default_factory=list)
    check: Callable[[Received], Awaitable[int | None]] | None = None
    """Validates a request; a status returned is answered instead of the script."""
    gate: asyncio.Event | None = None
    """When set, every request waits for the gate before answering."""
    base_url: str = ""
    _runner: web.AppRunner | None = None

    async def __aenter__(self) -> ScriptedServer:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        rec = Received(request.path, dict(request.headers), await request.read())
        self.received.append(rec)
        if self.gate is not None:
            await self.gate.wait()
        if self.check is not None:
            bad = await self.check(rec)
            if bad is not None:
                return web.json_response({"status": "invalid event"}, status=bad)
        reply: Reply = self.script.pop(0) if self.script else (202, {})
        if isinstance(reply, float):
            await asyncio.sleep(reply)
            reply = (202, {})
        status, headers = reply
        body = {"status": "success", "message": "Event processed"} if status == 202 else {}
        return web.json_response(body, status=status, headers=headers)


async def pagerduty_check(rec: Received) -> int | None:
    """The Events API v2 rules the sink must meet (400 otherwise)."""
    if rec.path != "/v2/enqueue":
        return 404
    try:
        event = rec.json()
    except ValueError:
        return 400
    if event.get("event_action") not in ("trigger", "acknowledge", "resolve"):
        return 400
    if not event.get("routing_key") or not event.get("dedup_key"):
        return 400
    if len(event["dedup_key"]) > 255:
        return 400
    if event["event_action"] == "trigger":
        payload = event.get("payload") or {}
        if not payload.get("summary") or len(payload["summary"]) > 1024:
            return 400
        if not payload.get("source"):
            return 400
        if payload.get("severity") not in ("critical", "error", "warning", "info"):
            return 400
    return None

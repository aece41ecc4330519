"""A local stand-in for the PagerDuty Events API v2, for the demo and the integration tests.

It listens on loopback, accepts ``POST /v2/enqueue`` like PagerDuty does (202 with a JSON
body), keeps every event it received, and can be told to answer with other statuses
(429, 500...) to exercise the sink's retries. It is a real HTTP server, not a mock: the
worker's pager sink talks to it over TCP exactly as it would to PagerDuty.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from ews.loopback import LoopbackServer
from streams.broker import HOST, free_port


class PagerReceiver(LoopbackServer):
    """A loopback HTTP server recording PagerDuty Events API v2 calls."""

    def __init__(
        self,
        port: int | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        port = port or free_port()
        self.events: list[dict[str, Any]] = []
        self.idempotency_keys: list[str | None] = []
        """The ``Idempotency-Key`` header of each accepted event (the transition's alert id)."""
        self.statuses: list[int] = []
        """Statuses to answer with, in order, before falling back to 202."""
        self._lock = threading.Lock()
        self._on_event = on_event
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = receiver._next_status()
                if self.path != "/v2/enqueue":
                    status = 404
                if status == 202:
                    event = json.loads(body)
                    with receiver._lock:
                        receiver.events.append(event)
                        receiver.idempotency_keys.append(self.headers.get("Idempotency-Key"))
                    if receiver._on_event is not None:
                        receiver._on_event(event)
                reply = json.dumps({"status": "success" if status == 202 else "error"}).encode()
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the demo prints the events itself; no request logs

        super().__init__(port, Handler)

    @property
    def url(self) -> str:
        """Base URL to give the worker as ``EWS_PAGER_URL``."""
        return f"http://{HOST}:{self.port}"

    def _next_status(self) -> int:
        with self._lock:
            return self.statuses.pop(0) if self.statuses else 202

    def received(self) -> list[dict[str, Any]]:
        """A copy of every accepted event, in arrival order."""
        with self._lock:
            return list(self.events)

    def keys(self) -> list[str | None]:
        """A copy of the accepted events' idempotency keys, in arrival order."""
        with self._lock:
            return list(self.idempotency_keys)

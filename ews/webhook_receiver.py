"""A local receiver of the signed alert webhook, for the demo.

A real HTTP server on loopback: it checks each request's ``X-EWS-Signature`` against the
shared secret and the ``X-EWS-Timestamp`` tolerance exactly as a hospital receiver should
(:func:`alerts.webhook.verify_webhook`), answers 202 when they hold and 401 when not, drops
repeats by ``Idempotency-Key``, and hands each accepted body to a callback.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from alerts.webhook import IDEMPOTENCY_HEADER, verify_webhook
from ews.loopback import LoopbackServer
from streams.broker import HOST, free_port


class WebhookReceiver(LoopbackServer):
    """A loopback HTTP server verifying and recording signed webhook calls."""

    def __init__(
        self,
        secret: bytes,
        port: int | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        port = port or free_port()
        self.secret = secret
        self.accepted: list[dict[str, Any]] = []
        self.rejected = 0
        self.repeats = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._on_event = on_event
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = dict(self.headers.items())
                ok = verify_webhook(receiver.secret, body, headers, time.time())
                status = 202 if ok else 401
                if ok:
                    key = self.headers.get(IDEMPOTENCY_HEADER) or ""
                    with receiver._lock:
                        repeat = key in receiver._seen
                        receiver._seen.add(key)
                        if repeat:
                            receiver.repeats += 1
                        else:
                            receiver.accepted.append(json.loads(body))
                    if not repeat and receiver._on_event is not None:
                        receiver._on_event(json.loads(body))
                else:
                    with receiver._lock:
                        receiver.rejected += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(port, Handler)

    @property
    def url(self) -> str:
        """The URL to give the worker as ``EWS_WEBHOOK_URL``."""
        return f"http://{HOST}:{self.port}/ews/alerts"

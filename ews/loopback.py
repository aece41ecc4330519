"""A threaded HTTP server on 127.0.0.1 for the demo's stand-ins (pager, webhook receiver)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from streams.broker import HOST


class LoopbackServer:
    """Serves ``handler`` on ``HOST:port`` in a daemon thread; a context manager."""

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler]) -> None:
        self.port = port
        self._server = ThreadingHTTPServer((HOST, port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

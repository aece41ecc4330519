"""The worker's authenticated web endpoint: an alert's picture, ``/alerts/{alert_id}/picture.png``.

Security (docs/security.md):

- The route shows patient data, so it needs ``Authorization: Bearer <EWS_WEB_AUTH_TOKEN>``,
  compared in constant time (:func:`check_bearer`); a missing or wrong token is 401 with
  ``WWW-Authenticate: Bearer``. Without a configured token the route answers 404 whatever
  is sent (secure default: no token, no patient data). ``/metrics`` and ``/ready`` stay open:
  they carry counts and states, never a patient.
- The URL carries the opaque alert id only (``al-`` + 32 hex), never a patient identifier;
  anything else is 404 before any lookup. Responses are ``Cache-Control: no-store``.

Which worker answers: the alert-id -> alert-record index (:mod:`streams.sinks`) is written
in the partition of the alert's patient, so the worker that owns a patient's state also
holds its alerts' index entries. A worker that does not hold the alert passes the request,
with the caller's Authorization header, to every other worker of the group (their
``canonical_url`` from Faust's assignment metadata), marked ``X-EWS-Forwarded`` so a
forwarded request is never forwarded again, and returns the first picture: a request may
land on any worker behind the Service. None has it: 404 (503 while the group rebalances,
when the owner may be between workers). The PNG is drawn in one background thread from the
patient's record in the ``patients`` table (:func:`alerts.picture.render_from_state`).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
from faust import web

from alerts.picture import render_from_state
from alerts.record import PICTURE_PATH, AlertRecord
from streams.pipeline import decode_record as decode_patient

if TYPE_CHECKING:
    import faust

    from streams.app import Service
    from streams.sinks import AlertOutputs

log = logging.getLogger(__name__)

ALERT_ID = re.compile(r"^al-[0-9a-f]{32}$")
FORWARDED_HEADER = "X-EWS-Forwarded"
PEER_TIMEOUT_S = 10.0
AuthResult = Literal["ok", "unauthorized", "disabled"]

_renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alert-picture")
"""One thread draws pictures: matplotlib is not thread-safe, and the event loop stays free."""


def check_bearer(header: str | None, token: str | None) -> AuthResult:
    """``disabled`` when no token is configured; ``ok`` when ``header`` is exactly
    ``Bearer <token>`` (scheme case-insensitive, token compared in constant time);
    otherwise ``unauthorized``."""
    if not token:
        return "disabled"
    if header is None:
        return "unauthorized"
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not given:
        return "unauthorized"
    ok = hmac.compare_digest(given.strip().encode(), token.encode())
    return "ok" if ok else "unauthorized"


class PictureRoute:
    """Serves alert pictures for one worker."""

    def __init__(self, service: Service, outputs: AlertOutputs) -> None:
        self.service = service
        self.outputs = outputs
        token = service.settings.web_auth_token
        self.token = token.get_secret_value() if token is not None else None

    async def handle(self, view: web.View, request: web.Request, alert_id: str) -> web.Response:
        auth = check_bearer(request.headers.get("Authorization"), self.token)
        if auth == "disabled":
            return view.text("not found\n", status=404)
        if auth == "unauthorized":
            return view.text(
                "unauthorized\n", status=401, headers={"WWW-Authenticate": 'Bearer realm="ews"'}
            )
        if not ALERT_ID.match(alert_id):
            return view.text("not found\n", status=404)
        png = await self.local_picture(alert_id)
        if png is not None:
            return view.bytes(png, content_type="image/png", headers={"Cache-Control": "no-store"})
        if request.headers.get(FORWARDED_HEADER):
            return view.text("not here\n", status=404)
        return await self.from_peers(view, request)

    async def local_picture(self, alert_id: str) -> bytes | None:
        """The picture, when this worker holds the alert and its patient's state."""
        alert = self.outputs.alert_record(alert_id)
        if alert is None:
            return None
        stored = self.service.stored_record(alert.patient_ref.encode())
        if stored is None:
            return None
        return await asyncio.get_running_loop().run_in_executor(_renderer, _draw, stored, alert)

    def peers(self) -> list[str]:
        """Canonical URLs of the other workers of the group."""
        app = self.service.app
        own = str(app.conf.canonical_url).rstrip("/")
        hosts = cast_hosts(app.assignor.tables_metadata())
        return sorted(h.rstrip("/") for h in hosts if h.rstrip("/") != own)

    async def from_peers(self, view: web.View, request: web.Request) -> web.Response:
        peers = self.peers()
        headers = {
            "Authorization": request.headers.get("Authorization", ""),
            FORWARDED_HEADER: "1",
        }
        path = request.url.path
        timeout = aiohttp.ClientTimeout(total=PEER_TIMEOUT_S)
        statuses: list[int] = []
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def ask(peer: str) -> bytes | None:
                try:
                    async with session.get(peer + path, headers=headers) as resp:
                        statuses.append(resp.status)
                        if resp.status == 200:
                            return await resp.read()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    log.warning("picture request to a peer failed: %s", type(exc).__name__)
                    statuses.append(0)
                return None

            for found in asyncio.as_completed([ask(p) for p in peers]):
                png = await found
                if png is not None:
                    return view.bytes(
                        png, content_type="image/png", headers={"Cache-Control": "no-store"}
                    )
        if self.service.app.rebalancing or any(s in (0, 503) for s in statuses):
            return view.text("owner not reachable now, retry\n", status=503)
        return view.text("not found\n", status=404)


def cast_hosts(metadata: Any) -> list[str]:
    """The host URLs of Faust's table metadata (``{url: {topic: partitions}}``)."""
    return [str(h) for h in metadata]


def _draw(stored: bytes, alert: AlertRecord) -> bytes:
    record = decode_patient(stored)
    return render_from_state(record.state, alert)


def install(service: Service, app: faust.App, outputs: AlertOutputs) -> PictureRoute:
    """Add the picture route to the worker's web server."""
    route = PictureRoute(service, outputs)

    @app.page(PICTURE_PATH)
    async def alert_picture(view: web.View, request: web.Request, alert_id: str) -> web.Response:
        return await route.handle(view, request, alert_id)

    return route

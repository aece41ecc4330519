"""``ews demo``: the whole pipeline on one machine, from a fresh checkout.

Starts the embedded broker, a local PagerDuty stand-in, a local signed-webhook receiver and
one worker process, streams a synthetic blinatumomab cohort into the input topics the way
hospital feeds would send it (vital signs as FHIR Bundles, labs as HL7 v2 ORU^R01, bedside and
infusion events as canonical JSON), and prints what comes out: graded alerts with their
reasons and the label's suggestions, the pager calls, the webhook calls (signature checked),
the FHIR DetectedIssue/RiskAssessment Bundles, dead letters with their reasons, and running
counts. The first alerts' pictures are fetched from the worker's authenticated web endpoint
into ``var/demo/pictures/`` (the demo's bearer token is in ``var/demo/web-token``). Ctrl-C
(or ``--duration``) stops the feed, the worker and the broker, in that order, leaving no
process.

The cohort's clock is laid two months in the past and replayed at ``speedup`` x real time, so
event times stay behind the wall clock as they would in a live feed.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

from alerts.public import summary_line
from alerts.record import AlertRecord, decode_alert
from contract.events import (
    DeadLetter,
    IngestRecord,
    Observation,
    decode_deadletter,
    decode_record,
    encode,
)
from ews.pager_receiver import PagerReceiver
from ews.settings import Settings
from ews.webhook_receiver import WebhookReceiver
from simulator.config import CohortConfig
from simulator.export import fhir_bundle, hl7_message
from simulator.messages import SimMessage
from simulator.stream import Cohort, iter_messages
from streams.alerting import AlertCommand
from streams.broker import EmbeddedBroker, free_port
from streams.process import WorkerProcess, tail
from streams.publish import Publisher, ensure_topics

_DAY_MS = 86_400_000
_INTERESTING = {"temp": 38.0, "ferritin": 10_000.0}


def encode_message(msg: SimMessage) -> tuple[str, str, bytes]:
    """(input topic, patient key, bytes) for one simulated message, in its feed's format."""
    patient = msg.events[0].patient_id
    if msg.channel == "vitals" and (bundle := fhir_bundle(msg)) is not None:
        return "in.fhir", patient, msgspec.json.encode(bundle)
    if msg.channel.startswith("lab.") and (oru := hl7_message(msg)) is not None:
        return "in.hl7v2", patient, oru.encode()
    body = b'{"msg_id":"%s","patient_id":"%s","events":[%s]}' % (
        msg.msg_id.encode(),
        patient.encode(),
        b",".join(encode(e) for e in msg.events),
    )
    return "in.json", patient, body


class _Printer:
    """Prints what the worker emits, and keeps the counts."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.alerts: Counter[str] = Counter()
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.aliases: dict[str, str] = {}

    def _stamp(self) -> str:
        return f"[{time.monotonic() - self.started:6.1f}s]"

    def _alias(self, patient_id: str) -> str:
        """A per-run alias (``patient-01``...): the console names no patient, even simulated."""
        with self.lock:
            alias = self.aliases.get(patient_id)
            if alias is None:
                alias = self.aliases[patient_id] = f"patient-{len(self.aliases) + 1:02d}"
        return alias

    def record(self, rec: IngestRecord) -> None:
        with self.lock:
            self.outcomes[rec.outcome] += 1
        notable = [
            f"{e.signal} {e.value:g} {e.unit}"
            for e in rec.events
            if isinstance(e, Observation) and e.value >= _INTERESTING.get(e.signal, 1e18)
        ]
        if rec.outcome in ("corrected", "retracted") or notable:
            what = ", ".join(notable) or f"{len(rec.events)} event(s)"
            who = self._alias(rec.patient_id)
            print(f"{self._stamp()} {who:<10} {rec.source:<7} {rec.outcome:<9} {what}")

    def alert(self, alert: AlertRecord) -> None:
        with self.lock:
            self.alerts[f"{alert.risk} {alert.transition}"] += 1
        muted = " (held back by suppression)" if alert.muted else ""
        who = self._alias(alert.patient_ref)
        print(f"{self._stamp()} ALERT {who:<10} {summary_line(alert, 200)}{muted}")
        for action in alert.suggested_actions[:1]:
            print(f"{' ' * 9}suggestion for review: {action.text[:110]}")

    def page(self, event: dict[str, Any]) -> None:
        payload = event.get("payload", {})
        what = payload.get("summary", "")[:90] if payload else ""
        print(f"{self._stamp()} PAGER <- {event.get('event_action')}: {what}")

    def webhook(self, body: dict[str, Any]) -> None:
        with self.lock:
            self.alerts["webhook calls"] += 1
        print(
            f"{self._stamp()} WEBHOOK <- signed, verified: {body.get('risk')} "
            f"{body.get('transition')} grade {body.get('grade')} ({body.get('alert_id')})"
        )

    def fhir(self, bundle: dict[str, Any]) -> None:
        kinds = [e["resource"]["resourceType"] for e in bundle.get("entry", [])]
        issue = bundle["entry"][0]["resource"] if kinds else {}
        with self.lock:
            self.alerts["fhir bundles"] += 1
        print(
            f"{self._stamp()} FHIR -> {' + '.join(kinds)}: severity {issue.get('severity')}, "
            f"status {issue.get('status')} ({issue.get('id')})"
        )

    def picture(self, alert_id: str, path: Path | None) -> None:
        what = f"saved {path}" if path else "not available"
        print(f"{self._stamp()} PICTURE of {alert_id}: {what}")

    def deadletter(self, letter: DeadLetter) -> None:
        with self.lock:
            self.outcomes["dead_lettered"] += 1
            self.reasons[letter.reason] += 1
        where = f" item {letter.item}" if letter.item is not None else ""
        print(f"{self._stamp()} DEAD LETTER {letter.reason}{where}: {letter.detail[:90]}")

    def summary(self) -> str:
        with self.lock:
            outs = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
            why = ", ".join(f"{k} {v}" for k, v in self.reasons.most_common(4))
            alerts = ", ".join(f"{k} {v}" for k, v in sorted(self.alerts.items()))
        return (
            f"{self._stamp()} -- messages: {outs or 'none yet'}"
            + (f" | dead letters: {why}" if why else "")
            + (f" | alerts: {alerts}" if alerts else "")
        )


def run_demo(patients: int, speedup: float, duration_s: float, seed: int) -> int:
    """Run the demo; returns the process exit code."""
    work = Path("var/demo")
    work.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    print("Starting the embedded Kafka-protocol broker (Tansu) on loopback...", flush=True)
    printer = _Printer()
    webhook_secret = secrets.token_hex(24)
    web_token = secrets.token_urlsafe(24)
    token_file = work / "web-token"
    token_file.write_text(web_token, encoding="utf-8")
    token_file.chmod(0o600)
    web_port = free_port()
    with (
        EmbeddedBroker(log_path=work / "broker.log") as broker,
        PagerReceiver(on_event=printer.page) as pager,
        WebhookReceiver(webhook_secret.encode(), on_event=printer.webhook) as hook,
    ):
        settings = Settings(
            bootstrap_servers=broker.bootstrap,
            store="memory://",
            data_dir=work / "data",
            topic_partitions=4,
        )
        ensure_topics(settings)
        env = {
            "EWS_BOOTSTRAP_SERVERS": broker.bootstrap,
            "EWS_STORE": "memory://",
            "EWS_DATA_DIR": str(work / "data"),
            "EWS_TOPIC_PARTITIONS": "4",
            "EWS_PAGER_URL": pager.url,
            "EWS_PAGER_ROUTING_KEYS": '{"*": "demo-routing-key"}',
            "EWS_WEBHOOK_URL": hook.url,
            "EWS_WEBHOOK_SECRET": webhook_secret,
            "EWS_WEB_AUTH_TOKEN": web_token,
            "EWS_WEB_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
            "EWS_PUBLISH_FHIR": "true",
        }
        worker = WorkerProcess(env, log_path=work / "worker.log", web_port=web_port).start()
        try:
            print(f"Broker on {broker.bootstrap}; worker pid {worker.proc and worker.proc.pid}")
            print(f"Worker log: {work / 'worker.log'}; waiting for it to be ready...")
            worker.wait_ready(timeout_s=120)
            print(f"Worker ready: metrics on http://127.0.0.1:{worker.web_port}/metrics")
            print(f"Local PagerDuty stand-in on {pager.url} (events are printed as PAGER <-)")
            print(f"Local webhook receiver on {hook.url} (verified calls print as WEBHOOK <-)")
            print(
                f"Alert pictures: GET http://127.0.0.1:{web_port}/alerts/<alert id>/picture.png"
                f" with 'Authorization: Bearer <token in {token_file}>'"
            )
            reader = threading.Thread(
                target=_read,
                args=(settings, printer, stop, web_token, work / "pictures"),
                daemon=True,
                name="reader",
            )
            reader.start()
            _feed(settings, patients, seed, speedup, duration_s, printer, stop)
        except KeyboardInterrupt:
            print("\nCtrl-C: stopping the feed, the worker and the broker...", flush=True)
        finally:
            stop.set()
            print(printer.summary())
            worker.stop()
    print("Stopped cleanly.")
    return 0


_ACK_AFTER_MS = 5 * 60_000
"""The demo's on-call clinician acknowledges a new alert five (simulated) minutes later."""


_PICTURES = 3
"""How many alert pictures the demo fetches from the worker's web endpoint."""


def _fetch_picture(
    alert: AlertRecord, token: str, folder: Path, printer: _Printer, stop: threading.Event
) -> None:
    """GET an alert's picture as a clinician's browser would (with the bearer token)."""
    if alert.picture_url is None:
        return
    request = urllib.request.Request(
        alert.picture_url, headers={"Authorization": f"Bearer {token}"}
    )
    for _ in range(20):  # the picture index is written just after the alert
        if stop.is_set():
            return
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"{alert.alert_id}.png"
                path.write_bytes(resp.read())
                printer.picture(alert.alert_id, path)
                return
        except (urllib.error.URLError, OSError):
            time.sleep(1.0)
    printer.picture(alert.alert_id, None)


def _read(
    settings: Settings,
    printer: _Printer,
    stop: threading.Event,
    token: str,
    pictures: Path,
) -> None:
    topics = [settings.topic(t) for t in ("canonical", "deadletter", "alerts", "fhir")]
    fetched = 0
    with Publisher(settings) as acks:
        for topic, value in tail(settings.bootstrap_servers, topics, stop.is_set):
            if topic.endswith(".canonical"):
                printer.record(decode_record(value))
            elif topic.endswith(".fhir"):
                printer.fhir(json.loads(value))
            elif topic.endswith(".alerts"):
                alert = decode_alert(value)
                printer.alert(alert)
                if alert.transition == "triggered" and alert.grade and fetched < _PICTURES:
                    fetched += 1
                    threading.Thread(
                        target=_fetch_picture,
                        args=(alert, token, pictures, printer, stop),
                        daemon=True,
                    ).start()
                if alert.transition in ("triggered", "escalated") and not alert.muted:
                    command = AlertCommand(
                        kind="acknowledge",
                        patient_id=alert.patient_ref,
                        risk=alert.risk,
                        by="demo-oncall",
                        at_ms=alert.event_ms + _ACK_AFTER_MS,
                        episode=alert.episode,
                    )
                    acks.send("acks", alert.patient_ref, msgspec.json.encode(command))
                    acks.flush()
            else:
                printer.deadletter(decode_deadletter(value))


def _feed(
    settings: Settings,
    patients: int,
    seed: int,
    speedup: float,
    duration_s: float,
    printer: _Printer,
    stop: threading.Event,
) -> None:
    now_ms = int(time.time() * 1000)
    config = CohortConfig(
        n_patients=patients,
        seed=seed,
        start_ms=now_ms - 60 * _DAY_MS,
        enrollment_days=0.25,
    )
    print(
        f"Streaming {patients} synthetic patients at {speedup:g}x real time "
        "(vitals as FHIR, labs as HL7 v2, bedside events as JSON)..."
    )
    wall_start = time.monotonic()
    first_arrival: int | None = None
    last_summary = wall_start
    with Publisher(settings) as publisher:
        for msg in iter_messages(Cohort(config)):
            if stop.is_set():
                break
            if first_arrival is None:
                first_arrival = msg.arrival_ms
            due = wall_start + (msg.arrival_ms - first_arrival) / 1000 / speedup
            while (delay := due - time.monotonic()) > 0:
                time.sleep(min(delay, 0.5))
                publisher.flush()
                if time.monotonic() - last_summary >= 10:
                    print(printer.summary(), flush=True)
                    last_summary = time.monotonic()
            if duration_s and time.monotonic() - wall_start > duration_s:
                break
            topic, key, body = encode_message(msg)
            publisher.send(topic, key, body)
    print(
        f"Feed finished: {publisher.sent} messages sent, "
        f"{publisher.failed} never reached the broker.",
        file=sys.stderr,
    )
    # Let the worker drain what was sent before the summary.
    time.sleep(3)

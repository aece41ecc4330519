"""The PagerDuty sink against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import pytest

from alerts.delivery import DeadLetterDelivery, RetrySettings
from alerts.ledger import InMemoryLedger, decode_delivery, encode_delivery
from alerts.pager import PagerSettings, PagerSink, routing_key, severity
from alerts.record import AlertRecord
from tests.alerts.alert_factory import incident
from tests.alerts.helpers import PATIENT
from tests.alerts.server import ScriptedServer, pagerduty_check

FAST = RetrySettings(
    timeout_s=0.2, max_attempts=4, backoff_base_s=0.5, backoff_cap_s=8.0, queue_size=8, lanes=2
)


class Harness:
    def __init__(self, server: ScriptedServer, retry: RetrySettings = FAST, **kw: Any) -> None:
        self.sleeps: list[float] = []
        self.dead: list[DeadLetterDelivery] = []
        self.events: list[tuple[str, str]] = []
        ledger = kw.pop("ledger", None)
        self.ledger = InMemoryLedger() if ledger is None else ledger
        settings = PagerSettings(
            routing_keys={"*": "R-DEFAULT", "icans": "R-NEURO", "crs/icu": "R-ICU-CRS"},
            base_url=server.base_url,
            retry=retry,
        )

        async def fake_sleep(s: float) -> None:  # records the delay, does not wait it out
            self.sleeps.append(s)
            await asyncio.sleep(0)

        self.sink = PagerSink(
            settings,
            self.ledger,
            self.dead.append,
            on_event=lambda e, r: self.events.append((e, r)),
            rng=random.Random(7),
            sleep=fake_sleep,
            **kw,
        )


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(coro(), timeout=20))


def trigger() -> AlertRecord:
    return incident()[0]


def test_trigger_accepted_with_public_payload_only() -> None:
    async def main() -> None:
        async with ScriptedServer(check=pagerduty_check) as srv:
            h = Harness(srv)
            await h.sink.start()
            alerts = incident()
            assert [h.sink.submit(a) for a in alerts] == ["queued"] * 4
            await h.sink.join()
            await h.sink.stop()
        assert [r.json()["event_action"] for r in srv.received] == [
            "trigger",
            "trigger",
            "acknowledge",
            "resolve",
        ]
        first = srv.received[0].json()
        assert first["routing_key"] == "R-DEFAULT"
        assert first["dedup_key"] == alerts[0].dedup_key and len(first["dedup_key"]) <= 255
        assert {r.json()["dedup_key"] for r in srv.received} == {alerts[0].dedup_key}
        payload = first["payload"]
        assert payload["severity"] == "warning" and payload["source"] == "blina-ews"
        assert payload["summary"].startswith("CRS grade 2 - triggered (cycle 1 day 2)")
        details = payload["custom_details"]
        assert details["alert_id"] == alerts[0].alert_id
        assert details["risk"] == "crs" and details["grade"] == 2
        assert details["criteria"] == ["ASTCT-CRS-2019"]
        assert details["picture_url"].startswith("https://ews.hospital.example/alerts/")
        assert srv.received[1].json()["payload"]["severity"] == "error"
        assert srv.received[0].headers["Idempotency-Key"] == alerts[0].alert_id
        for r in srv.received:  # nothing that identifies the patient leaves
            text = r.body.decode()
            assert PATIENT not in text and "Encounter/" not in text and "m-17" not in text
            assert "rn-204" not in text
        assert h.sink.counters.delivered == 4 and h.sink.counters.failed == 0
        assert h.dead == [] and h.sleeps == []

    run(main)


def test_retry_after_on_429_is_honoured() -> None:
    async def main() -> None:
        async with ScriptedServer([(429, {"Retry-After": "3"})], check=pagerduty_check) as srv:
            h = Harness(srv)
            await h.sink.start()
            h.sink.submit(trigger())
            await h.sink.join()
            await h.sink.stop()
        assert len(srv.received) == 2
        assert h.sleeps == [3.0]
        assert h.sink.counters.retries_by_reason == {"http_429": 1}
        assert ("retry", "http_429") in h.events and ("delivered", "http_202") in h.events

    run(main)


def test_5xx_backoff_grows_with_jitter_then_succeeds() -> None:
    async def main() -> None:
        script: list[Any] = [(500, {}), (502, {}), (503, {})]
        async with ScriptedServer(script, check=pagerduty_check) as srv:
            h = Harness(srv)
            await h.sink.start()
            h.sink.submit(trigger())
            await h.sink.join()
            await h.sink.stop()
        assert len(srv.received) == 4
        assert len(h.sleeps) == 3
        for i, delay in enumerate(h.sleeps):
            d = min(FAST.backoff_cap_s, FAST.backoff_base_s * 2**i)
            assert d / 2 <= delay <= d
        assert h.sink.counters.delivered == 1 and h.sink.counters.retries == 3

    run(main)


def test_timeout_is_retried() -> None:
    async def main() -> None:
        async with ScriptedServer([1.0], check=pagerduty_check) as srv:
            h = Harness(srv)
            await h.sink.start()
            h.sink.submit(trigger())
            await h.sink.join()
            await h.sink.stop()
        assert len(srv.received) == 2
        assert h.sink.counters.retries_by_reason == {"timeout": 1}
        assert h.sink.counters.delivered == 1

    run(main)


def test_gives_up_to_dead_letter_and_ledger() -> None:
    async def main() -> None:
        async with ScriptedServer([(503, {})] * 10, check=pagerduty_check) as srv:
            h = Harness(srv)
            await h.sink.start()
            alert = trigger()
            h.sink.submit(alert)
            await h.sink.join()
            await h.sink.stop()
            assert len(srv.received) == FAST.max_attempts
            assert len(h.dead) == 1
            dl = h.dead[0]
            assert dl.reason == "http_503" and dl.attempts == FAST.max_attempts
            assert dl.key == alert.alert_id and json.loads(dl.body)["dedup_key"] == alert.dedup_key
            assert h.sink.counters.failures_by_reason == {"http_503": 1}
            rec = await h.ledger.get("pagerduty", alert.alert_id)
            assert rec is not None and rec.status == "dead_lettered" and rec.attempts == 4
            assert decode_delivery(encode_delivery(rec)) == rec

    run(main)


def test_until_delivered_outlasts_a_long_outage_and_pages_once() -> None:
    """max_attempts 0 (the worker's default): 40 failures in a row, then one delivery."""

    async def main() -> None:
        outage = [(503, {})] * 25 + [(429, {})] * 15
        async with ScriptedServer(outage, check=pagerduty_check) as srv:
            h = Harness(srv, retry=msgspec.structs.replace(FAST, max_attempts=0))
            await h.sink.start()
            alert = trigger()
            h.sink.submit(alert)
            await h.sink.join()
            await h.sink.stop()
            assert len(srv.received) == 41 and h.dead == []
            assert FAST.backoff_cap_s / 2 <= max(h.sleeps) <= FAST.backoff_cap_s  # capped (jitter)
            rec = await h.ledger.get("pagerduty", alert.alert_id)
            assert rec is not None and rec.status == "delivered" and rec.attempts == 41

    run(main)


def test_client_error_is_not_retried() -> None:
    async def main() -> None:
        async with ScriptedServer([(400, {})], check=pagerduty_check) as srv:
            h = Harness(srv)
            await h.sink.start()
            h.sink.submit(trigger())
            await h.sink.join()
            await h.sink.stop()
        assert len(srv.received) == 1 and h.sleeps == []
        assert [d.reason for d in h.dead] == ["http_400"]

    run(main)


def test_connection_refused_is_retried_then_dead_lettered() -> None:
    async def main() -> None:
        async with ScriptedServer() as srv:
            url = srv.base_url  # the server is gone after this block: the port refuses
        h = Harness(ScriptedServer(base_url=url))
        await h.sink.start()
        h.sink.submit(trigger())
        await h.sink.join()
        await h.sink.stop()
        assert [d.reason for d in h.dead] == ["connection"]
        assert h.sink.counters.retries_by_reason == {"connection": FAST.max_attempts - 1}

    run(main)


def test_bounded_queue_overflow_never_blocks() -> None:
    async def main() -> None:
        gate = asyncio.Event()
        retry = msgspec.structs.replace(FAST, queue_size=2, lanes=1)
        async with ScriptedServer(check=pagerduty_check, gate=gate) as srv:
            h = Harness(srv, retry)
            await h.sink.start()
            alerts = incident()
            assert h.sink.submit(alerts[0]) == "queued"
            await asyncio.sleep(0.05)  # the lane picks it up and waits at the gate
            assert h.sink.submit(alerts[1]) == "queued"
            assert h.sink.submit(alerts[2]) == "queued"
            assert h.sink.submit(alerts[3]) == "rejected"  # full: counted, dead-lettered
            assert h.sink.counters.queue_full == 1 and h.sink.counters.failed == 1
            assert [d.reason for d in h.dead] == ["queue_full"]
            assert h.dead[0].key == alerts[3].alert_id
            gate.set()
            await h.sink.join()
            await h.sink.stop()
        assert len(srv.received) == 3 and h.sink.counters.delivered == 3

    run(main)


def test_idempotent_across_resubmission_and_restart() -> None:
    async def main() -> None:
        ledger = InMemoryLedger()
        alert = trigger()
        async with ScriptedServer(check=pagerduty_check) as srv:
            h = Harness(srv, ledger=ledger)
            await h.sink.start()
            h.sink.submit(alert)
            h.sink.submit(alert)  # still queued: dropped as a duplicate
            await h.sink.join()
            h.sink.submit(alert)  # delivered before: the ledger skips it
            await h.sink.join()
            await h.sink.stop()
            assert h.sink.counters.duplicates == 2
            # a worker restart: a new sink, the same ledger, the same replayed transition
            h2 = Harness(srv, ledger=ledger)
            await h2.sink.start()
            h2.sink.submit(incident()[0])
            await h2.sink.join()
            await h2.sink.stop()
            assert h2.sink.counters.duplicates == 1 and h2.sink.counters.delivered == 0
        assert len(srv.received) == 1 and ledger.size == 1

    run(main)


def test_not_paged_and_unroutable() -> None:
    async def main() -> None:
        async with ScriptedServer(check=pagerduty_check) as srv:
            h = Harness(srv)
            await h.sink.start()
            quiet = msgspec.structs.replace(trigger(), action=None, transition="suppressed")
            assert h.sink.submit(quiet) == "not_paged"
            h.sink.settings = msgspec.structs.replace(h.sink.settings, routing_keys={})
            assert h.sink.submit(trigger()) == "rejected"
            await h.sink.stop()
        assert srv.received == []
        assert [d.reason for d in h.dead] == ["no_routing_key"]

    run(main)


def test_routing_and_severity_tables() -> None:
    keys = {"*": "A", "icans": "B", "crs/icu": "C", "*/icu": "D"}
    assert routing_key(keys, "crs", "icu") == "C"
    assert routing_key(keys, "hlh", "icu") == "D"
    assert routing_key(keys, "icans", None) == "B"
    assert routing_key(keys, "hlh", "ward-7") == "A"
    assert routing_key({}, "crs", None) is None
    settings = PagerSettings(routing_keys=keys)
    base = trigger()
    got = [severity(msgspec.structs.replace(base, grade=g), settings) for g in (0, 1, 2, 3, 4)]
    assert got == ["info", "info", "warning", "error", "critical"]
    assert severity(msgspec.structs.replace(base, grade=None), settings) == "warning"


def test_submit_before_start_is_dead_lettered() -> None:
    h = Harness(ScriptedServer(base_url="http://127.0.0.1:9"))
    assert h.sink.submit(trigger()) == "rejected"
    assert [d.reason for d in h.dead] == ["not_running"]


def test_summary_is_cut_to_1024() -> None:
    async def main() -> None:
        async with ScriptedServer(check=pagerduty_check) as srv:
            h = Harness(srv)
            await h.sink.start()
            h.sink.submit(msgspec.structs.replace(trigger(), reason="x" * 5000))
            await h.sink.join()
            await h.sink.stop()
        assert len(srv.received[0].json()["payload"]["summary"]) == 1024
        assert h.sink.counters.delivered == 1

    run(main)


@pytest.mark.parametrize("bad", [{"timeout_s": 1.0, "lanes": 0}, {"max_attempts": -1}])
def test_settings_validated(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Harness(ScriptedServer(base_url="http://127.0.0.1:9"), RetrySettings(**bad))

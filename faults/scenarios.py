"""The fault scenarios. Each runs against its own broker, pager and workers, and returns a
:class:`Result` with the accounting (see :mod:`faults`).

=============  ===========================================================================
baseline       no fault: checks the oracle against a real worker
worker_kill    SIGKILL of the only worker mid-stream, then a restart
rebalance      two workers, one SIGKILLed mid-stream: the survivor takes its partitions
broker_restart the Tansu process stopped and started again on the same port mid-run
pager_outage   the pager answers 503 (or refuses connections) for minutes, then recovers
poison         bad messages on every input topic (FHIR, HL7 v2, JSON, acks), mid-stream
burst          the normal rate, then 10x the normal rate
=============  ===========================================================================
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kafka.partitioner.default import murmur2

from faults.harness import Cluster, Feed, Outputs, Ref, read_alerts, read_outputs, wait_pages
from faults.harness import wait_until as poll
from faults.oracle import Message, Reference, cohort, reference_run
from streams.broker import EmbeddedBroker
from streams.process import WorkerProcess
from streams.publish import ensure_topics

FUZZ_CORPUS = Path(__file__).resolve().parent.parent / "fuzz" / "corpus"
NORMAL_RATE = 25.0
"""Messages per second of ``ews demo``'s default feed in its first minute (40 patients at
3600x real time); the burst scenario sends at 10x this."""


@dataclass(frozen=True)
class Profile:
    """How big and how long the scenarios are."""

    name: str = "full"
    patients: int = 6
    seed: int = 11
    rate: float = NORMAL_RATE
    """Normal feed rate (messages per second) of the burst scenario."""
    burst_factor: float = 10.0
    normal_s: float = 20.0
    """Seconds at the normal rate before the burst; the rest of the cohort is the burst."""
    pager_outage_s: float = 90.0
    pager_outage_mode: str = "503"
    pager_max_attempts: int = 50
    """``EWS_PAGER_MAX_ATTEMPTS`` of the pager-outage scenario (see docs/reliability.md)."""
    broker_down_s: float = 5.0
    wait_s: float = 240.0
    """Longest wait for the inputs to be accounted for, per phase."""


QUICK = Profile(name="quick", patients=3, normal_s=8.0, pager_outage_s=30.0, wait_s=150.0)
FULL = Profile()


@dataclass
class Result:
    """One scenario's accounting; ``passed`` when ``failures`` is empty."""

    scenario: str
    injected: str
    sent: int = 0
    canonical: int = 0
    dead_lettered: int = 0
    """Inputs named only by dead letters (an input with a canonical record and a dead
    letter for one rejected item counts as canonical)."""
    missing: int = 0
    counted: float | None = 0.0
    """Sum over worker processes of ``ews_ingest_messages_total`` (a killed worker's count
    is scraped just before the SIGKILL; ``None``: a worker's last count could not be read)."""
    transitions_reference: int = 0
    transitions_observed: int = 0
    transitions_lost: int = 0
    transitions_extra: int = 0
    pages_expected: int = 0
    pages_delivered: int = 0
    pages_duplicates: int = 0
    pages_missing: int = 0
    pages_unexpected: int = 0
    pager_dead_letters: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def account(
    result: Result,
    sent: dict[Ref, Message],
    outputs: Outputs,
    counted: float | None,
    reference: Reference,
    observed: set[str],
    pages: Counter[str | None],
    *,
    counted_at_least: bool = False,
    killed: bool = False,
) -> Result:
    """Fill in the counts and the generic checks (inputs, metrics, transitions, pages).

    ``killed``: a worker was SIGKILLed. A page it delivered in the milliseconds before its
    ledger record reached the broker is delivered again by its successor, with the same
    ``Idempotency-Key`` and PagerDuty ``dedup_key`` (at least once; PagerDuty merges a
    repeated event into the open incident, so the on-call is not notified twice). Such
    redeliveries are counted and noted, not failed, in those scenarios only; anywhere else a
    repeated key is a bug and fails.
    """
    refs = set(sent)
    result.sent = len(refs)
    result.canonical = len(refs & outputs.canonical)
    result.dead_lettered = len((refs & set(outputs.dead)) - outputs.canonical)
    result.missing = len(refs - outputs.accounted)
    result.counted = counted
    result.transitions_reference = len(reference.transitions)
    result.transitions_observed = len(observed)
    result.transitions_lost = len(set(reference.transitions) - observed)
    result.transitions_extra = len(observed - set(reference.transitions))
    expected = reference.paging
    result.pages_expected = len(expected)
    result.pages_delivered = len(expected & {k for k in pages if k})
    result.pages_duplicates = sum(n - 1 for n in pages.values() if n > 1)
    result.pages_missing = len(expected - set(pages))
    result.pages_unexpected = sum(n for k, n in pages.items() if k not in expected)
    result.pager_dead_letters = sum(outputs.pager_dead.values())
    f = result.failures
    if result.missing:
        f.append(f"{result.missing} input offsets not accounted for")
        result.notes.append("not accounted for: " + _ranges(refs - outputs.accounted, refs))
    if counted is None:
        result.notes.append("metrics: a worker's last count could not be scraped (not checked)")
    elif counted_at_least and counted < result.sent:
        f.append(f"metrics counted {counted:g} < {result.sent} inputs")
    elif not counted_at_least and counted != result.sent:
        f.append(f"metrics counted {counted:g} != {result.sent} inputs")
    if result.transitions_lost or result.transitions_extra:
        f.append(
            f"alert transitions: {result.transitions_lost} lost, "
            f"{result.transitions_extra} not in the reference"
        )
    if not reference.transitions:
        f.append("the reference run made no alert transition: nothing was checked")
    if killed and result.pages_duplicates:
        result.notes.append(
            f"{result.pages_duplicates} page(s) delivered again after the SIGKILL with the "
            "same idempotency key (delivered just before the kill, ledger record not yet "
            "written; merged by PagerDuty's dedup_key)"
        )
    duplicates = 0 if killed else result.pages_duplicates
    if result.pages_missing or duplicates or result.pages_unexpected:
        f.append(
            f"pages: {result.pages_missing} missing, {result.pages_duplicates} duplicates, "
            f"{result.pages_unexpected} unexpected"
        )
    if outputs.pager_dead:
        f.append(f"pages dead-lettered: {dict(outputs.pager_dead)}")
    return result


def _ranges(missing: set[Ref], sent: set[Ref]) -> str:
    """``topic[p] a-b of c-d`` per partition: which offsets are missing out of those sent
    (a stalled partition shows as one range at its end, a skipped one in the middle)."""
    parts: list[str] = []
    for topic, partition in sorted({(t, p) for t, p, _ in missing}):
        gone = sorted(o for t, p, o in missing if (t, p) == (topic, partition))
        all_ = sorted(o for t, p, o in sent if (t, p) == (topic, partition))
        parts.append(
            f"{topic}[{partition}] {len(gone)} in {gone[0]}-{gone[-1]} of {all_[0]}-{all_[-1]}"
        )
    return "; ".join(parts)


def _finish(
    result: Result,
    cluster: Cluster,
    feed: Feed,
    order: list[Message],
    profile: Profile,
    *,
    counted_at_least: bool = False,
    killed: bool = False,
    pages_timeout_s: float = 60.0,
) -> Result:
    """Wait for the inputs, outputs and pages of a single-epoch run, then account."""
    sent = feed.settle()
    outputs = read_outputs(cluster.bootstrap, cluster.settings, set(sent), profile.wait_s)
    counted = cluster.scrape_all()
    reference = reference_run(cluster.settings, order)
    observed = read_alerts(cluster.bootstrap, cluster.settings, set(reference.transitions))
    assert cluster.pager is not None
    wait_pages(cluster.pager, reference.paging, pages_timeout_s)
    pages = Counter(cluster.pager.keys())
    outputs = read_outputs(cluster.bootstrap, cluster.settings, set(sent), 5)  # pager DLQ too
    if cluster.restarts:
        result.notes.append("supervisor: " + "; ".join(cluster.restarts))
    result.detail["restarts"] = len(cluster.restarts)
    return account(
        result,
        sent,
        outputs,
        counted,
        reference,
        set(observed),
        pages,
        counted_at_least=counted_at_least,
        killed=killed,
    )


def _accounted_at_least(cluster: Cluster, feed: Feed, n: int, timeout_s: float) -> int:
    """Block until ``n`` of the sent inputs are accounted for; how many were."""
    sent = feed.settle()
    target = set(list(sent)[:n])
    out = read_outputs(cluster.bootstrap, cluster.settings, target, timeout_s)
    return len(out.accounted & set(sent))


# --- the scenarios ----------------------------------------------------------------------


def baseline(work: Path, profile: Profile) -> Result:
    result = Result("baseline", "nothing (checks the oracle against a real worker)")
    cluster = Cluster(work)
    try:
        messages = cohort(profile.patients, profile.seed)
        cluster.start_worker()
        feed = Feed(cluster.settings)
        feed.paced(messages, 0)
        return _finish(result, cluster, feed, messages, profile)
    finally:
        cluster.close()


def worker_kill(work: Path, profile: Profile) -> Result:
    cluster = Cluster(work)
    try:
        messages = cohort(profile.patients, profile.seed)
        first = cluster.start_worker()
        feed = Feed(cluster.settings)
        feed.paced(messages, 0)
        done = _accounted_at_least(cluster, feed, len(messages) // 3, profile.wait_s)
        cluster.kill(first)
        result = Result(
            "worker_kill",
            f"SIGKILL of the only worker after {done}/{len(messages)} inputs, then a restart",
        )
        if done >= len(messages):
            result.failures.append("the worker finished before it was killed")
        cluster.start_worker()
        cluster.supervise()
        out = _finish(result, cluster, feed, messages, profile, counted_at_least=True, killed=True)
        killed = cluster.counted.get(0, 0.0)
        restarted = sum(v for n, v in cluster.counted.items() if n >= 1)
        out.notes.append(
            f"killed worker counted {killed:g} (scraped just before the SIGKILL), the restarted "
            f"one {restarted:g}: {killed + restarted - out.sent:g} redelivered "
            "(at-least-once; recognised as duplicates by the ingest dedup)"
        )
        if restarted == 0:
            out.failures.append("the restarted worker processed nothing")
        return out
    finally:
        cluster.close()


def covering_cohort(profile: Profile, partitions: int) -> list[Message]:
    """The profile's cohort, grown until its patients fall on every partition (so that
    each of two workers has traffic whichever partitions it gets)."""
    n = profile.patients
    while True:
        messages = cohort(n, profile.seed)
        keys = {m.key for m in messages if m.key is not None}
        if len({(murmur2(k) & 0x7FFFFFFF) % partitions for k in keys}) == partitions or n > 64:
            return messages
        n += 1


def rebalance(work: Path, profile: Profile) -> Result:
    cluster = Cluster(work)
    try:
        messages = covering_cohort(profile, cluster.settings.topic_partitions)
        first = cluster.start_worker()
        survivor = cluster.start_worker()
        # The second join rebalances the group: wait until both are ready again.
        poll(lambda: _ready(first) and _ready(survivor), 60)
        feed = Feed(cluster.settings)
        feed.paced(messages, 0)
        done = _accounted_at_least(cluster, feed, len(messages) // 3, profile.wait_s)
        cluster.kill(first)
        cluster.supervise()
        before = cluster.scrape(survivor) or 0.0
        killed_count = cluster.counted.get(0, 0.0)
        result = Result(
            "rebalance",
            f"2 workers; SIGKILL of one after {done}/{len(messages)} inputs "
            "(the survivor takes its partitions)",
        )
        out = _finish(result, cluster, feed, messages, profile, counted_at_least=True, killed=True)
        after = sum(v for n, v in cluster.counted.items() if n >= 1)
        out.detail.update(killed_counted=killed_count, survivor_before=before, survivor=after)
        if killed_count == 0:
            out.failures.append("the killed worker had processed nothing: no takeover tested")
        if not survivor.alive and not cluster.restarts:
            out.failures.append("the surviving worker died")
        out.notes.append(
            f"killed worker counted {killed_count:g}; survivor {before:g} at the kill, "
            f"{after:g} at the end"
        )
        return out
    finally:
        cluster.close()


def _ready(worker: WorkerProcess) -> bool:
    return worker.get("/ready")[0] == 200


def broker_restart(work: Path, profile: Profile) -> Result:
    """Stop the Tansu process mid-run and start it again on the same port.

    Tansu here keeps everything in memory (broker-notes.md, quirk 6), so the restarted
    broker has lost every topic, offset, changelog and group: harsher than a Kafka broker
    restart, which keeps its log. The producers re-create the topics (as an integration
    engine's deployment would) and send the second half of the cohort. Pass: ``/ready`` is
    not 200 while the broker is down, and the worker either processes the second half by
    itself or fails loudly (exits, or ``/ready`` 503) and a supervisor's restart processes
    it. Fail: alive, ready and not processing (a silent stop).

    The oracle has two epochs. Before the restart: the reference of the first half. After:
    a worker that kept running keeps its state, so the continuous reference minus the first
    half; a worker that restarted starts from nothing (its state went with the broker), so
    the reference of a fresh pipeline over the second half. Transitions and pages are
    compared per epoch (alert ids can repeat across epochs when state was lost: the same
    patient, risk and episode number paged again, which is what a clinician should get
    after the system lost its memory).
    """
    result = Result("broker_restart", "")
    cluster = Cluster(work)
    try:
        messages = cohort(profile.patients, profile.seed)
        half = len(messages) // 2
        worker = cluster.start_worker()
        feed = Feed(cluster.settings)
        feed.paced(messages[:half], 0)
        sent1 = feed.settle()
        out1 = read_outputs(cluster.bootstrap, cluster.settings, set(sent1), profile.wait_s)
        ref1 = reference_run(cluster.settings, messages[:half])
        alerts1 = read_alerts(cluster.bootstrap, cluster.settings, set(ref1.transitions))
        assert cluster.pager is not None
        wait_pages(cluster.pager, ref1.paging, 60)
        pages1 = Counter(cluster.pager.keys())
        cluster.scrape(worker)  # its count at the end of the first epoch
        feed.close()

        port = cluster.broker.port
        cluster.broker.stop()
        down_ready = _watch(worker, profile.broker_down_s)
        cluster.broker = EmbeddedBroker(port=port, log_path=work / "broker-2.log").start()
        ensure_topics(cluster.settings)
        feed = Feed(cluster.settings)
        feed.paced(messages[half:], 0)
        sent2 = feed.settle()
        # A worker that stopped itself (loud) makes no more outputs: no use waiting them out.
        out2 = read_outputs(
            cluster.bootstrap,
            cluster.settings,
            set(sent2),
            profile.wait_s,
            give_up=lambda: not worker.alive,
        )
        phases = _watch(worker, 2.0)
        recovered = set(sent2) <= out2.accounted
        scraped = worker.alive and cluster.scrape(worker) is not None  # before it may stop
        loud = not worker.alive or all(s != 200 for s, _ in phases)
        how = "recovered by itself"
        if not recovered and loud:
            how = "failed loudly; a supervisor restart recovered it"
            worker.stop()
            try:
                cluster.start_worker()
            except TimeoutError:
                # Not ready: /ready 503 (loud), but nothing is processed either.
                how = "failed loudly; the restarted worker never became ready"
                result.failures.append(how)
            else:
                out2 = read_outputs(cluster.bootstrap, cluster.settings, set(sent2), profile.wait_s)
        elif not recovered:
            how = "SILENT STOP: alive, /ready 200, inputs not processed"
            result.failures.append(how)
        if all(s == 200 for s, _ in down_ready):
            result.failures.append("/ready answered 200 throughout the broker outage")
        result.injected = (
            f"Tansu stopped after {len(sent1)} inputs, down {profile.broker_down_s:g} s, "
            "restarted on the same port (memory storage: all topics lost); "
            f"{len(sent2)} inputs sent after"
        )
        if how == "recovered by itself":
            continuous = reference_run(cluster.settings, messages).transitions
            ref2 = Reference({k: a for k, a in continuous.items() if k not in ref1.transitions})
        else:
            ref2 = reference_run(cluster.settings, messages[half:])
        stalled = bool(result.failures)  # no use waiting long for what will not come
        alerts2 = read_alerts(
            cluster.bootstrap,
            cluster.settings,
            set(ref2.transitions),
            timeout_s=10 if stalled else 30,
        )
        wait_pages(cluster.pager, ref1.paging | ref2.paging, 5 if stalled else 60)
        pages2 = Counter(cluster.pager.keys()) - pages1
        counted2 = cluster.scrape_all()
        # Two epochs of offsets, alert ids and pages: the restarted broker numbers its
        # partitions from 0 again, and a worker that lost its state numbers episodes again.
        sent = {(f"1:{t}", p, o): m for (t, p, o), m in sent1.items()}
        sent |= {(f"2:{t}", p, o): m for (t, p, o), m in sent2.items()}
        outputs = Outputs()
        outputs.canonical = {(f"1:{t}", p, o) for t, p, o in out1.canonical} | {
            (f"2:{t}", p, o) for t, p, o in out2.canonical
        }
        outputs.dead = {(f"1:{t}", p, o): r for (t, p, o), r in out1.dead.items()} | {
            (f"2:{t}", p, o): r for (t, p, o), r in out2.dead.items()
        }
        outputs.pager_dead = out1.pager_dead + out2.pager_dead
        reference = Reference(
            {f"1:{k}": a for k, a in ref1.transitions.items()}
            | {f"2:{k}": a for k, a in ref2.transitions.items()}
        )
        observed = {f"1:{k}" for k in alerts1} | {f"2:{k}" for k in alerts2}
        pages: Counter[str | None] = Counter()
        for epoch, counts in (("1", pages1), ("2", pages2)):
            for key, n in counts.items():
                pages[f"{epoch}:{key}" if key else None] += n
        # Each worker's last count: the first worker's covers both epochs if it survived.
        # At least, not exactly: the restarted broker has none of the group's committed
        # offsets, so a worker that lived through it may read the new logs from their start
        # again (at-least-once; the pipeline takes the repeats as duplicates).
        counted: float | None = counted2
        if how == "recovered by itself" and not worker.alive and not scraped:
            # It processed the second half, then stopped itself (the broker had lost the
            # group's offsets) before its count was read: that count is unknown.
            result.notes.append("worker stopped itself after processing the second half")
            counted = None
        account(result, sent, outputs, counted, reference, observed, pages, counted_at_least=True)
        if counted2 > len(sent):
            result.notes.append(
                f"metrics counted {counted2:g} for {len(sent)} inputs (redelivered after the "
                "broker lost the group's offsets)"
            )
        result.notes.append(f"worker {how}")
        result.notes.append(
            "/ready while the broker was down: "
            + ", ".join(f"{s or 'no answer'} {p}" for s, p in _dedupe(down_ready))
        )
        result.detail.update(ready_during_outage=down_ready, ready_after=phases, how=how)
        return result
    finally:
        cluster.close()


def _watch(worker: WorkerProcess, seconds: float) -> list[tuple[int, str]]:
    """Poll ``/ready`` for ``seconds``: (status, phase) seen, in order."""
    seen: list[tuple[int, str]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, body = worker.get("/ready", timeout_s=1.0)
        phase = ""
        if status:
            phase = str(json.loads(body or b"{}").get("phase", ""))
        seen.append((status, phase if worker.alive else "exited"))
        time.sleep(0.25)
    return seen


def _dedupe(seq: list[tuple[int, str]]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for item in seq:
        if not out or out[-1] != item:
            out.append(item)
    return out


def pager_outage(work: Path, profile: Profile) -> Result:
    mode = profile.pager_outage_mode
    what = "answers 503" if mode == "503" else "refuses connections"
    result = Result(
        "pager_outage",
        f"pager {what} for {profile.pager_outage_s:g} s from the start of the feed "
        f"(EWS_PAGER_MAX_ATTEMPTS={profile.pager_max_attempts})",
    )
    cluster = Cluster(work, EWS_PAGER_MAX_ATTEMPTS=str(profile.pager_max_attempts))
    try:
        assert cluster.pager is not None
        messages = cohort(profile.patients, profile.seed)
        cluster.start_worker()
        cluster.pager.down(mode)
        started = time.monotonic()
        feed = Feed(cluster.settings)
        feed.paced(messages, 0)
        feed.settle()
        during = len(cluster.pager.keys())
        time.sleep(max(0.0, profile.pager_outage_s - (time.monotonic() - started)))
        cluster.pager.up()
        recovered_at = time.monotonic()
        # The sink's backoff is capped at 60 s: the first retry after the outage can wait
        # that long, then the backlog drains.
        out = _finish(result, cluster, feed, messages, profile, pages_timeout_s=150)
        out.notes.append(
            f"{cluster.pager.refused_503} calls answered 503 during the outage; "
            f"{during} accepted during it; backlog paged "
            f"{time.monotonic() - recovered_at:.0f} s after recovery (incl. checks)"
        )
        if during:
            out.failures.append(f"{during} pages accepted while the pager was down")
        return out
    finally:
        cluster.close()


def poison_messages(patients: list[bytes]) -> list[Message]:
    """Bad messages for every input topic, keyed by cohort patients (so they share
    partitions with good traffic), including inputs that once crashed or hung the adapters
    (``fuzz/corpus/*/crash-*``, ``hang-*``)."""
    p = patients
    out = [
        Message("in.fhir", p[0], b'{"resourceType": "Bundle", "entry": [', "truncated FHIR"),
        Message("in.fhir", p[1 % len(p)], b'{"resourceType": "Patient"}', "not an Observation"),
        Message("in.hl7v2", p[0], b"MSH|^~\\&|\rPID|||", "truncated HL7"),
        Message("in.hl7v2", p[1 % len(p)], b"\xff\xfe\x00\x01garbage", "binary HL7"),
        Message("in.json", p[0], b'{"kind": "observation"', "truncated JSON"),
        Message("in.json", p[1 % len(p)], b"\xff\xfe\x00\xc3\x28", "not UTF-8"),
        Message("in.json", None, b'{"kind": "observation"}', "no key"),
        Message("acks", p[0], b"not a command", "malformed ack"),
        Message("acks", p[1 % len(p)], b'{"kind": "acknowledge"}', "incomplete ack"),
    ]
    for logical, folder in (("in.fhir", "fhir"), ("in.hl7v2", "hl7v2"), ("in.json", "json")):
        for path in sorted((FUZZ_CORPUS / folder).glob("*")):
            if path.name.startswith(("crash-", "hang-")):
                out.append(Message(logical, p[0], path.read_bytes(), f"fuzz {folder}/{path.name}"))
    return out


def poison(work: Path, profile: Profile) -> Result:
    cluster = Cluster(work)
    try:
        messages = cohort(profile.patients, profile.seed)
        patients = sorted({m.key for m in messages if m.key is not None})
        bad = poison_messages(patients)
        # Spread the bad messages through the stream, each topic hit at 3 points.
        order = list(messages)
        for i, m in enumerate(bad):
            order.insert((i + 1) * len(order) // (len(bad) + 1), m)
        worker = cluster.start_worker()
        pid = worker.proc.pid if worker.proc else None
        feed = Feed(cluster.settings)
        feed.paced(order, 0)
        topics = sorted({m.logical for m in bad})
        result = Result(
            "poison",
            f"{len(bad)} bad messages on {', '.join(topics)} (incl. fuzz crash/hang inputs), "
            "mid-stream",
        )
        out = _finish(result, cluster, feed, order, profile)
        sent = feed.sent
        outputs = read_outputs(cluster.bootstrap, cluster.settings, set(sent), 5)
        reasons: dict[str, list[str]] = {}
        for ref, m in sent.items():
            if not m.poison:
                continue
            got = outputs.dead.get(ref, [])
            reasons[f"{m.logical}: {m.poison}"] = got
            if ref in outputs.canonical or not got or not all(got):
                out.failures.append(f"{m.logical} {m.poison!r} not dead-lettered with a reason")
        if not worker.alive or (worker.proc and worker.proc.pid) != pid:
            out.failures.append("the worker did not survive the bad messages")
        out.detail["poison_reasons"] = reasons
        out.notes.append(
            "reasons: "
            + ", ".join(
                f"{k} {v}" for k, v in sorted(Counter(r[0] for r in reasons.values() if r).items())
            )
        )
        return out
    finally:
        cluster.close()


def burst(work: Path, profile: Profile) -> Result:
    cluster = Cluster(work)
    try:
        messages = cohort(profile.patients, profile.seed)
        n_normal = min(len(messages) // 3, int(profile.rate * profile.normal_s))
        cluster.start_worker()
        feed = Feed(cluster.settings)
        t0 = time.monotonic()
        feed.paced(messages[:n_normal], profile.rate)
        t1 = time.monotonic()
        feed.paced(messages[n_normal:], profile.rate * profile.burst_factor)
        t2 = time.monotonic()
        sent = feed.settle()
        out_at = time.monotonic()
        drained = read_outputs(cluster.bootstrap, cluster.settings, set(sent), profile.wait_s)
        drain_s = time.monotonic() - out_at
        burst_n = len(messages) - n_normal
        result = Result(
            "burst",
            f"{n_normal} inputs at {profile.rate:g}/s, then {burst_n} at "
            f"{profile.rate * profile.burst_factor:g}/s "
            f"({profile.burst_factor:g}x; measured {burst_n / max(t2 - t1, 1e-9):.0f}/s)",
        )
        out = _finish(result, cluster, feed, messages, profile)
        out.notes.append(
            f"normal phase {t1 - t0:.1f} s, burst {t2 - t1:.1f} s; backlog drained "
            f"{drain_s:.1f} s after the last send "
            f"({len(drained.accounted & set(sent))}/{len(sent)} then)"
        )
        out.detail.update(normal_s=t1 - t0, burst_s=t2 - t1, drain_s=drain_s)
        return out
    finally:
        cluster.close()


SCENARIOS: dict[str, Callable[[Path, Profile], Result]] = {
    "baseline": baseline,
    "worker_kill": worker_kill,
    "rebalance": rebalance,
    "broker_restart": broker_restart,
    "pager_outage": pager_outage,
    "poison": poison,
    "burst": burst,
}


def run(name: str, work: Path, profile: Profile) -> Result:
    """Run one scenario, timing it; an exception is a failed scenario, not a crash."""
    started = time.monotonic()
    try:
        result = SCENARIOS[name](work / name, profile)
    except Exception as exc:  # the report must still show the other scenarios
        result = Result(name, "(scenario crashed)")
        result.failures.append(f"{type(exc).__name__}: {exc}"[:300])
    result.seconds = round(time.monotonic() - started, 1)
    return result

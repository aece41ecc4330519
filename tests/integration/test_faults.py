"""Fault scenarios with the real broker, real workers and a real loopback pager (faults/).

Each test runs one scenario of ``python -m faults report`` with a small cohort and asserts its
accounting: every input offset canonical or dead-lettered and counted in the worker's
metrics, the alert transitions equal to an uninterrupted reference run, every paging
transition paged exactly once. Worker SIGKILL + restart and a short pager failure are also
covered by test_state_recovery.py and test_alerts_pager.py.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest

from faults import scenarios
from faults.harness import Outputs
from faults.oracle import Reference
from faults.scenarios import Profile, Result, account

pytestmark = [pytest.mark.broker, pytest.mark.slow]

SMALL = Profile(name="test", patients=2, normal_s=6.0, pager_outage_s=20.0, wait_s=90.0)


def _check(result: Result) -> None:
    assert result.passed, f"{result.scenario}: {result.failures} ({result.notes})"
    assert result.sent > 0 and result.missing == 0
    assert result.transitions_reference > 0
    assert result.transitions_observed == result.transitions_reference
    assert result.pages_expected > 0
    assert result.pages_delivered == result.pages_expected
    if result.scenario not in ("worker_kill", "rebalance"):  # see faults.scenarios.account
        assert result.pages_duplicates == 0


# The loud path (the worker stops itself, a restart processes the second half) takes up to
# twice the stall timeout plus a worker start longer than recovering in place.
@pytest.mark.timeout(300)
def test_broker_restart_is_survived_or_loud(tmp_path: Path) -> None:
    result = scenarios.broker_restart(tmp_path, SMALL)
    _check(result)
    assert result.detail["how"] in (
        "recovered by itself",
        "failed loudly; a supervisor restart recovered it",
    )


@pytest.mark.timeout(150)
def test_poison_on_every_input_topic_is_dead_lettered_and_processing_continues(
    tmp_path: Path,
) -> None:
    result = scenarios.poison(tmp_path, SMALL)
    _check(result)
    reasons = result.detail["poison_reasons"]
    topics = {name.split(":")[0] for name in reasons}
    assert topics == {"in.fhir", "in.hl7v2", "in.json", "acks"}
    assert all(r and all(r) for r in reasons.values()), reasons
    assert result.dead_lettered == len(reasons)


@pytest.mark.timeout(150)
def test_burst_at_ten_times_the_normal_rate_is_all_accounted_for(tmp_path: Path) -> None:
    result = scenarios.burst(tmp_path, SMALL)
    _check(result)
    assert result.counted == result.sent


@pytest.mark.timeout(150)
def test_two_workers_one_killed_the_survivor_takes_over(tmp_path: Path) -> None:
    result = scenarios.rebalance(tmp_path, SMALL)
    _check(result)
    assert result.detail["killed_counted"] > 0
    assert result.detail["survivor"] > result.detail["survivor_before"]


@pytest.mark.timeout(200)
def test_pager_down_then_back_pages_every_transition_once(tmp_path: Path) -> None:
    result = scenarios.pager_outage(
        tmp_path, dataclasses.replace(SMALL, pager_outage_mode="refuse")
    )
    _check(result)
    assert result.pager_dead_letters == 0


# --- the accounting itself must be able to fail ------------------------------------------


def test_account_flags_missing_inputs_lost_transitions_and_duplicate_pages() -> None:
    from tests.alerts.alert_factory import incident

    records = incident()
    reference = Reference({a.alert_id: a for a in records})
    paging = sorted(reference.paging)
    assert len(records) >= 2 and paging
    sent = {("ews.in.json", 0, 0): None, ("ews.in.json", 0, 1): None}
    outputs = Outputs()
    outputs.canonical.add(("ews.in.json", 0, 0))  # offset 1 came out nowhere
    observed = {a.alert_id for a in records[1:]} | {"al-not-in-reference"}
    pages = Counter({paging[0]: 2, "al-unknown": 1})
    result = account(Result("x", "y"), sent, outputs, 1.0, reference, observed, pages)  # type: ignore[arg-type]
    text = " ".join(result.failures)
    assert "1 input offsets not accounted for" in text
    assert "metrics counted 1 != 2" in text
    assert "1 lost, 1 not in the reference" in text
    assert f"{len(paging) - 1} missing, 1 duplicates, 1 unexpected" in text
    assert not result.passed
    assert (result.missing, result.transitions_lost, result.pages_duplicates) == (1, 1, 1)
    # After a SIGKILL, a page delivered again under its own key is counted, noted, not failed.
    pages_again: Counter[str | None] = Counter(paging)
    pages_again[paging[0]] += 1
    killed = account(
        Result("k", "y"),
        {},
        Outputs(),
        0.0,
        reference,
        set(reference.transitions),
        pages_again,
        killed=True,
    )
    assert killed.pages_duplicates == 1 and not any("pages" in f for f in killed.failures)
    assert any("same idempotency key" in n for n in killed.notes)

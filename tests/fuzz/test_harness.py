"""The fuzz harness itself: its checks fail when a property is broken, limits are enforced,
and the atheris runner works for a few seconds."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.limits import Limits
from adapters.normalize import Normalized
from adapters.result import Reject
from contract.events import Observation
from contract.reasons import Reason
from fuzz import checks
from fuzz.checks import Hang, InvariantError, check_normalized, json_shape, time_budget
from fuzz.targets import FUZZ_LIMITS, run_normalize
from tests.adapters import samples

ROOT = Path(__file__).resolve().parents[2]


def _check(result: Normalized, data: bytes = b"{}", limits: Limits = FUZZ_LIMITS) -> None:
    check_normalized(
        result, fmt="json", data=data, key=None, received_ms=samples.RECEIVED_MS, limits=limits
    )


def _obs(**overrides: object) -> Observation:
    fields: dict[str, object] = {
        "patient_id": "p-001",
        "time_ms": samples.EVENT_MS,
        "source": "json",
        "source_msg_id": "m",
        "signal": "hr",
        "value": 80.0,
        "unit": "/min",
        "obs_id": "o",
    }
    fields.update(overrides)
    return Observation(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (Normalized("rejected", None, "m", (), ()), "neither accepted nor rejected"),
        (
            Normalized("rejected", None, "m", (), (Reject(Reason.MALFORMED, "unexpected X"),)),
            "catch-all",
        ),
        (Normalized("accepted", "p-001", "m", (_obs(obs_id="x" * 201),), ()), "contract"),
        (Normalized("accepted", "p-001", "m", (_obs(value=float("nan")),), ()), "contract"),
        (Normalized("accepted", "p-001", "m", (_obs(time_ms=10**13),), ()), "outside window"),
        (Normalized("accepted", "p-001", "m", (_obs(patient_id="p-002"),), ()), "another"),
        (Normalized("corrected", "p-001", "m", (_obs(),), ()), "outcome"),
        (
            Normalized("rejected", None, "m", (), (Reject(Reason.SCHEMA, "x" * 5000),)),
            "echoes",
        ),
    ],
)
def test_checks_catch_broken_results(result: Normalized, message: str) -> None:
    with pytest.raises(InvariantError, match=message):
        _check(result)


def test_checks_catch_an_unenforced_limit() -> None:
    deep = b"[" * 20 + b"]" * 20
    ok = Normalized("rejected", None, "m", (), (Reject(Reason.SCHEMA, "not an object"),))
    with pytest.raises(InvariantError, match="JSON depth 20"):
        _check(ok, deep)
    big = b" " * (FUZZ_LIMITS.max_message_bytes + 1)
    with pytest.raises(InvariantError, match="bytes vs limit"):
        _check(ok, big)


def _hl7_check(result: Normalized, data: bytes) -> None:
    check_normalized(
        result,
        fmt="hl7v2",
        data=data,
        key=None,
        received_ms=samples.RECEIVED_MS,
        limits=FUZZ_LIMITS,
    )


def test_checks_count_the_items_of_an_hl7_message() -> None:
    adt = samples.hl7_adt()
    context = run_normalize("hl7v2", adt)
    _hl7_check(context, adt)  # the adapter's own answer passes
    assert len(context.events) == 1
    pid, mid = context.patient_id, context.source_msg_id
    lab = _obs(patient_id=pid, source="hl7v2", source_msg_id=mid)
    late = Reject(Reason.BAD_TIME, "PV1-44 admit date/time: too old", 1)
    for broken, message in (
        (Normalized("accepted", pid, mid, context.events * 2, ()), "an ADT gave 2 items"),
        (Normalized("rejected", pid, mid, (), (late,)), "not item 0"),
        (Normalized("accepted", pid, mid, (lab,), ()), "other than its context"),
    ):
        with pytest.raises(InvariantError, match=message):
            _hl7_check(broken, adt)
    oru = samples.hl7_oru([samples.Obx(), samples.Obx(code="2276-4", unit="ng/mL")])
    with pytest.raises(InvariantError, match="2 OBX segments gave 1 items"):
        _hl7_check(Normalized("accepted", pid, mid, (lab,), ()), oru)
    with pytest.raises(InvariantError, match="an ORU gave a patient context"):
        _hl7_check(Normalized("accepted", pid, mid, (lab, *context.events), ()), oru)


def test_json_shape_matches_the_limit_rule() -> None:
    assert json_shape(1) == (1, 1)
    assert json_shape([]) == (1, 1)
    assert json_shape({"a": [1, {}]}) == (3, 4)
    for depth in (11, 12, 13):
        doc: object = 0
        for _ in range(depth - 1):
            doc = [doc]
        data = samples.encode(doc)
        result = run_normalize("json", data)
        too_deep = [r for r in result.rejects if r.reason == Reason.TOO_COMPLEX]
        assert bool(too_deep) == (depth > FUZZ_LIMITS.max_json_depth)


@pytest.mark.parametrize(
    ("fmt", "data", "reason"),
    [
        ("json", b" " * 65_537, Reason.OVERSIZED),
        ("fhir", samples.encode({"a": list(range(2_100))}), Reason.TOO_COMPLEX),
        (
            "json",
            samples.encode(samples.json_batch([samples.json_observation()] * 41)),
            Reason.TOO_COMPLEX,
        ),
        ("hl7v2", samples.hl7_oru([samples.Obx()] * 41), Reason.TOO_COMPLEX),
        ("hl7v2", samples.hl7_oru([samples.Obx()] * 30) + b"\rNTE|1" * 60, Reason.TOO_COMPLEX),
        (
            "fhir",
            samples.encode(samples.fhir_bundle([samples.fhir_observation()] * 41)),
            Reason.TOO_COMPLEX,
        ),
        ("fhir", b"\xff{}", Reason.NOT_UTF8),
    ],
)
def test_limits_are_enforced(fmt: str, data: bytes, reason: Reason) -> None:
    result = run_normalize(fmt, data)  # type: ignore[arg-type]
    assert [r.reason for r in result.rejects] == [reason]


def test_limits_at_default_size_stay_fast() -> None:
    """A message just under the default 1 MiB limit, in every format, within the budget."""
    obx = samples.hl7_oru([samples.Obx()] * 450) + b"\rNTE|1|" + b"x" * 900_000
    bundle = samples.encode(
        samples.fhir_bundle([samples.fhir_observation(id=f"o{i}") for i in range(499)])
    )
    for fmt, data in (
        ("hl7v2", obx),
        ("fhir", bundle),
        ("json", b'{"a":"' + b"y" * 1_040_000 + b'"}'),
    ):
        assert len(data) <= Limits().max_message_bytes
        run_normalize(fmt, data, limits=Limits())  # type: ignore[arg-type]


def test_time_budget_measures_and_interrupts() -> None:
    with pytest.raises(Hang, match="took"), time_budget(0.01):
        spent = time.thread_time()
        while time.thread_time() - spent < 0.05:
            pass
    with time_budget(0.05):
        time.sleep(0.1)  # waiting (another process has the CPU) is not the call's cost
    started = time.perf_counter()
    with pytest.raises(Hang, match="still running"), time_budget(0.05):
        while True:
            pass
    assert time.perf_counter() - started < 5
    assert issubclass(Hang, BaseException) and not issubclass(Hang, Exception)


def test_hang_escapes_the_normalize_catch_all(monkeypatch: pytest.MonkeyPatch) -> None:
    import adapters.normalize as normalize_module

    def slow(*_: object, **__: object) -> object:
        time.sleep(0.3)
        raise AssertionError("unreachable")

    monkeypatch.setattr(normalize_module, "_adapt", slow)
    monkeypatch.setattr(checks, "HARD_TIMEOUT_FACTOR", 1)
    with pytest.raises(Hang), time_budget(0.1):
        samples.run("json", b"{}")


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris not installed")
def test_atheris_runner_smoke(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fuzz.run",
            "json",
            "--seconds",
            "2",
            "--keep-going",
            "--workdir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Done" in done.stderr and "stat::number_of_executed_units" in done.stderr

"""No patient identifier in what a demo run lets out: logs, metrics and pager payloads.

``ews demo``'s own code path (``ews.demo.run_demo``: embedded Tansu broker, a real worker
process, the loopback PagerDuty stand-in, a simulated cohort fed as FHIR, HL7 v2 and JSON, the
on-call clinician's acknowledgements) runs in a child process for a bounded time, in a
temporary directory. The test captures the demo's stdout and stderr, the worker's log (its
stdout and stderr), the broker's log, a scrape of the worker's ``/metrics`` taken while it
runs, and every event the pager stand-in accepted (recorded by a subclass that passes each
event on to the demo unchanged), and scans all of them with :func:`tests.security.phi_scan.scan`
for the cohort's patient ids (which are also the MRNs in HL7 PID-3 and the names in PID-5)
and the generic identifier patterns. A planted identifier must be found, so the test can fail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from simulator.config import CohortConfig
from simulator.stream import Cohort, iter_messages
from tests.security.phi_scan import scan

pytestmark = [pytest.mark.broker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PATIENTS, SEED, DURATION_S, SPEEDUP = 8, 7, 30.0, 20_000.0

RUNNER = """
import json, sys
from pathlib import Path
import ews.demo as demo
from ews.pager_receiver import PagerReceiver

events = Path("pager-events.jsonl").open("w", encoding="utf-8")

class RecordingReceiver(PagerReceiver):
    # The demo's real receiver; each accepted event is also written to a file.
    def __init__(self, port=None, on_event=None):
        def record(event):
            events.write(json.dumps(event) + "\\n")
            events.flush()
            if on_event is not None:
                on_event(event)
        super().__init__(port, on_event=record)

demo.PagerReceiver = RecordingReceiver
sys.exit(demo.run_demo(patients={patients}, speedup={speedup}, duration_s={duration}, seed={seed}))
"""


def _patient_ids() -> set[str]:
    """The demo cohort's patient ids (the demo lays it two months back; ids do not depend on
    the start time)."""
    now = int(time.time() * 1000)
    config = CohortConfig(
        n_patients=PATIENTS, seed=SEED, start_ms=now - 60 * 86_400_000, enrollment_days=0.25
    )
    ids = {m.events[0].patient_id for m in iter_messages(Cohort(config))}
    assert len(ids) == PATIENTS
    return ids


def _run_demo(work: Path) -> dict[str, str]:
    """Run the demo in ``work``; every text it let out, by name."""
    runner = work / "run_demo.py"
    runner.write_text(
        RUNNER.format(patients=PATIENTS, speedup=SPEEDUP, duration=DURATION_S, seed=SEED)
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    stdout_path, stderr_path = work / "demo.stdout", work / "demo.stderr"
    metrics = ""
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(runner)],
            cwd=work,
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            # Scrape /metrics late in the run, when the counters have seen most traffic.
            deadline = time.monotonic() + 120
            port = None
            while port is None and time.monotonic() < deadline and proc.poll() is None:
                found = re.search(
                    r"metrics on http://127\.0\.0\.1:(\d+)/metrics", _text(stdout_path)
                )
                port = int(found.group(1)) if found else None
                time.sleep(0.5)
            assert port is not None, "the demo's worker never became ready"
            time.sleep(DURATION_S - 5)
            url = f"http://127.0.0.1:{port}/metrics"
            with urllib.request.urlopen(url, timeout=10) as resp:
                metrics = resp.read().decode()
            assert proc.wait(timeout=DURATION_S + 90) == 0, _text(stderr_path)[-2000:]
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, 9)
                proc.wait(timeout=10)
    demo_dir = work / "var" / "demo"
    texts = {
        "demo stdout": _text(stdout_path),
        "demo stderr": _text(stderr_path),
        "worker log": _text(demo_dir / "worker.log"),
        "broker log": _text(demo_dir / "broker.log"),
        "metrics": metrics,
    }
    for i, line in enumerate(_text(work / "pager-events.jsonl").splitlines()):
        texts[f"pager[{i}]"] = line
    return texts


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], set[str]]:
    """One bounded demo run shared by the tests below: (texts by name, patient ids)."""
    return _run_demo(tmp_path_factory.mktemp("demo")), _patient_ids()


def test_demo_run_lets_out_no_patient_identifier(
    demo_run: tuple[dict[str, str], set[str]],
) -> None:
    texts, patients = demo_run
    # The run did what the scan needs: traffic, pages with payloads, counted metrics.
    pages = [json.loads(v) for k, v in texts.items() if k.startswith("pager[")]
    assert any(p.get("event_action") == "trigger" and p.get("payload") for p in pages), (
        "no trigger page with a payload arrived: nothing to scan"
    )
    assert re.search(r"^ews_ingest_messages_total\{", texts["metrics"], re.M)
    assert "ALERT" in texts["demo stdout"]
    assert texts["worker log"].strip(), "the worker logged nothing"

    leaving = {k: v for k, v in texts.items() if k != "demo stdout"}
    findings = scan(leaving, identifiers=patients)
    assert not findings, "\n".join(map(str, findings[:20]))

    # The scanner sees an identifier planted in each kind of text.
    victim = sorted(patients)[0]
    for name in ("demo stderr", "worker log", "metrics", "pager[0]"):
        planted = {**leaving, name: leaving[name] + f"\n{victim}\n"}
        assert any(f.source.startswith(name) for f in scan(planted, identifiers=patients)), name


def test_demo_console_names_no_patient(demo_run: tuple[dict[str, str], set[str]]) -> None:
    texts, patients = demo_run
    findings = scan({"demo stdout": texts["demo stdout"]}, identifiers=patients)
    assert not findings, "\n".join(map(str, findings[:20]))

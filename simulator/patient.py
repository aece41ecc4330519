"""Render a patient's plan into the messages a hospital feed would deliver."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from contract.events import (
    Event,
    InfusionEvent,
    NeuroAssessment,
    Observation,
    PatientContext,
    RespiratorySupport,
    Treatment,
    VasopressorState,
)
from simulator.artifacts import inject_artifacts
from simulator.care import (
    Dose,
    fever_mask,
    o2_settings,
    premedication,
    support_steps,
    treatments_for,
)
from simulator.codes import coding_for, unit_of
from simulator.config import DAY_MS, HOUR_MS, MINUTE_MS, CohortConfig
from simulator.episodes import Episode
from simulator.labels import Label, labels_for
from simulator.labs import (
    LabContext,
    LabResult,
    draw_schedule,
    reference_range,
    results_and_transfusions,
)
from simulator.messages import SimMessage
from simulator.neuro import assess, assessment_times
from simulator.plan import CyclePlan, PatientPlan, patient_rng, plan_patient
from simulator.vitals import (
    VITALS,
    FeverBump,
    acuity_steps,
    dips_from_support,
    fever_curve,
    vital_signs,
    ward_times,
)

SOURCE: Final = "simulator"


@dataclass(frozen=True, slots=True)
class SimPatient:
    """A rendered patient: its plan (truth), labels and messages in arrival order."""

    plan: PatientPlan
    labels: tuple[Label, ...]
    messages: tuple[SimMessage, ...]

    @property
    def patient_id(self) -> str:
        """The patient's id."""
        return self.plan.patient_id


class Emitter:
    """Allocates deterministic message ids and collects messages for one patient."""

    def __init__(self, patient_id: str) -> None:
        self.patient_id = patient_id
        self._prefix = f"{patient_id}-"
        self._n = 0
        self.messages: list[SimMessage] = []

    def next_id(self) -> str:
        """A new message id, unique within the cohort."""
        self._n += 1
        return f"{self._prefix}{self._n:06d}"

    def add(self, message: SimMessage) -> None:
        """Collect a message."""
        self.messages.append(message)

    def single(self, arrival: int, channel: str, mid: str, event: Event) -> None:
        """Emit a message ``mid`` (from :meth:`next_id`) carrying one event."""
        self.messages.append(SimMessage(arrival, mid, channel, (event,)))


def _context(em: Emitter, plan: PatientPlan, cycle: CyclePlan) -> None:
    b = plan.baseline
    mid = em.next_id()
    em.single(
        cycle.admission + MINUTE_MS,
        "context",
        mid,
        PatientContext(
            patient_id=em.patient_id,
            source=SOURCE,
            source_msg_id=mid,
            time_ms=cycle.admission,
            age_years=b.age_years,
            sex=b.sex,
            weight_kg=b.weight_kg,
            marrow_blasts_pct=cycle.marrow_blasts_pct,
            disease_status="mrd_positive" if b.burden == "mrd" else "relapsed_refractory",
            prior_neurotoxicity=b.prior_neurotoxicity,
            immunosuppressed=b.prior_transplant,
            hospital_admission_ms=cycle.admission,  # admitted for the cycle's infusion start
        ),
    )


def _infusion(em: Emitter, rng: np.random.Generator, cycle: CyclePlan) -> None:
    for a in cycle.schedule.actions:
        mid = em.next_id()
        em.single(
            a.time + int(rng.uniform(0.0, 2.0) * MINUTE_MS),
            "infusion",
            mid,
            InfusionEvent(
                patient_id=em.patient_id,
                source=SOURCE,
                source_msg_id=mid,
                time_ms=a.time,
                action=a.action,
                cycle=cycle.cycle,
                dose_ug_per_day=a.dose,
            ),
        )


def _treatments(em: Emitter, rng: np.random.Generator, doses: list[Dose]) -> None:
    for d in sorted(doses, key=lambda x: (x.time, x.kind)):
        mid = em.next_id()
        em.single(
            d.time + int(rng.uniform(2.0, 30.0) * MINUTE_MS),
            "treatment",
            mid,
            Treatment(
                patient_id=em.patient_id,
                source=SOURCE,
                source_msg_id=mid,
                time_ms=d.time,
                treatment=d.kind,
                agent=d.agent,
                dose=d.dose,
                dose_unit=d.unit,
            ),
        )


def _support(
    em: Emitter, rng: np.random.Generator, plan: PatientPlan, episodes: list[Episode]
) -> None:
    prev_resp: tuple[int, str] = (0, "room_air")
    prev_pressors = 0
    for s in support_steps(episodes):
        arrival = s.time + int(rng.uniform(2.0, 15.0) * MINUTE_MS)
        if (s.respiratory, s.device) != prev_resp:
            flow, fio2 = o2_settings(rng, s.device, plan.baseline.weight_kg)
            mid = em.next_id()
            em.single(
                arrival,
                "support",
                mid,
                RespiratorySupport(
                    patient_id=em.patient_id,
                    source=SOURCE,
                    source_msg_id=mid,
                    time_ms=s.time,
                    device=s.device,
                    o2_flow_l_min=flow,
                    fio2_pct=fio2,
                ),
            )
            prev_resp = (s.respiratory, s.device)
        pressors = {3: 1, 4: 2}.get(s.hemodynamic, 0)
        if pressors != prev_pressors:
            mid = em.next_id()
            em.single(
                arrival,
                "support",
                mid,
                VasopressorState(
                    patient_id=em.patient_id,
                    source=SOURCE,
                    source_msg_id=mid,
                    time_ms=s.time,
                    count=pressors,
                    vasopressin=bool(pressors == 2 and rng.random() < 0.3),
                ),
            )
            prev_pressors = pressors


def _labs(em: Emitter, plan: PatientPlan, results: list[LabResult]) -> None:
    base = plan.baseline
    pid = em.patient_id
    for r in results:
        mid = em.next_id()
        events: list[Event] = []
        for k, (signal, value, comparator) in enumerate(r.values):
            low, high = reference_range(base, signal)
            oid = f"{mid}.{k}"
            events.append(
                Observation(
                    patient_id=pid,
                    time_ms=r.time,
                    source=SOURCE,
                    source_msg_id=oid,
                    signal=signal,
                    value=value,
                    unit=unit_of(signal),
                    obs_id=oid,
                    comparator=comparator,  # type: ignore[arg-type]
                    code=coding_for(signal, base.lab_site).token,
                    ref_low=low,
                    ref_high=high,
                )
            )
        em.add(SimMessage(r.arrival, mid, f"lab.{r.panel}", tuple(events)))


def _vital_messages(
    em: Emitter,
    rng: np.random.Generator,
    config: CohortConfig,
    times: np.ndarray,
    values: dict[str, np.ndarray],
    signals: tuple[str, ...],
) -> None:
    n = times.shape[0]
    if config.vitals_mode == "ward":
        # Nurses chart a few minutes after measuring; some sets are charted in a batch.
        delay = np.asarray(rng.lognormal(1.386, 0.8, n)) * MINUTE_MS  # median 4 min
        late = rng.random(n) < 0.05
        delay = np.where(late, rng.uniform(30.0, 120.0, n) * MINUTE_MS, delay)
    else:
        delay = np.asarray(rng.uniform(1_000.0, 3_000.0, n))
    arrivals = (times + delay.astype(np.int64)).tolist()
    columns = [values[s].tolist() for s in signals]
    meta = [(s, unit_of(s), coding_for(s).token) for s in signals]
    pid = em.patient_id
    for i, t in enumerate(times.tolist()):
        mid = em.next_id()
        events = tuple(
            Observation(
                patient_id=pid,
                time_ms=t,
                source=SOURCE,
                source_msg_id=f"{mid}.{k}",
                signal=s,
                value=columns[k][i],
                unit=u,
                obs_id=f"{mid}.{k}",
                code=c,
            )
            for k, (s, u, c) in enumerate(meta)
        )
        em.add(SimMessage(arrivals[i], mid, "vitals", events))


def _obligatory_times(rng: np.random.Generator, episodes: list[Episode]) -> list[int]:
    """Sets charted because a clinician was called: grade changes and escalations."""
    times: list[int] = []
    for ep in episodes:
        if ep.kind == "hepatotoxicity":
            continue
        times += [t + int(rng.uniform(5.0, 25.0) * MINUTE_MS) for t in ep.course.times[:-1]]
    return times


def render(config: CohortConfig, plan: PatientPlan, rng: np.random.Generator) -> list[SimMessage]:
    """All messages of one patient (unsorted), including injected artifacts."""
    base = plan.baseline
    em = Emitter(plan.patient_id)
    episodes = plan.episodes
    doses = treatments_for(rng, base, episodes)
    for cycle in plan.cycles:
        doses += premedication(base, cycle.schedule.premeds)
    bumps = [
        FeverBump(
            ep.onset,
            ep.fever_end,
            ep.fever_c,
            float(rng.uniform(0, 6.28)),
            taper=0.5 if ep.kind in ("crs", "hlh") else 0.8,
        )
        for ep in episodes
        if ep.fever_c > 0
    ]
    first_start = plan.cycles[0].start
    for cycle in plan.cycles:
        eps = list(cycle.episodes)
        draws = draw_schedule(rng, config, cycle.admission, cycle.window_end, eps)
        ctx = LabContext(base, episodes, doses, first_start, cycle.admission)
        results, transfusions = results_and_transfusions(rng, config, ctx, draws, bumps)
        _labs(em, plan, results)
        for tx in transfusions:
            if rng.random() < config.artifacts.transfusion_reaction:
                onset = tx.time + int(rng.uniform(0.3, 1.0) * HOUR_MS)
                amp = float(rng.uniform(1.3, 1.8))
                bumps.append(FeverBump(onset, onset + int(2 * HOUR_MS), amp, 0.0))
                mg = round(min(15.0 * base.weight_kg, 1000.0), 0)
                transfusions.append(
                    Dose(onset + 30 * MINUTE_MS, "antipyretic", "paracetamol", mg, "mg")
                )
        doses += transfusions
    steps = support_steps(episodes)
    dips = dips_from_support(rng, steps)
    obligatory = _obligatory_times(rng, episodes)
    obligatory += [(d.start + d.end) // 2 for d in dips]
    obligatory += [s.time + 20 * MINUTE_MS for s in steps]
    infections = [(e.onset, e.fever_end + DAY_MS) for e in episodes if e.kind == "infection"]
    acuity = acuity_steps(episodes)
    for cycle in plan.cycles:
        start, end = cycle.admission, cycle.window_end
        if config.vitals_mode == "ward":
            t = ward_times(rng, start, end, config.ward_interval_h, acuity, obligatory)
            groups: list[tuple[np.ndarray, tuple[str, ...]]] = [(t, VITALS)]
        else:
            period = int(config.monitor_interval_s * 1000)
            nibp = int(config.nibp_interval_min * MINUTE_MS)
            groups = [
                (np.arange(start, end, period, dtype=np.int64), ("hr", "rr", "spo2", "temp")),
                (np.arange(start, end, nibp, dtype=np.int64), ("sbp", "dbp", "map")),
            ]
        for times, signals in groups:
            fever = fever_curve(times, bumps) * fever_mask(times, doses)
            values = vital_signs(rng, base, times, fever, steps, dips, infections)
            _vital_messages(em, rng, config, times, values, signals)
        _context(em, plan, cycle)
        _infusion(em, rng, cycle)
        icans = [e for e in cycle.episodes if e.kind == "icans"]
        tremor = _tremor_window(rng, config, cycle)
        for at in assessment_times(
            rng, cycle.start, end, config.ice_interval_h, config.ice_days, icans
        ):
            a = assess(rng, base, at, icans, tremor)
            mid = em.next_id()
            em.single(
                at + int(rng.uniform(5.0, 20.0) * MINUTE_MS),
                "neuro",
                mid,
                NeuroAssessment(
                    patient_id=em.patient_id,
                    source=SOURCE,
                    source_msg_id=mid,
                    time_ms=at,
                    ice_score=a.ice_score,
                    ice_items=a.ice_items,
                    consciousness=a.consciousness,
                    new_confusion=a.new_confusion,
                    seizure=a.seizure,
                    seizure_prolonged=a.seizure_prolonged if a.seizure else None,
                    tremor_grade=a.tremor_grade,
                    motor_weakness=a.motor_weakness,
                ),
            )
    _treatments(em, rng, doses)
    _support(em, rng, plan, episodes)
    inject_artifacts(rng, config, em)
    return em.messages


def _tremor_window(
    rng: np.random.Generator, config: CohortConfig, cycle: CyclePlan
) -> tuple[int, int] | None:
    """A mild tremor without ICANS in some patients (a CTCAE item, not an ICANS grade)."""
    if rng.random() >= config.artifacts.tremor_without_icans:
        return None
    start = cycle.start + int(rng.uniform(1.0, 10.0) * DAY_MS)
    return start, start + int(rng.uniform(2.0, 5.0) * DAY_MS)


def simulate_patient(config: CohortConfig, index: int) -> SimPatient:
    """Plan and render patient ``index`` of the cohort; messages sorted by arrival."""
    rng = patient_rng(config.seed, index)
    plan = plan_patient(config, index, rng)
    messages = render(config, plan, rng)
    messages.sort(key=lambda m: (m.arrival_ms, m.msg_id))
    return SimPatient(plan, tuple(labels_for(plan)), tuple(messages))

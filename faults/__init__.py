"""Fault scenarios against the real broker and real worker processes, and their report.

Each scenario starts its own embedded Tansu broker on a loopback port, a real loopback HTTP
receiver standing in for PagerDuty (``ews.pager_receiver``) and real ``ews worker`` processes;
it feeds a simulated cohort, injects one fault, and ends with an accounting:

- every input offset it sent is named by a canonical record or a dead letter, and counted by
  the workers' ``ews_ingest_messages_total``;
- no alert transition is lost: the transitions on the alerts topic (by alert id) equal those
  of an uninterrupted reference run of the same inputs (:mod:`faults.oracle`);
- no page is delivered twice: the receiver counts accepted events per idempotency key (the
  transition's alert id, the pager ledger's key), and every transition that pages arrived.

``python -m faults report --out var/faults [--quick]`` runs them all and writes the table
(docs/reliability.md). The integration tests in ``tests/integration/test_faults.py`` run the
same scenarios with small inputs.
"""

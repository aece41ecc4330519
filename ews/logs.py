"""Logging set-up for the service's processes.

Log lines never carry patient identifiers or clinical values: the service logs counts,
topics, partitions, offsets and reason codes. Message contents go to the dead-letter topic,
which is protected like any other clinical topic, not to logs.
"""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    """Plain, single-line logs to stderr at ``level``."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

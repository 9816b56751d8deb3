"""Logging set-up: one line per event, a fixed message then stable `key=value` fields, no timestamps (the journal
adds them). Never log personal data (applicant names, certificate numbers, phones): ids and counts only."""

from __future__ import annotations

import logging
import sys

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log repeats every request; our own `push stored` line says what matters.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

"""Interpreter settings of the processes that ingest (the server and its ingest workers), set once at start."""

from __future__ import annotations

import gc
import sys

# A thread waiting for the GIL gets it after at most this long (default 5 ms). The SQLite writer thread needs it back
# after each statement while the event loop folds the next batch: with 5 ms, the writer spent most of a batch waiting
# (see server/storage/sqlite/ingest.py).
SWITCH_INTERVAL_S = 0.00001


def tune_for_ingest() -> None:
    # Ingest allocates many short-lived objects per event and frees them by reference counting; the default gen-0
    # threshold (700) runs the cyclic collector every few events. Freezing start-up objects and a larger threshold
    # cut ~15 % of ingest CPU in bench/ingest_bench.py (Python-only timing).
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    sys.setswitchinterval(SWITCH_INTERVAL_S)

"""An ingest worker: a process of its own that ingests the pushes of the townships the server gives it.

Started by `server.ingest.pool` as `python -m server.ingest.worker --fd N ...` with one end of a socket pair. It
reads `PushJob` frames, runs them through its own `Ingestor` and store (SQLite or PostgreSQL, as `[storage]` says;
the same code as ingest in the server process) and answers each with a `PushDone`. Python runs one thread at a time
per process, so ingest in two processes uses two cores. All pushes of a township come to the same worker: its fold
state (case cache, batches folded and not yet committed) stays exact, as in one process.

It ends when the server closes its end (after answering what it was given) or when the server dies (the kernel
sends it SIGKILL: `PR_SET_PDEATHSIG`), never outliving it. It ignores SIGINT and SIGTERM, which are the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import logging
import os
import signal
import socket
from pathlib import Path

import msgspec

from ops.logs import configure_logging
from server import keys
from server.errors import ApiError
from server.ingest.frames import DSN_ENV, PushDone, PushJob, frame, read_frame
from server.ingest.ingestor import Ingestor
from server.interpreter import tune_for_ingest
from server.model.reference import Reference, load_reference
from server.model.sealing import Keyring
from server.storage.base import Store
from server.storage.choose import make_store

log = logging.getLogger("server.ingest.worker")  # not __main__: it runs with -m

_PR_SET_PDEATHSIG = 1
_jobs = msgspec.msgpack.Decoder(PushJob)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server.ingest.worker", description=__doc__.split("\n")[0])
    parser.add_argument("--fd", type=int, required=True, help="this worker's end of the socket pair")
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--storage", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pool-size", type=int, default=8)
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--org-units", type=Path, required=True)
    parser.add_argument("--catalog", type=Path, required=True)
    parser.add_argument("--key-file", type=Path, required=True)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    _die_with_parent()
    configure_logging(args.log_level)
    # A Ctrl-C in the server's terminal, or systemd's SIGTERM to the whole unit, is the server's to handle: it stops
    # taking pushes, then closes this worker's socket, and the worker answers what it was given before it exits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sock = socket.socket(fileno=args.fd)
    tune_for_ingest()
    store = make_store(args.storage, args.database, os.environ.get(DSN_ENV, ""), args.pool_size, serving=True)
    asyncio.run(serve(sock, args.index, store, load_reference(args.org_units, args.catalog), keys.load(args.key_file)))


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() == 1:  # the server died before the line above
        os._exit(1)


async def serve(sock: socket.socket, index: int, store: Store, reference: Reference, keyring: Keyring) -> None:
    await store.open()
    ingestor = Ingestor(store, reference, keyring)
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    running: set[asyncio.Task[None]] = set()

    async def run(job: PushJob) -> None:
        try:
            done = PushDone(job.job, response=await ingestor.push_body(job.agent, job.body))
        except ApiError as exc:
            done = PushDone(job.job, error_code=exc.code, error_detail=exc.detail)
        except Exception:
            log.exception("ingest worker push failed worker=%d agent_id=%s", index, job.agent.agent_id)
            done = PushDone(job.job, error_code="internal")
        writer.write(frame(done))

    log.info("ingest worker ready worker=%d pid=%d", index, os.getpid())
    try:
        while (job := await read_frame(reader, _jobs)) is not None:
            task = asyncio.get_running_loop().create_task(run(job))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running)
        await writer.drain()
    finally:
        writer.close()
        await store.close()
        log.info("ingest worker stopped worker=%d", index)


if __name__ == "__main__":
    main()

"""Ingest in worker processes (`[server] ingest_workers`): the server process authenticates a push and reads its body;
the worker of the agent's township decodes, checks, folds and writes it (`server.ingest.worker`).

Townships are dealt to the workers in the order of their codes, so a county's townships spread evenly and all pushes
of a township go to one worker for the life of the server. A worker that dies fails the pushes it was given (the
agents send them again: ingest is idempotent) and is started again for the next push.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys

import msgspec

from protocol.messages import PushResponse
from server.config import ServerConfig
from server.errors import ApiError
from server.ingest.frames import DSN_ENV, PushDone, PushJob, frame, read_frame
from server.model.reference import Reference
from server.storage.base import AgentRecord

log = logging.getLogger(__name__)

# A worker answers what it was given before it stops; then it gets SIGKILL.
STOP_TIMEOUT_S = 15.0
_answers = msgspec.msgpack.Decoder(PushDone)


class WorkerGone(Exception):
    """The worker ended before it answered: the push may or may not be stored; sending it again is safe."""


class IngestPool:
    def __init__(self, config: ServerConfig, reference: Reference) -> None:
        assert config.ingest_workers > 0
        self._config = config
        self._slots = [_Slot(i) for i in range(config.ingest_workers)]
        townships = sorted(u.code[:9] for u in reference.townships())
        self._worker_of = {t: i % len(self._slots) for i, t in enumerate(townships)}

    async def start(self) -> None:
        for slot in self._slots:
            await slot.start(self._config)

    def worker_of(self, township: str) -> int:
        """The index of the worker that ingests `township` (a township the reference data does not know, by
        its code: agents are registered for known townships only)."""
        return self._worker_of.get(township, int(township) % len(self._slots))

    @property
    def alive(self) -> int:
        return sum(slot.worker is not None and slot.worker.is_alive for slot in self._slots)

    def pids(self) -> list[int | None]:
        """The process id in each worker place (None: not started yet)."""
        return [slot.worker.pid if slot.worker is not None else None for slot in self._slots]

    async def push_body(self, agent: AgentRecord, body: bytes) -> PushResponse:
        slot = self._slots[self.worker_of(agent.township_code)]
        worker = await slot.running(self._config)
        done = await worker.call(agent, body)
        if done.response is not None:
            return done.response
        raise ApiError(done.error_code or "internal", done.error_detail)

    async def close(self) -> None:
        await asyncio.gather(*(slot.stop() for slot in self._slots))


class _Slot:
    """One worker place: the worker running in it, started again after it died."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.worker: _Worker | None = None
        self._lock = asyncio.Lock()

    async def start(self, config: ServerConfig) -> None:
        self.worker = await _Worker.start(self.index, config)

    async def running(self, config: ServerConfig) -> _Worker:
        async with self._lock:
            if self.worker is None or not self.worker.is_alive:
                if self.worker is not None:
                    await self.worker.stop()
                    log.warning("ingest worker restarted worker=%d", self.index)
                self.worker = await _Worker.start(self.index, config)
            return self.worker

    async def stop(self) -> None:
        if self.worker is not None:
            await self.worker.stop()


class _Worker:
    def __init__(self, index: int, process: asyncio.subprocess.Process, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.index = index
        self._process = process
        self._reader = reader
        self._writer = writer
        self._waiting: dict[int, asyncio.Future[PushDone]] = {}
        self._next_job = 0
        self._answers = asyncio.get_running_loop().create_task(self._read_answers(), name=f"ingest-worker-{index}")

    @classmethod
    async def start(cls, index: int, config: ServerConfig) -> _Worker:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # The PostgreSQL DSN goes by the environment, not the command line, which every local user can read.
        env = {**os.environ, DSN_ENV: config.postgres_dsn}
        with theirs:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "server.ingest.worker", "--fd", str(theirs.fileno()), "--index", str(index),
                "--storage", config.storage_backend, "--pool-size", str(config.postgres_pool_size),
                "--database", str(config.database), "--org-units", str(config.org_units),
                "--catalog", str(config.catalog), "--key-file", str(config.key_file), "--log-level",
                config.log_level, pass_fds=(theirs.fileno(),), env=env)
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        log.info("ingest worker started worker=%d pid=%d", index, process.pid)
        return cls(index, process, reader, writer)

    @property
    def is_alive(self) -> bool:
        return not self._answers.done()

    @property
    def pid(self) -> int:
        return self._process.pid

    async def call(self, agent: AgentRecord, body: bytes) -> PushDone:
        if not self.is_alive:
            raise WorkerGone(f"ingest worker {self.index} has ended")
        self._next_job += 1
        job = self._next_job
        answer = self._waiting[job] = asyncio.get_running_loop().create_future()
        self._writer.write(frame(PushJob(job, agent, body)))
        # Shielded: a request cancelled here leaves the job to the worker, which commits or rolls it back whole.
        return await asyncio.shield(answer)

    async def _read_answers(self) -> None:
        try:
            while (done := await read_frame(self._reader, _answers)) is not None:
                waiting = self._waiting.pop(done.job, None)
                if waiting is not None and not waiting.done():
                    waiting.set_result(done)
        except (OSError, asyncio.IncompleteReadError, msgspec.DecodeError):
            log.exception("ingest worker answer unreadable worker=%d", self.index)
        finally:
            gone = WorkerGone(f"ingest worker {self.index} ended before it answered")
            for waiting in self._waiting.values():
                if not waiting.done():
                    waiting.set_exception(gone)
            self._waiting.clear()

    async def stop(self) -> None:
        """Close our sending side: the worker answers what it was given, closes its database and exits."""
        if self.is_alive and not self._writer.is_closing():
            self._writer.write_eof()
        try:
            code = await asyncio.wait_for(self._process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            log.warning("ingest worker did not stop worker=%d pid=%d: killed", self.index, self._process.pid)
            self._process.kill()
            code = await self._process.wait()
        await asyncio.gather(self._answers, return_exceptions=True)
        self._writer.close()
        if code != 0:
            log.warning("ingest worker ended worker=%d code=%s", self.index, code)

"""Simulation jobs: runs of any size that never take CPU from decisions.

A job runs in a process pool of its own, apart from the processes answering requests, at a lower
CPU priority (`os.nice` in each pool process). Its state lives in one directory shared by every
process of the service, one JSON file per job written atomically, so any request worker can
answer for a job another one accepted:

- `queued` → `running` (with `progress`, 0–1) → `done` (with the result), or `failed` (bad input,
  with `error`), `timed_out` (past the time limit) or `cancelled`.
- The number of jobs queued or running, over all workers, is bounded: past it `submit` raises
  `JobQueueFull`.
- Cancelling writes a marker the running job notices within a fraction of a second; a queued job
  is cancelled before it starts.
"""
from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import jsonio
from ..errors import FenliuError, details
from ..policy import load_policy
from .errors import SimulationInputError, SimulationLimitError, SimulationTimeout
from .run import SimulationOptions, options_from_dict, run_simulation

ACTIVE = ("queued", "running")
PROGRESS_EVERY_SECONDS = 0.5
SLOT_POLL_SECONDS = 0.2


class JobQueueFull(FenliuError):
    """As many jobs are queued or running as the service allows."""


class JobCancelled(Exception):
    """Raised inside a running job when its cancel marker appears."""


@dataclass(frozen=True)
class JobLimits:
    """The bounds every job runs under, set by the service, never by the request."""

    workers: int = 1  # simulations running at once over the whole service
    queue: int = 4
    max_conversations: int = 200_000
    max_agents: int = 2000
    max_policies: int = 4
    time_limit_seconds: float = 600.0
    nice: int = 19


class SimulationJobs:
    """One per process of the service; the directory is what they share."""

    def __init__(self, directory: Path | None, limits: JobLimits) -> None:
        """`directory`: shared by the service's processes; None for a private temporary one,
        made on first use and removed by `shutdown`."""
        self._directory, self._owned = directory, directory is None
        self.limits = limits
        self._pool: ProcessPoolExecutor | None = None

    @property
    def directory(self) -> Path:
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(prefix="fenliu-simulations-"))
        self._directory.mkdir(parents=True, exist_ok=True)
        return self._directory

    def submit(self, body: bytes, policies: dict[str, str]) -> dict[str, Any]:
        """Queue a run under `policies` (label → policy file) of a request `body`: JSON with `trace`,
        `roster` and optional `options`, as `POST /v1/simulate` takes. Returns the job's state.

        The body is decoded and checked in the pool, never here: a large trace costs the calling
        process neither time nor a heap that its garbage collector would have to walk. A bad one
        ends as a `failed` job whose `error` lists every problem."""
        with self._locked():
            active = sum(1 for state in self._states() if state["status"] in ACTIVE)
            if active >= self.limits.queue:
                raise JobQueueFull(f"{active} simulations are queued or running, the most this service takes")
            job_id = uuid.uuid4().hex
            state = {"id": job_id, "status": "queued", "progress": 0.0, "created_at": _now(),
                     "policies": list(policies)}
            (self.directory / f"{job_id}.request.json").write_bytes(body)
            _write(self._path(job_id), state)
        self._executor().submit(run_job, str(self.directory), job_id, policies, self.limits)
        return state

    def status(self, job_id: str) -> dict[str, Any] | None:
        """The job's state, with `result` once done; None for an unknown id."""
        if not _is_id(job_id):
            return None
        state = _read(self._path(job_id))
        if state is not None and state["status"] == "done":
            state["result"] = _read(self._result_path(job_id))
        return state

    def cancel(self, job_id: str) -> dict[str, Any] | None:
        """Ask the job to stop; a finished job is left as it is. Returns the state, None if unknown."""
        if not _is_id(job_id):
            return None
        with self._locked():
            state = _read(self._path(job_id))
            if state is None:
                return None
            if state["status"] in ACTIVE:
                self._cancel_path(job_id).touch()
                if state["status"] == "queued":
                    state.update(status="cancelled", finished_at=_now())
                    _write(self._path(job_id), state)
        return state

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._owned and self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # Fresh interpreters: the rule engine's native state is never forked.
            self._pool = ProcessPoolExecutor(self.limits.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_lower_priority, initargs=(self.limits.nice,))
        return self._pool

    def _states(self) -> Iterator[dict[str, Any]]:
        for path in self.directory.glob("*.json"):
            if path.name.count(".") == 1:
                state = _read(path)
                if state is not None:
                    yield state

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.directory / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _path(self, job_id: str) -> Path:
        return self.directory / f"{job_id}.json"

    def _result_path(self, job_id: str) -> Path:
        return self.directory / f"{job_id}.result.json"

    def _cancel_path(self, job_id: str) -> Path:
        return self.directory / f"{job_id}.cancel"


_parent: int | None = None


def _lower_priority(increment: int) -> None:
    """Nice, and on Linux SCHED_IDLE too: a pool process runs only on CPU time nothing else wants,
    so a decision waking up never waits behind a simulation's time slice."""
    global _parent
    _parent = os.getppid()
    os.nice(increment)
    if hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _orphaned() -> bool:
    """The service process that owns this pool is gone: nobody will read the result."""
    return _parent is not None and os.getppid() != _parent


def run_job(directory: str, job_id: str, policies: dict[str, str], limits: JobLimits) -> None:
    """In a pool process: run the job and record how it ended. Never raises."""
    folder = Path(directory)
    path, cancel, request = folder / f"{job_id}.json", folder / f"{job_id}.cancel", folder / f"{job_id}.request.json"
    state = _read(path) or {"id": job_id}
    try:
        body = request.read_bytes()
    finally:
        request.unlink(missing_ok=True)
    with _run_slot(folder, limits.workers, cancel) as slot:
        if slot:
            _run(folder, job_id, state, body, policies, limits)


@contextmanager
def _run_slot(folder: Path, slots: int, cancel: Path) -> Iterator[bool]:
    """One of the `slots` that every process of the service shares, however many pools there are:
    at most that many simulations run at once. False when cancelled (or orphaned) while waiting."""
    while True:
        for slot in range(slots):
            with open(folder / f".slot-{slot}.lock", "a+") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                try:
                    yield True
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
                return
        if cancel.exists() or _orphaned():
            yield False
            return
        time.sleep(SLOT_POLL_SECONDS)


def _run(folder: Path, job_id: str, state: dict[str, Any], body: bytes, policies: dict[str, str], limits: JobLimits) -> None:
    path, cancel = folder / f"{job_id}.json", folder / f"{job_id}.cancel"
    if cancel.exists():
        return
    state.update(status="running", started_at=_now())
    _write(path, state)
    started = last = time.monotonic()
    done: dict[str, float] = dict.fromkeys(policies, 0.0)

    def progress(label: str, fraction: float) -> None:
        nonlocal last
        done[label] = fraction
        if time.monotonic() - last < PROGRESS_EVERY_SECONDS:
            return
        last = time.monotonic()
        if cancel.exists() or _orphaned():
            raise JobCancelled
        state["progress"] = round(sum(done.values()) / len(done), 3)
        _write(path, state)

    loaded = []
    try:
        decoded = jsonio.decode(body)
        parsed = options_from_dict(decoded.get("options", {}))
        bounded = SimulationOptions(seed=parsed.seed, behaviour=parsed.behaviour, sample_minutes=parsed.sample_minutes,
                                    drain_hours=parsed.drain_hours, max_conversations=limits.max_conversations,
                                    max_agents=limits.max_agents, max_policies=limits.max_policies,
                                    time_limit_seconds=limits.time_limit_seconds)
        labelled = {}
        for label, file in policies.items():
            labelled[label] = load_policy(file)
            loaded.append(labelled[label])
        result = run_simulation(decoded.get("trace"), decoded.get("roster"), labelled, bounded, progress=progress)
        _write(folder / f"{job_id}.result.json", result)
        state.update(status="done", progress=1.0)
    except JobCancelled:
        state.update(status="cancelled")
    except SimulationTimeout:
        state.update(status="timed_out", error={
            "code": "simulation_timed_out",
            "message": f"the simulation ran past this service's limit of {limits.time_limit_seconds:g} s; "
                       "run it with `fenliu simulate`, or split the trace", "details": []})
    except SimulationInputError as error:
        state.update(status="failed", error={
            "code": "invalid_simulation", "message": "the trace, roster or options do not follow their schemas",
            "details": details(error.issues)})
    except SimulationLimitError as error:
        state.update(status="failed", error={"code": "simulation_too_large", "message": str(error), "details": []})
    except jsonio.MalformedJson as error:
        state.update(status="failed", error={"code": "malformed_json", "message": str(error), "details": []})
    except FenliuError as error:
        state.update(status="failed", error={"code": "simulation_failed", "message": str(error), "details": []})
    finally:
        for policy in loaded:
            policy.close()
    state.update(finished_at=_now(), seconds=round(time.monotonic() - started, 3))
    _write(path, state)


def _is_id(job_id: str) -> bool:
    return len(job_id) == 32 and all(c in "0123456789abcdef" for c in job_id)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return state
    except (OSError, ValueError):
        return None

"""Where runs execute: in this process, on a process pool, or on a Dask cluster, behind one generator shape.

Every executor yields `(spec, Attempt)` pairs as runs finish, in any order; a run that raises, or whose worker
is lost, is an `Attempt` with an error, never an exception out of the executor. Closing the generator (the
consumer stopped, or Ctrl-C) cancels what is queued and stops what is running.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from sim.errors import BadInput
from sim.spec import RunResult, RunSpec

SimulateFn = Callable[[RunSpec], RunResult]
ExecutorKind = Literal["sequential", "process", "dask-local", "dask"]


@dataclass
class Attempt:
    """One attempt at one run, as sent back from a worker (exceptions caught and described there)."""

    run_id: str
    result: RunResult | None
    error: str | None
    traceback: str | None
    wall_seconds: float


def run_one(simulate: SimulateFn, spec: RunSpec) -> Attempt:
    """Simulate one spec; an exception becomes an `Attempt` with the error (so it never kills a pool)."""
    start = time.perf_counter()
    try:
        result = simulate(spec)
    except Exception as exc:  # a failing run is data, not a crash
        return Attempt(spec.run_id, None, f"{type(exc).__name__}: {exc}", traceback.format_exc(),
                       time.perf_counter() - start)
    return Attempt(spec.run_id, result, None, None, time.perf_counter() - start)


def _lost(spec: RunSpec, exc: BaseException) -> Attempt:
    """An attempt whose worker was lost (pool broken, worker killed, result unpicklable)."""
    return Attempt(spec.run_id, None, f"{type(exc).__name__}: {exc}", None, math.nan)


@dataclass(frozen=True)
class Executor:
    """Which executor runs the specs, and with how many workers."""

    kind: ExecutorKind
    workers: int
    scheduler: str | None = None

    @classmethod
    def choose(cls, workers: int | None, scheduler: str | None) -> Executor:
        """`workers=1` in this process, N > 1 a process pool (default: one per CPU); a scheduler: Dask,
        "local" for a LocalCluster started for the call (default 2 workers) or the address of a running one."""
        if scheduler is not None:
            return cls("dask-local" if scheduler == "local" else "dask", int(workers or 2), scheduler)
        n = int(workers) if workers is not None else (os.cpu_count() or 1)
        if n < 1:
            raise ValueError(f"workers must be >= 1, got {n}")
        return cls("sequential" if n == 1 else "process", n)

    def sized_for(self, runs: int) -> Executor:
        """No more pool processes than runs (each costs a Python start-up)."""
        if self.kind != "process":
            return self
        return Executor(self.kind, max(1, min(self.workers, runs)), self.scheduler)

    def describe(self) -> str:
        """The executor as the manifest records it."""
        return {
            "sequential": "sequential (in-process)",
            "process": f"process pool (spawn, {self.workers} workers)",
            "dask-local": f"dask LocalCluster ({self.workers} workers x 1 thread)",
            "dask": f"dask scheduler {self.scheduler}",
        }[self.kind]

    def attempts(self, simulate: SimulateFn, specs: list[RunSpec]) -> Iterator[tuple[RunSpec, Attempt]]:
        """Run `specs`, yielding `(spec, attempt)` as each finishes."""
        if not specs:
            return iter(())
        if self.kind == "sequential":
            return ((spec, run_one(simulate, spec)) for spec in specs)
        if self.kind == "process":
            return _process_pool(simulate, specs, self.workers)
        return _dask(simulate, specs, self.scheduler or "local", self.workers)


def _as_completed(futures: dict[Any, RunSpec], completed: Iterable[Any],
                  release: bool = False) -> Iterator[tuple[RunSpec, Attempt]]:
    """The attempts of `futures` in the order `completed` yields them; a future that raises (a broken pool,
    a killed worker, a result that cannot be unpickled) is a lost attempt. `release`: drop each Dask result
    from the cluster once handed over."""
    for future in completed:
        spec = futures[future]
        try:
            attempt = future.result()
        except Exception as exc:  # BrokenProcessPool, KilledWorker, CancelledError, unpicklable result
            attempt = _lost(spec, exc)
        yield spec, attempt
        if release:
            future.release()


def _init_worker(parent_pid: int) -> None:
    """Process-pool worker initializer.

    Ctrl-C is the parent's business (it cancels and shuts the pool down), so workers ignore SIGINT. A
    daemon thread ends the worker if the parent dies without shutting the pool down (SIGKILL, OOM
    killer): an orphaned worker would otherwise wait on its task queue forever.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _process_pool(simulate: SimulateFn, specs: list[RunSpec], workers: int) -> Iterator[tuple[RunSpec, Attempt]]:
    """Run specs on a spawn-context process pool, yielding attempts as they complete."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(os.getpid(),)
    )
    clean = False
    try:
        futures = {pool.submit(run_one, simulate, spec): spec for spec in specs}
        yield from _as_completed(futures, as_completed(futures))
        clean = True
    finally:
        if clean:
            pool.shutdown(wait=True)
        else:  # interrupted (or the consumer stopped): drop queued work, stop running work now
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                with contextlib.suppress(Exception):
                    process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT in this process while the block runs (so child processes started in it inherit that)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


SCHEDULER_TIMEOUT_S = 5.0
"""How long to wait for a Dask scheduler to answer before saying it does not (distributed waits 30 s)."""


def check_scheduler(scheduler: str | None, timeout: float = SCHEDULER_TIMEOUT_S) -> None:
    """A scheduler address that no one answers at is one line (BadInput) within `timeout` seconds, before
    anything is written; 'local' and non-TCP transports are left to distributed."""
    if scheduler is None or scheduler == "local":
        return
    import socket

    try:
        from distributed.comm.addressing import parse_address, parse_host_port
    except ImportError:
        raise BadInput(f"--scheduler {scheduler}: Dask is not installed here: pip install -c requirements/lock.txt "
                       "'.[dask]'") from None

    try:
        scheme, location = parse_address(scheduler)
        if scheme in ("tcp", "tls"):  # a refused connection answers at once; a silent host within the timeout
            host, port = parse_host_port(location, 8786)
            socket.create_connection((host, port), timeout=timeout).close()
        _handshake(scheduler, timeout)
    except Exception as exc:  # whatever answers there (or does not) is not a scheduler we can use
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else (str(exc) or type(exc).__name__)
        raise BadInput(f"--scheduler {scheduler}: no Dask scheduler answers there ({reason[:100]}, within "
                       f"{timeout:g} s): start one (`dask scheduler`) or give its address as tcp://HOST:PORT, or "
                       "use --scheduler local; nothing was written") from None


def _handshake(scheduler: str, timeout: float) -> None:
    """Ask whatever answers at the address who it is: something that accepts connections but is no Dask
    scheduler fails here (a comm of its own, closed here, so no client is left to clean up at exit)."""
    import asyncio
    import logging

    from distributed.comm import connect

    async def identity() -> Any:
        comm = await connect(scheduler, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            await comm.close()

    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # distributed logs each failed attempt; the one line says it all
    try:
        answer = asyncio.run(asyncio.wait_for(identity(), timeout))
    finally:
        quiet.setLevel(level)
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise ValueError(f"it answers as {short_text(answer)}, not as a Dask scheduler")


def short_text(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _dask(
    simulate: SimulateFn, specs: list[RunSpec], scheduler: str, workers: int
) -> Iterator[tuple[RunSpec, Attempt]]:
    """Run specs on a Dask cluster (a LocalCluster started here for 'local'), yielding as completed."""
    import logging

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        # Worker processes inherit an ignored SIGINT (dispositions survive exec), so a Ctrl-C on the
        # terminal reaches only this process, which cancels and closes the cluster, instead of every
        # worker printing a KeyboardInterrupt traceback.
        with _sigint_ignored():
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    futures: dict[Any, RunSpec] = {}
    try:
        token = uuid.uuid4().hex[:8]
        for spec in specs:
            key = f"resilience-run-{spec.run_id}-{token}"
            futures[client.submit(run_one, simulate, spec, key=key, pure=False)] = spec
        yield from _as_completed(futures, as_completed(list(futures)), release=True)
    finally:
        with contextlib.suppress(Exception):
            client.cancel(list(futures))
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()

"""The certification lab: a FIFO queue with `benches` parallel test benches, shared with samples from
outside the network (the national background load).

The lab is not a SimPy process. Its queue is evaluated by the Kiefer–Wolfowitz recursion (each sample
starts on the earliest free bench, never before it arrives), advanced lazily up to the time of each
network submission. Background samples (thousands) therefore cost a heap operation each, not SimPy events.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from sim.distributions import Dist
from sim.metrics import STARVED, WORKING, StageTrack
from sim.timebase import HOURS_PER_DAY


class CertificationLab:
    def __init__(self, *, benches: int, tests_per_bench_per_day: float, test_time_cv: float,
                 report_delay: Dist, background_per_day: np.ndarray, initial_backlog: int,
                 network_priority: bool, instant: bool, rng: np.random.Generator) -> None:
        self.benches = [0.0] * benches  # a heap of the times each bench is next free
        self.mean_test_h = HOURS_PER_DAY / tests_per_bench_per_day
        self.cv = test_time_cv
        self.report_delay = report_delay
        self.network_priority = network_priority
        self.instant = instant
        self.rng = rng
        self.bg_arrivals = self._background_arrivals(background_per_day, initial_backlog)
        self.bg_tests = self._test_times(len(self.bg_arrivals))
        self.bg_starts = np.full(len(self.bg_arrivals), np.nan)
        self._next_bg = 0
        # network samples: (submitted, started, verdict time)
        self.net_submitted: list[float] = []
        self.net_started: list[float] = []
        self.net_verdicts: list[float] = []

    def _background_arrivals(self, per_day: np.ndarray, backlog: int) -> np.ndarray:
        counts = self.rng.poisson(np.maximum(per_day, 0.0))
        days = np.repeat(np.arange(len(per_day)), counts)
        times = (days + self.rng.random(len(days))) * HOURS_PER_DAY
        return np.concatenate([np.zeros(backlog), np.sort(times)])

    def _test_times(self, n: int) -> np.ndarray:
        if self.cv <= 0:
            return np.full(n, self.mean_test_h)
        shape = 1.0 / (self.cv * self.cv)
        return self.rng.gamma(shape, self.mean_test_h / shape, n)

    def _advance(self, t: float, started_only: bool) -> None:
        """Start background samples in FIFO order: those that arrived before t (FIFO discipline), or
        only those that start before t (network samples have priority)."""
        arrivals, tests, starts, benches = self.bg_arrivals, self.bg_tests, self.bg_starts, self.benches
        i, n = self._next_bg, len(arrivals)
        while i < n and arrivals[i] <= t:
            start = max(arrivals[i], benches[0])
            if started_only and start > t:
                break
            heapq.heapreplace(benches, start + tests[i])
            starts[i] = start
            i += 1
        self._next_bg = i

    def submit(self, t: float) -> tuple[float, float]:
        """A network sample arrives at t: (time its test starts, time its verdict is known)."""
        if self.instant:
            self.net_submitted.append(t)
            self.net_started.append(t)
            self.net_verdicts.append(t)
            return t, t
        self._advance(t, started_only=self.network_priority)
        start = max(t, self.benches[0])
        test = float(self._test_times(1)[0])
        heapq.heapreplace(self.benches, start + test)
        verdict = start + test + float(self.report_delay.sample(self.rng)) * HOURS_PER_DAY
        self.net_submitted.append(t)
        self.net_started.append(start)
        self.net_verdicts.append(verdict)
        return start, verdict

    def finish(self, horizon_h: float) -> None:
        self._advance(horizon_h, started_only=False)

    def daily_queue(self, days: int, network_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Samples waiting at the end of each day, and the mean wait (days) of tests started each day: of every
        sender, or (`network_only`) of the network's own audits, which go first when the lab gives priority."""
        if network_only:
            arrivals, starts = np.asarray(self.net_submitted, dtype=float), np.asarray(self.net_started, dtype=float)
        else:
            arrivals = np.concatenate([self.bg_arrivals, np.asarray(self.net_submitted)])
            starts = np.concatenate([self.bg_starts, np.asarray(self.net_started)])
        starts = np.where(np.isnan(starts), math.inf, starts)
        ends = (np.arange(days) + 1) * HOURS_PER_DAY
        arrived = np.searchsorted(np.sort(arrivals), ends, side="right")
        started = np.searchsorted(np.sort(starts), ends, side="right")
        queue = arrived - started
        begun = np.isfinite(starts)
        day = (starts[begun] // HOURS_PER_DAY).astype(int)
        wait = (starts[begun] - arrivals[begun]) / HOURS_PER_DAY
        inside = day < days
        total = np.bincount(day[inside], weights=wait[inside], minlength=days)
        count = np.bincount(day[inside], minlength=days)
        mean_wait = np.divide(total, count, out=np.full(days, np.nan), where=count > 0)
        return queue.astype(float), mean_wait

    def kpis(self) -> dict[str, float]:
        """Mean wait of the network's samples and their number (nothing if none was submitted)."""
        if not self.net_submitted:
            return {}
        waits = np.asarray(self.net_started) - np.asarray(self.net_submitted)
        return {"lab_mean_wait_days": float(waits.mean() / HOURS_PER_DAY), "lab_network_samples": float(len(waits))}

    def series(self, days: int) -> list[tuple[str, str, np.ndarray]]:
        """Rows of the series table: the queue and the wait, of every sample and of the network's."""
        queue, wait = self.daily_queue(days)
        rows = [("lab_queue", "all", queue), ("lab_wait_days", "all", wait)]
        queue, wait = self.daily_queue(days, network_only=True)
        rows += [("lab_queue", "network", queue), ("lab_wait_days", "network", wait)]
        return rows

    def record_activity(self, track: StageTrack, horizon_h: float) -> None:
        """Certification as a stage: working while any network sample is at the lab."""
        spans = sorted(zip(self.net_submitted, self.net_verdicts, strict=True))
        merged: list[list[float]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        for a, b in merged:
            track.set(WORKING, min(a, horizon_h))
            track.set(STARVED, min(b, horizon_h))
        track.finish(horizon_h)

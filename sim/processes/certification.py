"""The certification gate: the network's design must pass the lab once, then each sewing site's audit
sample. Until both pass, a site either produces at risk (its output is held, not shipped) or waits.
A failed sample sends the site (or the design) back to adjust for a drawn delay and resubmit (one loop,
`submit_until_pass`, for both); on a failed audit the held stock is scrapped or kept, as configured."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Iterable
from typing import Any

import numpy as np
import simpy

from sim.config import DesignSpec, SiteAuditSpec
from sim.distributions import Dist
from sim.entities.lab import CertificationLab
from sim.entities.ledger import Ledger
from sim.entities.lot import Lot
from sim.metrics import BLOCKED, StageTrack
from sim.timebase import HOURS_PER_DAY

Send = Callable[[Lot, StageTrack | None], Iterable[simpy.Event]]


def submit_until_pass(env: simpy.Environment, lab: CertificationLab, rng: np.random.Generator,
                      pass_probability: float, adjust_days: Dist, on_fail: Callable[[], None] | None = None
                      ) -> Generator[simpy.Event, Any, int]:
    """Submit samples until one passes, adjusting for a drawn delay after each failure (`on_fail` is
    called first); returns the number of submissions."""
    tries = 0
    while True:
        tries += 1
        _, verdict = lab.submit(env.now)
        yield env.timeout(verdict - env.now)
        if rng.random() < pass_probability:
            return tries
        if on_fail is not None:
            on_fail()
        yield env.timeout(float(adjust_days.sample(rng)) * HOURS_PER_DAY)


class DesignCertification:
    """The standard design: certified once for the whole network."""

    def __init__(self, env: simpy.Environment, start: dt.date, spec: DesignSpec, lab: CertificationLab | None,
                 rng: np.random.Generator) -> None:
        self.env = env
        self.approved = spec.certified or lab is None
        self.approved_h: float | None = 0.0 if self.approved else None
        self._event = env.event()
        if self.approved:
            self._event.succeed()
        else:
            assert lab is not None
            submit_h = 0.0 if spec.submit is None else (spec.submit - start).days * HOURS_PER_DAY
            env.process(self._certify(submit_h, spec, lab, rng))

    def _certify(self, submit_h: float, spec: DesignSpec, lab: CertificationLab, rng: np.random.Generator
                 ) -> Generator[simpy.Event, Any, None]:
        env = self.env
        yield env.timeout(max(0.0, submit_h - env.now))
        yield from submit_until_pass(env, lab, rng, spec.pass_probability, spec.adjust_days)
        self.approved = True
        self.approved_h = env.now
        self._event.succeed()

    def wait(self) -> simpy.Event:
        return self._event

    def approval_day(self) -> float:
        return self.approved_h / HOURS_PER_DAY if self.approved_h is not None else float("nan")


class SiteGate:
    """Holds a sewing site's output until the design and the site's own audit sample have passed, and
    ships it: `ship` is the site's outlet (what the gate held leaves first once it opens)."""

    def __init__(self, env: simpy.Environment, ledger: Ledger, site_name: str, spec: SiteAuditSpec,
                 required: bool, policy: str, design: DesignCertification, lab: CertificationLab | None,
                 rng: np.random.Generator) -> None:
        self.env = env
        self.ledger = ledger
        self.site_name = site_name
        self.spec = spec
        self.required = required and lab is not None
        self.policy = policy
        self.design = design
        self.lab = lab
        self.rng = rng
        self.send: Send | None = None  # the site's dispatcher, connected once the routes are built
        self.site_passed = not self.required
        self.first_sample_h: float | None = None
        self.approved_h: float | None = None
        self.held: list[Lot] = []
        self.held_masks = 0
        self.held_scrapped = 0
        self.releasing: Lot | None = None  # a released lot waiting for room downstream
        self._open = env.event()
        self._drained: simpy.Event | None = None  # pending while new output waits behind released stock
        self._site_event = env.event()
        env.process(self._watch())

    def is_open(self) -> bool:
        return self.design.approved and self.site_passed

    def may_produce(self) -> bool:
        """Under the wait policy, a site makes its sample lot (after the design passed) and then waits."""
        if self.policy != "wait" or self.is_open():
            return True
        return self.design.approved and self.first_sample_h is None

    def wait_production(self) -> simpy.Event:
        return self._open if self.design.approved else self.design.wait()

    def first_output(self, t: float) -> None:
        """The site's first sewn lot: its audit sample goes to the lab."""
        if self.first_sample_h is None:
            self.first_sample_h = t
            if self.required:
                self.env.process(self._audit())

    @property
    def masks_at_gate(self) -> int:
        """Masks held awaiting a verdict plus a released lot still waiting for room downstream."""
        return self.held_masks + (self.releasing.masks if self.releasing is not None else 0)

    def releasing_backlog(self) -> bool:
        """True while the gate, open, still ships what it held (older stock leaves first)."""
        return bool(self.held) or self.releasing is not None

    def wait_drained(self) -> simpy.Event:
        if self._drained is None:
            self._drained = self.env.event()
        return self._drained

    def hold(self, lot: Lot) -> None:
        self.held.append(lot)
        self.held_masks += lot.masks

    def ship(self, lot: Lot, track: StageTrack | None) -> Iterable[simpy.Event]:
        """A finished lot leaves, unless the gate holds it. Once the gate opens, what it held leaves first:
        new output waits (blocked) until the held stock is on its way. The caller yields from what this
        returns: the dispatcher's send itself when nothing is held (no process step of the gate's own)."""
        if not self.is_open():
            self.hold(lot)
            return ()
        assert self.send is not None
        if self.releasing_backlog():
            return self._ship_after_backlog(lot, track)
        return self.send(lot, track)

    def _ship_after_backlog(self, lot: Lot, track: StageTrack | None) -> Generator[simpy.Event, Any, None]:
        while self.releasing_backlog():
            if track is not None:
                track.set(BLOCKED, self.env.now)
            yield self.wait_drained()
        assert self.send is not None
        yield from self.send(lot, track)

    def _scrap_held(self) -> None:
        self.ledger.scrap(self.held_masks)
        self.held_scrapped += self.held_masks
        self.held.clear()
        self.held_masks = 0

    def _audit(self) -> Generator[simpy.Event, Any, None]:
        assert self.lab is not None
        on_fail = self._scrap_held if self.spec.on_fail == "scrap" else None
        yield from submit_until_pass(self.env, self.lab, self.rng, self.spec.pass_probability,
                                     self.spec.adjust_days, on_fail)
        self.site_passed = True
        self._site_event.succeed()

    def _watch(self) -> Generator[simpy.Event, Any, None]:
        """Open the gate the moment both the design and the site are approved, and ship what was held."""
        yield self.design.wait()
        if not self.site_passed:
            yield self._site_event
        self.approved_h = self.env.now
        self._open.succeed()
        assert self.send is not None
        while self.held:
            lot = self.held.pop(0)
            self.held_masks -= lot.masks
            self.releasing = lot
            yield from self.send(lot, None)
            self.releasing = None
        if self._drained is not None:
            event, self._drained = self._drained, None
            event.succeed()

    def kpis(self) -> dict[str, float]:
        """Days from the first audit sample to approval, for a site that needs an audit."""
        if not self.required:
            return {}
        days = ((self.approved_h - self.first_sample_h) / HOURS_PER_DAY
                if self.approved_h is not None and self.first_sample_h is not None else float("nan"))
        return {f"approval_days.{self.site_name}": days}

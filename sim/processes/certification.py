"""The certification gate: the network's design must pass the lab once, then each sewing site's audit
sample. Until both pass, a site either produces at risk (its output is held, not shipped) or waits.
A failed sample sends the site (or the design) back to adjust for a drawn delay and resubmit; on a
failed audit the held stock is scrapped or kept, as configured."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from sim.config import DesignSpec, SiteAuditSpec
from sim.entities.lab import CertificationLab
from sim.entities.lot import Lot
from sim.entities.site import Site
from sim.timebase import HOURS_PER_DAY

if TYPE_CHECKING:
    from sim.model import Network


def submit_until_pass(env: simpy.Environment, lab: CertificationLab, rng: np.random.Generator,
                      pass_probability: float, adjust_days: Any) -> Generator[simpy.Event, Any, int]:
    """Submit samples until one passes; returns the number of submissions."""
    tries = 0
    while True:
        tries += 1
        _, verdict = lab.submit(env.now)
        yield env.timeout(verdict - env.now)
        if rng.random() < pass_probability:
            return tries
        yield env.timeout(float(adjust_days.sample(rng)) * HOURS_PER_DAY)


class DesignCertification:
    """The standard design: certified once for the whole network."""

    def __init__(self, net: Network, spec: DesignSpec, lab: CertificationLab | None, rng: np.random.Generator
                 ) -> None:
        self.net = net
        self.approved = spec.certified or lab is None
        self.approved_h: float | None = 0.0 if self.approved else None
        self._event = net.env.event()
        if self.approved:
            self._event.succeed()
        else:
            assert lab is not None
            net.env.process(self._certify(spec, lab, rng))

    def _certify(self, spec: DesignSpec, lab: CertificationLab, rng: np.random.Generator
                 ) -> Generator[simpy.Event, Any, None]:
        env = self.net.env
        submit_h = 0.0 if spec.submit is None else (spec.submit - self.net.start).days * HOURS_PER_DAY
        yield env.timeout(max(0.0, submit_h - env.now))
        yield from submit_until_pass(env, lab, rng, spec.pass_probability, spec.adjust_days)
        self.approved = True
        self.approved_h = env.now
        self._event.succeed()

    def wait(self) -> simpy.Event:
        return self._event


class SiteGate:
    """Holds a sewing site's output until the design and the site's own audit sample have passed."""

    def __init__(self, net: Network, site: Site, spec: SiteAuditSpec, required: bool, policy: str,
                 design: DesignCertification, lab: CertificationLab | None, rng: np.random.Generator) -> None:
        self.net = net
        self.site = site
        self.spec = spec
        self.required = required and lab is not None
        self.policy = policy
        self.design = design
        self.lab = lab
        self.rng = rng
        self.site_passed = not self.required
        self.first_sample_h: float | None = None
        self.approved_h: float | None = None
        self.held: list[Lot] = []
        self.held_masks = 0
        self.held_scrapped = 0
        self.releasing: Lot | None = None  # a released lot waiting for room downstream
        self._open = net.env.event()
        self._drained: simpy.Event | None = None  # pending while new output waits behind released stock
        self._site_event = net.env.event()
        net.env.process(self._watch())

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
                self.net.env.process(self._audit())

    @property
    def masks_at_gate(self) -> int:
        """Masks held awaiting a verdict plus a released lot still waiting for room downstream."""
        return self.held_masks + (self.releasing.masks if self.releasing is not None else 0)

    def releasing_backlog(self) -> bool:
        """True while the gate, open, still ships what it held (older stock leaves first)."""
        return bool(self.held) or self.releasing is not None

    def wait_drained(self) -> simpy.Event:
        if self._drained is None:
            self._drained = self.net.env.event()
        return self._drained

    def hold(self, lot: Lot) -> None:
        self.held.append(lot)
        self.held_masks += lot.masks

    def _audit(self) -> Generator[simpy.Event, Any, None]:
        env = self.net.env
        assert self.lab is not None
        while True:
            _, verdict = self.lab.submit(env.now)
            yield env.timeout(verdict - env.now)
            if self.rng.random() < self.spec.pass_probability:
                break
            if self.spec.on_fail == "scrap":
                self.net.scrap(self.held_masks)
                self.held_scrapped += self.held_masks
                self.held.clear()
                self.held_masks = 0
            yield env.timeout(float(self.spec.adjust_days.sample(self.rng)) * HOURS_PER_DAY)
        self.site_passed = True
        self._site_event.succeed()

    def _watch(self) -> Generator[simpy.Event, Any, None]:
        """Open the gate the moment both the design and the site are approved, and ship what was held."""
        yield self.design.wait()
        if not self.site_passed:
            yield self._site_event
        self.approved_h = self.net.env.now
        self._open.succeed()
        while self.held:
            lot = self.held.pop(0)
            self.held_masks -= lot.masks
            self.releasing = lot
            yield from self.net.dispatch(self.site, lot, None)
            self.releasing = None
        if self._drained is not None:
            event, self._drained = self._drained, None
            event.succeed()

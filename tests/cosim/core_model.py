"""Reference of one ``LIFCore`` as seen from its ports: the golden model fed in transfer order.

The testbench calls :meth:`CoreModel.event` for every event transfer and :meth:`CoreModel.tick`
for every tick transfer, in the order the transfers happened on the clock, so an event that
the core accepts after a tick has started belongs to the next timestep, as the hardware
defines it.  The golden :class:`~spikeforge.golden_model.Simulator` raises on more than
``max_events`` events in a timestep; the hardware refuses those events instead and counts them
as DROPPED (``rtl/cfgbus.py``).  The model does the same: the first ``max_events`` events of a
timestep are integrated, later ones only counted.

This module also draws the random contents and stimuli of a run (:func:`random_params`,
:func:`random_state`, :func:`random_burst`), so a seed fixes a whole run.
"""

import numpy as np

from spikeforge.golden_model import CoreParams, Network, Simulator
from spikeforge.rtl.cfgbus import Counter

__all__ = ["CoreModel", "random_params", "random_state", "random_burst", "PROFILES"]

MASK32 = 0xFFFF_FFFF

#: Stimulus profiles: how weights, thresholds and event rates are drawn.
#: ``mixed``: anything; ``saturate``: large same-sign weights, big bias, high thresholds, many
#: events (membrane and current pinned at their limits); ``sparse``: few events, low thresholds.
PROFILES = ("mixed", "saturate", "sparse")


class CoreModel:
    """The golden model of one core, fed with transfers in clock order.

    Members
    -------
    params : CoreParams
    pending : list of int
        Axons integrated into the current (not yet ticked) timestep.
    dropped, ticks : int
        Events refused because the timestep already had ``max_events``; ticks completed.
    """

    def __init__(self, params):
        self.params = params
        self.cfg = params.config
        self.sim = Simulator(Network.single(params))
        self.pending = []
        self.dropped = 0
        self.ticks = 0

    def event(self, axon):
        """An event on ``axon`` was transferred: integrate it or count it as dropped.

        Dropped: an axon that does not exist (``>= axons``; it does not use up the timestep's
        budget) and any event after the first ``max_events`` of a timestep.
        """
        if axon >= self.cfg.axons or len(self.pending) >= self.cfg.max_events:
            self.dropped += 1
        else:
            self.pending.append(int(axon))

    def tick(self):
        """A tick was transferred: run the timestep; return the spiking neurons, ascending."""
        spikes = self.sim.step([(0, a) for a in self.pending])
        self.pending = []
        self.ticks += 1
        return [int(n) for n in np.flatnonzero(spikes)]

    def set_state(self, v, i, ref):
        """Overwrite the state of every neuron (what the testbench wrote through STATE)."""
        n = self.cfg.neurons
        self.sim.v[:n] = v
        self.sim.i[:n] = i if self.cfg.cuba else 0
        self.sim.ref[:n] = ref if self.cfg.refractory_bits else 0

    def state(self):
        """Return ``dict(v=, i=, ref=)`` after the last tick (int arrays, neuron order)."""
        return self.sim.state(0)

    def acc(self):
        """Return the accumulators: the weight sums of the pending events."""
        w = self.params.weights
        if not self.pending:
            return np.zeros(self.cfg.neurons, np.int64)
        return w[np.asarray(self.pending)].astype(np.int64).sum(axis=0)

    def counters(self):
        """Return ``{Counter: value}`` as the hardware counts them (modulo 2**32)."""
        events = int(self.sim.events[0]) + len(self.pending)
        return {Counter.EVENTS: events & MASK32,
                Counter.SOPS: (events * self.cfg.neurons) & MASK32,
                Counter.SPIKES: int(self.sim.spike_counts[0]) & MASK32,
                Counter.DROPPED: self.dropped & MASK32,
                Counter.TICKS: self.ticks & MASK32}


def _skewed(rng, lo, hi, size, sign=0):
    """Integers in ``[lo, hi]``; ``sign`` > 0 / < 0 favours the top / bottom of the range."""
    x = rng.integers(lo, hi + 1, size=size)
    if sign:
        edge = hi if sign > 0 else lo
        near = rng.random(size) < 0.7
        x = np.where(near, edge - np.sign(sign) * rng.integers(0, 2, size=size), x)
    return np.clip(x, lo, hi)


def random_params(cfg, rng, profile="mixed"):
    """Return random :class:`CoreParams` for ``cfg`` (``rng``: a numpy Generator)."""
    wlo, whi = cfg.weight_range
    vmax = cfg.membrane_range[1]
    shape = (cfg.axons, cfg.neurons)
    if profile == "saturate":
        sign = 1 if rng.random() < 0.6 else -1
        weights = _skewed(rng, wlo, whi, shape, sign)
        bias = _skewed(rng, wlo, whi, cfg.neurons, sign)
        bias_shift = int(rng.integers(cfg.max_bias_shift // 2, cfg.max_bias_shift + 1))
        threshold = int(rng.integers(max(1, vmax - vmax // 8), vmax + 1))
    else:
        weights = rng.integers(wlo, whi + 1, size=shape)
        # Neurons drift up on average, so they fire now and then.
        if whi > 0 and rng.random() < 0.5:
            weights = np.where(rng.random(shape) < 0.3, np.abs(weights), weights)
        weights = np.clip(weights, wlo, whi)
        bias = rng.integers(wlo, whi + 1, size=cfg.neurons) * (rng.random(cfg.neurons) < 0.5)
        bias_shift = int(rng.integers(0, min(cfg.max_bias_shift, 3) + 1))
        if rng.random() < 0.5:   # low: frequent spikes, and reset-subtract chains
            threshold = int(rng.integers(1, max(2, 4 * whi) + 1))
        else:
            top = max(1, whi) * (8 if profile == "sparse" else 16) << bias_shift
            threshold = int(rng.integers(1, min(vmax, max(2, top)) + 1))
    leak = _leak(rng, cfg.leak, cfg.max_leak, cfg.decay_frac_bits)
    current_leak = _leak(rng, cfg.leak, cfg.max_current_leak, cfg.decay_frac_bits)
    refractory = int(rng.integers(0, cfg.max_refractory + 1))
    return CoreParams(cfg, weights, bias=bias, bias_shift=bias_shift, threshold=threshold,
                      leak=leak, current_leak=current_leak if cfg.cuba else 0,
                      refractory=refractory)


def _leak(rng, mode, top, frac_bits):
    """A leak parameter: none, mild, strong or anything in ``[0, top]``."""
    r = rng.random()
    if r < 0.2:
        return 0 if mode == "shift" else top                   # no leak
    if r < 0.6:                                                 # mild
        if mode == "shift":
            return int(rng.integers(max(1, top - 6), top + 1))
        return int(rng.integers(top - max(1, top // 8), top + 1))
    if r < 0.75:                                                # strong
        return 1 if mode == "shift" else int(rng.integers(0, max(1, top // 4)))
    return int(rng.integers(0, top + 1))


def random_state(cfg, rng, profile="mixed"):
    """Return an initial ``(v, i, ref)`` for ``cfg`` (some neurons start at the limits)."""
    n = cfg.neurons
    vlo, vhi = cfg.membrane_range
    v = rng.integers(vlo, vhi + 1, size=n)
    if profile != "saturate":
        v = np.where(rng.random(n) < 0.7, v // 4, v)
    edge = rng.random(n)
    v = np.where(edge < 0.05, vhi, np.where(edge < 0.1, vlo, v))
    if cfg.cuba:
        ilo, ihi = cfg.current_range
        i = rng.integers(ilo, ihi + 1, size=n)
        i = np.where(edge < 0.05, ihi, np.where(edge < 0.1, ilo, i))
    else:
        i = np.zeros(n, np.int64)
    ref = rng.integers(0, cfg.max_refractory + 1, size=n) if cfg.refractory_bits \
        else np.zeros(n, np.int64)
    return v.astype(np.int64), i.astype(np.int64), ref.astype(np.int64)


def random_burst(cfg, rng, profile="mixed"):
    """Return ``(axons, gaps)`` of one timestep's events: bursty, sometimes over max_events.

    ``gaps[k]`` idle cycles come before event ``k``: mostly back to back, with random pauses.
    """
    r = rng.random()
    limit = cfg.max_events
    if profile == "sparse":
        count = int(rng.integers(0, 4))
    elif r < 0.15:
        count = 0
    elif r < 0.55:
        count = int(rng.integers(1, 5))
    elif r < 0.9 or profile == "saturate":
        count = int(rng.integers(1, limit + 1))
    else:
        count = int(rng.integers(limit, limit + limit // 2 + 3))   # some are DROPPED
    if profile == "saturate" and rng.random() < 0.7:
        count = max(count, limit)
    hot = rng.integers(0, cfg.axons, size=max(1, cfg.axons // 4))
    axons = np.where(rng.random(count) < 0.5, rng.choice(hot, size=count),
                     rng.integers(0, cfg.axons, size=count))
    gaps = np.where(rng.random(count) < 0.7, 0, rng.integers(1, 12, size=count))
    top = 1 << cfg.axon_bits
    if top > cfg.axons and rng.random() < 0.2:   # an index past the last axon (dropped)
        axons = np.append(axons, rng.integers(cfg.axons, top))
        gaps = np.append(gaps, 0)
    return [int(a) for a in axons], [int(g) for g in gaps]

"""A slow, literal reference simulator: the cross-check of :class:`.Simulator`.

:class:`ReferenceSimulator` implements the semantics of :mod:`.neuron` and :mod:`.simulator`
a second time, written independently and as plainly as possible: Python ``int`` arithmetic,
one neuron and one event at a time, no numpy in the arithmetic, no grouping of cores.  It is
far too slow for real networks; it exists so that the vectorized simulator (and later the RTL)
can be compared against something whose correctness can be checked by reading it.

Timestep ``t``:

1. every host input event of ``t`` is put on the event queue;
2. for each phase ``p`` in ascending order, each core of phase ``p`` (in core order) drains
   the events queued for it in ``t`` into its accumulators, ticks neuron by neuron, and then
   each spiking neuron walks its routing-table entries in order.  An entry to ``HOST`` raises
   the matching host output; an entry to a core of a later phase is queued for ``t`` (that core
   has not ticked yet); an entry to a core of the same or an earlier phase -- including the
   core itself -- is queued for ``t + 1``.

An event is counted (``events``, and the ``max_events`` limit of its target core's timestep)
when it is queued, which is when the hardware's router hands it to the target core.
"""

import numpy as np

from .checks import ConfigError
from .network import HOST, Network
from .simulator import RunResult, SimulationError

__all__ = ["ReferenceSimulator"]


def _saturate(x, bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return lo if x < lo else hi if x > hi else x


def _decay(x, leak, mode, frac_bits):
    if mode == "shift":
        return x if leak == 0 else x - (x >> leak)
    return (x * leak) >> frac_bits


class _Core:
    """Plain-int copy of one core's configuration, parameters, routes and state."""

    def __init__(self, cfg, params, routes):
        self.cfg = cfg
        self.n = cfg.neurons
        self.phase = int(params.phase)
        self.weights = [[int(w) for w in row] for row in params.weights]
        self.bias = [int(b) << int(params.bias_shift) for b in params.bias]
        self.threshold = int(params.threshold)
        self.leak = int(params.leak)
        self.current_leak = int(params.current_leak)
        self.refractory = int(params.refractory)
        # routes_of[n] = [(core, axon), ...] in table order
        self.routes_of = [[] for _ in range(self.n)]
        for s, c, a in zip(routes.source, routes.core, routes.axon):
            self.routes_of[int(s)].append((int(c), int(a)))
        self.reset()

    def reset(self):
        self.v = [0] * self.n
        self.i = [0] * self.n
        self.ref = [0] * self.n

    def tick(self, acc):
        """Tick every neuron with accumulated inputs ``acc``; return the spiking neurons."""
        cfg = self.cfg
        fired = []
        for n in range(self.n):
            a = acc[n]
            if cfg.cuba:
                self.i[n] = _saturate(_decay(self.i[n], self.current_leak, cfg.leak,
                                             cfg.decay_frac_bits) + a, cfg.current_bits)
                x = self.i[n]
            else:
                x = a
            r = self.ref[n]
            u = _decay(self.v[n], self.leak, cfg.leak, cfg.decay_frac_bits)
            if r == 0:
                u += x + self.bias[n]
            v1 = _saturate(u, cfg.membrane_bits)
            if cfg.compare == "ge":
                s = r == 0 and v1 >= self.threshold
            else:
                s = r == 0 and v1 > self.threshold
            if s:
                self.v[n] = 0 if cfg.reset == "zero" else v1 - self.threshold
                self.ref[n] = self.refractory
                fired.append(n)
            else:
                self.v[n] = v1
                self.ref[n] = max(r - 1, 0)
        return fired


class ReferenceSimulator:
    """Event-by-event simulator of a :class:`Network`, with the interface of :class:`Simulator`.

    Parameters
    ----------
    network : Network
        The array configuration and its contents.

    Members
    -------
    neuron_offset, axon_offset : int arrays (cores + 1,)
        Start of each core's neurons and axons in the global numbering.
    host_outputs : int array (outputs, 2)
        ``(core, neuron)`` of each host output column: one per ``HOST`` routing entry, in
        order of core then entry.
    timestep : int
        Timesteps run since the last :meth:`reset`.
    integrated : list
        ``integrated[t][c]``: the axons of the events core ``c`` integrated at its tick of
        timestep ``t`` (since the last :meth:`reset`), in arrival order.
    """

    def __init__(self, network):
        if not isinstance(network, Network):
            raise ConfigError(f"network: expected a Network, got {network!r}")
        self.network = network
        arr = network.array
        self._cores = [_Core(cfg, p, r) for cfg, p, r in
                       zip(arr.cores, network.cores, network.routes)]
        self._phases = arr.phases
        offs, aoffs = [0], [0]
        for core in self._cores:
            offs.append(offs[-1] + core.n)
            aoffs.append(aoffs[-1] + core.cfg.axons)
        self.neuron_offset = np.array(offs, np.int64)
        self.axon_offset = np.array(aoffs, np.int64)
        self._host_col = {}   # (core, neuron) -> list of output columns
        outputs = []
        for c, core in enumerate(self._cores):
            r = network.routes[c]
            for s, d in zip(r.source, r.core):
                if int(d) == HOST:
                    self._host_col.setdefault((c, int(s)), []).append(len(outputs))
                    outputs.append((c, int(s)))
        self.host_outputs = np.array(outputs, np.int64).reshape(-1, 2)
        self.reset()

    def reset(self):
        """Clear every neuron's state, every queued event and the counters."""
        for core in self._cores:
            core.reset()
        self.timestep = 0
        # queue[t][c]: axons of the events for core c's tick of timestep t, in arrival order
        self._queue = {}
        self.integrated = []
        self.events = [0] * len(self._cores)
        self.spike_counts = [0] * len(self._cores)

    # -- events --------------------------------------------------------------------------
    def _send(self, t, core, axon):
        """Queue an event on ``axon`` of ``core`` for its tick of timestep ``t``."""
        q = self._queue.setdefault(t, [[] for _ in self._cores])[core]
        q.append(axon)
        limit = self._cores[core].cfg.max_events
        if len(q) > limit:
            raise SimulationError(f"core {core}: {len(q)} events for timestep {t}, more than "
                                  f"max_events={limit}")
        self.events[core] += 1

    def _accumulate(self, c):
        """Drain core ``c``'s events of this timestep into a fresh list of accumulators."""
        core = self._cores[c]
        acc = [0] * core.n
        queued = self._queue.get(self.timestep)
        axons = list(queued[c]) if queued else []
        if len(self.integrated) <= self.timestep:
            self.integrated.append([[] for _ in self._cores])
        self.integrated[self.timestep][c] = axons
        for axon in axons:
            row = core.weights[axon]
            for n in range(core.n):
                acc[n] += row[n]
        lo, hi = core.cfg.acc_range
        assert all(lo <= a <= hi for a in acc), "max_events should keep the sum exact"
        return acc

    # -- stepping ------------------------------------------------------------------------
    def step(self, events=()):
        """Run one timestep with host ``events`` (``(core, axon)`` pairs, any order).

        Return ``(spikes, host)``: lists of the global indices of the neurons that fired and
        of the host output columns that were raised.
        """
        t = self.timestep
        for core, axon in events:
            core, axon = int(core), int(axon)
            if not 0 <= core < len(self._cores):
                raise ConfigError(f"events.core: expected a core in "
                                  f"[0, {len(self._cores) - 1}], got {core}")
            if not 0 <= axon < self._cores[core].cfg.axons:
                raise ConfigError(f"events.axon: expected an axon in "
                                  f"[0, {self._cores[core].cfg.axons - 1}] of core {core}, "
                                  f"got {axon}")
            self._send(t, core, axon)
        spikes, host = [], []
        for phase in range(self._phases):
            for c, core in enumerate(self._cores):
                if core.phase != phase:
                    continue
                fired = core.tick(self._accumulate(c))
                self.spike_counts[c] += len(fired)
                for n in fired:
                    spikes.append(int(self.neuron_offset[c]) + n)
                    host.extend(self._host_col.get((c, n), ()))
                    for dst, axon in core.routes_of[n]:
                        if dst == HOST:
                            continue
                        later = self._cores[dst].phase > phase
                        self._send(t if later else t + 1, dst, axon)
        self._queue.pop(t, None)
        self.timestep += 1
        return spikes, host

    def run(self, inputs, record=False):
        """Run ``len(inputs)`` timesteps of host input counts; return a :class:`RunResult`.

        ``inputs[t][a]`` is the number of events on global axon ``a`` in timestep ``t``.
        """
        inp = np.asarray(inputs)
        n_axons = int(self.axon_offset[-1])
        if inp.ndim != 2 or inp.shape[1] != n_axons:
            raise ConfigError(f"inputs: expected shape (timesteps, {n_axons}), got {inp.shape}")
        if inp.dtype.kind not in "biu":
            raise ConfigError(f"inputs: expected a boolean or integer array, got {inp.dtype}")
        if inp.size and int(inp.min()) < 0:
            raise ConfigError(f"inputs: expected event counts >= 0, got {int(inp.min())}")
        steps, n_total = inp.shape[0], int(self.neuron_offset[-1])
        spikes = np.zeros((steps, n_total), bool)
        host = np.zeros((steps, len(self.host_outputs)), bool)
        traces = {k: np.zeros((steps, n_total), np.int64) for k in ("v", "i", "ref")}
        ev0, sc0 = list(self.events), list(self.spike_counts)
        for t in range(steps):
            events = []
            for g in range(n_axons):
                c = int(np.searchsorted(self.axon_offset, g, side="right")) - 1
                events += [(c, g - int(self.axon_offset[c]))] * int(inp[t, g])
            fired, raised = self.step(events)
            spikes[t, fired] = True
            host[t, raised] = True
            for c, core in enumerate(self._cores):
                lo = int(self.neuron_offset[c])
                for k in traces:
                    traces[k][t, lo:lo + core.n] = getattr(core, k)
        events = np.array([a - b for a, b in zip(self.events, ev0)], np.int64)
        res = RunResult(spikes=spikes, host_spikes=host, events=events,
                        sops=events * np.diff(self.neuron_offset),
                        spike_counts=np.array([a - b for a, b in
                                               zip(self.spike_counts, sc0)], np.int64))
        if record:
            res.membrane, res.current, res.refractory = traces["v"], traces["i"], traces["ref"]
        return res

    def state(self, core):
        """Return ``dict(v=..., i=..., ref=...)`` of ``core`` as lists of ints."""
        k = self._cores[core]
        return {"v": list(k.v), "i": list(k.i), "ref": list(k.ref)}

"""The golden model: an event-driven, vectorized, bit-exact simulator of a neuromorphic array.

The work per timestep grows with the delivered events times the neurons of their target cores
(one synaptic row each) plus the neurons ticked; the full synapse matrix is never swept.

Timestep ``t`` (see ``docs/semantics.md``):

1. the host input events of ``t`` are delivered, each ``(core, axon)`` adding row ``axon`` of
   that core's weights into the core's accumulators;
2. for each phase ``p`` in ascending order, every core of phase ``p`` ticks (the equations in
   :mod:`.neuron`), its accumulators are cleared, and its spikes are routed: a target core of a
   later phase receives them in timestep ``t``; a target of the same or an earlier phase has
   already ticked, so they land in its accumulators for ``t + 1``.

Cores of the same phase tick together, so spikes between them (and a core's spikes to itself)
take effect one timestep later.

Input that cannot be simulated exactly raises :class:`SimulationError` before the delivery
that would exceed ``max_events``; the timestep is then incomplete, and the simulator must be
:meth:`~Simulator.reset` before it is used again.
"""

import dataclasses

import numpy as np

from .checks import ConfigError
from .network import HOST, Network

__all__ = ["Simulator", "RunResult", "SimulationError"]


class SimulationError(ConfigError):
    """An input that the hardware cannot process exactly (e.g. too many events in a tick)."""


@dataclasses.dataclass
class RunResult:
    """What :meth:`Simulator.run` returns.

    Members
    -------
    spikes : bool array (timesteps, neurons)
        Spikes of every neuron of the array, cores concatenated in order.
    host_spikes : bool array (timesteps, host_outputs)
        The spikes that reach the host output, one column per routing entry to the host (a
        neuron with two host entries has two columns), in the order of
        :attr:`Simulator.host_outputs`.
    membrane, current, refractory : int arrays (timesteps, neurons) or None
        State after each tick, when recorded.
    events, sops, spike_counts : int arrays (cores,)
        Counters over the run: events delivered, synaptic operations (events x neurons of the
        target core), spikes emitted.
    """

    spikes: np.ndarray
    host_spikes: np.ndarray
    membrane: np.ndarray | None = None
    current: np.ndarray | None = None
    refractory: np.ndarray | None = None
    events: np.ndarray | None = None
    sops: np.ndarray | None = None
    spike_counts: np.ndarray | None = None

    def core_slice(self, sim, core):
        """Return the column slice of ``core`` in :attr:`spikes` and the traces."""
        return slice(sim.neuron_offset[core], sim.neuron_offset[core + 1])


class _Group:
    """Cores with the same phase, modes and scalar parameters: ticked as one numpy slice."""

    def __init__(self, cfg, params, lo, hi, cores):
        self.cfg, self.p = cfg, params
        self.lo, self.hi = lo, hi          # slice of the internal neuron order
        self.cores = cores


class _Plan:
    """Host deliveries of a run, prepared by :meth:`Simulator._plan`."""


class Simulator:
    """Bit-exact simulator of a loaded :class:`Network`.

    Parameters
    ----------
    network : Network
        The array configuration and its contents.

    Members
    -------
    neuron_offset, axon_offset : int arrays (cores + 1,)
        Where each core's neurons and axons start in the concatenated (global) numbering used
        by inputs and results.
    host_outputs : int array (outputs, 2)
        ``(core, neuron)`` of each host output column, in order of core then routing entry.
    """

    #: Bytes of padding rows that cost about as much as one more reduction call.
    _pad_budget = 65536

    def __init__(self, network):
        if not isinstance(network, Network):
            raise ConfigError(f"network: expected a Network, got {network!r}")
        self.network = net = network
        arr = net.array
        cfgs = arr.cores
        self.neuron_offset = np.concatenate([[0], np.cumsum([c.neurons for c in cfgs])])
        self.axon_offset = np.concatenate([[0], np.cumsum([c.axons for c in cfgs])])
        n_total, a_total = int(self.neuron_offset[-1]), int(self.axon_offset[-1])
        wide = max(max(c.membrane_bits, c.acc_bits, c.current_bits if c.cuba else 0)
                   + (c.decay_frac_bits if c.leak == "mult" else 1) for c in cfgs) + 2
        self._dtype = np.int32 if wide <= 31 else np.int64
        self._acc_dtype = np.int16 if max(c.acc_bits for c in cfgs) <= 16 else np.int32

        # Internal neuron order: cores sorted by (phase, modes, scalars) so a group is a slice.
        def key(c):
            return (net.cores[c].phase, repr(cfgs[c].replace(lanes=1, axons=1, neurons=1,
                                                             acc_bits=None)),
                    tuple(net.cores[c].scalars().values()))
        order = sorted(range(arr.n_cores), key=key)
        self._int_offset = np.zeros(arr.n_cores, np.int64)
        self._groups, pos = [], 0
        for c in order:
            n = cfgs[c].neurons
            self._int_offset[c] = pos
            if self._groups and key(self._groups[-1].cores[0]) == key(c):
                self._groups[-1].hi += n
                self._groups[-1].cores.append(c)
            else:
                self._groups.append(_Group(cfgs[c], net.cores[c], pos, pos + n, [c]))
            pos += n
        # perm[global neuron] = internal position
        self._perm = np.concatenate([np.arange(cfgs[c].neurons) + self._int_offset[c]
                                     for c in range(arr.n_cores)]).astype(np.int64)
        self._identity = bool((self._perm == np.arange(n_total)).all())
        self._phases = sorted({g.p.phase for g in self._groups})

        # Per-neuron constants in internal order.
        bias = np.zeros(n_total, self._dtype)
        for c in range(arr.n_cores):
            p = net.cores[c]
            lo = self._int_offset[c]
            bias[lo:lo + cfgs[c].neurons] = p.bias.astype(np.int64) << p.bias_shift
        self._bias = bias
        for g in self._groups:
            g.has_bias = bool(bias[g.lo:g.hi].any())
            g.core_index = np.asarray(g.cores, np.int64)
            g.all_cores = len(g.cores) == arr.n_cores

        # Synaptic rows: one padded int8 matrix, row = global axon index, and a last row of
        # zeros that pads the event blocks of _accumulate.
        self._width = width = max(c.neurons for c in cfgs)
        self._weights = np.zeros((a_total + 1, width), np.int8)
        for c in range(arr.n_cores):
            a0 = self.axon_offset[c]
            self._weights[a0:a0 + cfgs[c].axons, :cfgs[c].neurons] = net.cores[c].weights
        self._zero_row = a_total
        self._row_items = self._weights.view(np.dtype((np.void, width))).reshape(-1)
        self._max_events = np.array([c.max_events for c in cfgs], np.int64)
        # A sum of this many rows cannot leave int16 (weights lie in [-2**(W-1), 2**(W-1) - 1]).
        self._sum16 = 1 << (16 - max(c.weight_bits for c in cfgs))
        # Uniform cores: the accumulators are a (cores, width) matrix whose row rank[c] is core c.
        self._uniform = all(c.neurons == width for c in cfgs)
        self._core_rank = np.empty(arr.n_cores, np.int64)
        self._core_rank[order] = np.arange(arr.n_cores)

        # Saturation bounds per neuron: np.minimum/np.maximum against an array are several
        # times faster than against a scalar.
        lo_v, hi_v = np.zeros(n_total, self._dtype), np.zeros(n_total, self._dtype)
        lo_i, hi_i = np.zeros(n_total, self._dtype), np.zeros(n_total, self._dtype)
        for c in range(arr.n_cores):
            sl = slice(self._int_offset[c], self._int_offset[c] + cfgs[c].neurons)
            lo_v[sl], hi_v[sl] = cfgs[c].membrane_range
            if cfgs[c].cuba:
                lo_i[sl], hi_i[sl] = cfgs[c].current_range
        self._v_range, self._i_range = (lo_v, hi_v), (lo_i, hi_i)

        # Routes as CSR over internal neuron positions; targets are global axon indices.
        src_all, dst_all, host = [], [], []
        for c in range(arr.n_cores):
            r = net.routes[c]
            for e in range(len(r)):
                s = int(self._int_offset[c] + r.source[e])
                if r.core[e] == HOST:
                    host.append((c, int(r.source[e])))
                else:
                    src_all.append(s)
                    dst_all.append(int(self.axon_offset[r.core[e]] + r.axon[e]))
        src_all = np.asarray(src_all, np.int64)
        dst_all = np.asarray(dst_all, np.int64)
        order_e = np.argsort(src_all, kind="stable")
        self._route_dst = dst_all[order_e]
        self._route_ptr = np.searchsorted(src_all[order_e], np.arange(n_total + 1))
        self.host_outputs = np.asarray(host, np.int64).reshape(-1, 2)
        self._host_cols = np.asarray(
            [self._int_offset[c] + n for c, n in self.host_outputs], np.int64)
        for g in self._groups:
            g.routes_out = bool(self._route_ptr[g.hi] > self._route_ptr[g.lo])
        self._core_routes = bool(len(self._route_dst))
        self.reset()

    # -- state -------------------------------------------------------------------------------
    def reset(self):
        """Clear every neuron's state, accumulator and counter (weights and routes stay)."""
        n = int(self.neuron_offset[-1])
        self.v = np.zeros(n, self._dtype)
        self.i = np.zeros(n, self._dtype)
        self.ref = np.zeros(n, self._dtype)
        self.acc = np.zeros(n, self._acc_dtype)
        cfgs = self.network.array.cores
        self._acc_views = [(self.acc[o:o + c.neurons], c.neurons)
                           for o, c in zip(self._int_offset.tolist(), cfgs)]
        self._tmp = np.empty(n, self._dtype)
        self._part = {t: np.empty(self.network.array.n_cores * self._width, t)
                      for t in (np.int16, np.int32)}
        self._acc_events = np.zeros(self.network.array.n_cores, np.int64)
        self.events = np.zeros(self.network.array.n_cores, np.int64)
        self.spike_counts = np.zeros(self.network.array.n_cores, np.int64)
        self.timestep = 0

    @property
    def sops(self):
        return self.events * np.diff(self.neuron_offset)

    def state(self, core):
        """Return ``dict(v=..., i=..., ref=..., acc=...)`` of ``core`` in neuron order."""
        lo = self._int_offset[core]
        sl = slice(lo, lo + self.network.array.cores[core].neurons)
        return {k: getattr(self, k)[sl].astype(np.int64) for k in ("v", "i", "ref", "acc")}

    # -- delivery ----------------------------------------------------------------------------
    def _deliver(self, axons):
        """Add the synaptic rows of the sorted global ``axons`` to their cores' accumulators."""
        if not len(axons):
            return
        bounds = np.searchsorted(axons, self.axon_offset)
        counts = bounds[1:] - bounds[:-1]
        pending = self._acc_events + counts
        if (pending > self._max_events).any():
            c = int(np.flatnonzero(pending > self._max_events)[0])
            cfg = self.network.array.cores[c]
            raise SimulationError(
                f"core {c}: {int(pending[c])} events for timestep {self.timestep}, more than "
                f"max_events={cfg.max_events} (2**(acc_bits - weight_bits) with "
                f"acc_bits={cfg.acc_bits}); the sum would no longer be exact")
        self._accumulate(axons, bounds[:-1], counts)
        self._acc_events = pending
        self.events += counts

    def _accumulate(self, axons, starts, counts):
        """Add the rows of ``axons`` (core ``c``'s are ``axons[starts[c]:][:counts[c]]``).

        The events of the cores that receive any are laid out as a block of ``K`` (the largest
        count) rows by one column per core, short columns padded with the zero row, so one
        gather and one reduction over the rows add them all.  A sum of integers does not depend
        on the order of its terms, and int16 wraps around exactly, so while ``K`` rows cannot
        leave int16 the sums are taken in int16, the cheapest cast from int8.  When the padding
        would cost more than a reduction per core, the cores are reduced one by one, so the
        padding never exceeds :attr:`_pad_budget` bytes per core that receives events.
        """
        k, width = len(axons), self._width
        active = np.flatnonzero(counts)
        m = len(active)
        rows_k = int(counts.max())
        dtype = np.int16 if rows_k <= self._sum16 else np.int32
        if m == 1:
            rows = self._row_items[axons].view(np.int8).reshape(k, width)
            part = np.add.reduce(rows, axis=0, dtype=dtype, out=self._part[dtype][:width])
            acc, n = self._acc_views[int(active[0])]
            np.add(acc, part[:n], out=acc, casting="unsafe")
            return
        if (rows_k * m - k) * width > self._pad_budget * m:     # padding costlier than m reductions
            rows = self._row_items[axons].view(np.int8).reshape(k, width)
            for c in active.tolist():
                acc, n = self._acc_views[c]
                s = int(starts[c])
                e = s + int(counts[c])
                block = rows[s:e] if n == width else rows[s:e, :n]
                dt = np.int16 if e - s <= self._sum16 else np.int32
                part = np.add.reduce(block, axis=0, dtype=dt, out=self._part[dt][:n])
                np.add(acc, part, out=acc, casting="unsafe")
            return
        everyone = m == len(counts) and self._uniform
        # Column of each core: its rank in the accumulators when every core takes part (the
        # block sums are then the accumulator layout), else its place among the active ones.
        cols = self._core_rank if everyone else np.cumsum(counts > 0) - 1
        flat = np.arange(0, k * m, m) + np.repeat(cols - starts * m, counts)
        idx = np.full(rows_k * m, self._zero_row, np.intp)
        idx[flat] = axons
        rows = self._row_items[idx].view(np.int8).reshape(rows_k, m * width)
        part = np.add.reduce(rows, axis=0, dtype=dtype, out=self._part[dtype][:m * width])
        if everyone:
            np.add(self.acc, part, out=self.acc, casting="unsafe")
        else:
            part = part.reshape(m, width)
            for j, c in enumerate(active.tolist()):
                acc, n = self._acc_views[c]
                np.add(acc, part[j, :n], out=acc, casting="unsafe")

    # -- tick --------------------------------------------------------------------------------
    def _tick(self, g, spikes):
        """Tick group ``g`` in place, writing its spike mask into ``spikes``."""
        cfg, p, sl = g.cfg, g.p, slice(g.lo, g.hi)
        v, tmp, acc = self.v[sl], self._tmp[sl], self.acc[sl]
        if cfg.cuba:
            i = self.i[sl]
            self._decay(i, p.current_leak, cfg, tmp, out=i)
            i += acc
            np.minimum(i, self._i_range[1][sl], out=i)
            np.maximum(i, self._i_range[0][sl], out=i)
            drive = i
        else:
            drive = acc
        self._decay(v, p.leak, cfg, tmp, out=v)
        refractory = cfg.refractory_bits > 0
        if refractory:
            ref = self.ref[sl]
            active = ref == 0
            np.add(drive, self._bias[sl], out=tmp)
            tmp *= active
            v += tmp
        else:
            v += drive
            if g.has_bias:
                v += self._bias[sl]
        np.minimum(v, self._v_range[1][sl], out=v)       # saturate once, after the exact sum
        np.maximum(v, self._v_range[0][sl], out=v)
        if cfg.compare == "ge":
            np.greater_equal(v, p.threshold, out=spikes)
        else:
            np.greater(v, p.threshold, out=spikes)
        if refractory:
            spikes &= active
        if cfg.reset == "zero":
            np.multiply(v, ~spikes, out=v)     # faster than a masked store
        else:
            np.subtract(v, p.threshold, out=v, where=spikes)
        if refractory:
            ref -= ~active
            np.putmask(ref, spikes, p.refractory)
        acc.fill(0)
        if g.all_cores:
            self._acc_events.fill(0)
        else:
            self._acc_events[g.core_index] = 0

    @staticmethod
    def _decay(x, leak, cfg, tmp, out):
        if cfg.leak == "shift":
            if leak == 0:
                if out is not x:
                    out[...] = x
                return
            np.right_shift(x, leak, out=tmp)
            np.subtract(x, tmp, out=out)
        else:
            np.multiply(x, leak, out=tmp)
            np.right_shift(tmp, cfg.decay_frac_bits, out=out)

    # -- stepping ----------------------------------------------------------------------------
    def _check_events(self, events):
        """Return host events as sorted global axon indices (from ``(core, axon)`` pairs)."""
        ev = np.asarray(events)
        if ev.size == 0:
            return np.zeros(0, np.int64)
        if ev.ndim != 2 or ev.shape[1] != 2 or ev.dtype.kind not in "iu":
            raise ConfigError(f"events: expected integer (core, axon) pairs of shape (k, 2), "
                              f"got shape {ev.shape} dtype {ev.dtype}")
        cfgs = self.network.array.cores
        core, axon = ev[:, 0].astype(np.int64), ev[:, 1].astype(np.int64)
        bad = (core < 0) | (core >= len(cfgs))
        if bad.any():
            e = int(np.flatnonzero(bad)[0])
            raise ConfigError(f"events[{e}].core: expected a core in [0, {len(cfgs) - 1}], "
                              f"got {core[e]}")
        limit = np.diff(self.axon_offset)[core]
        bad = (axon < 0) | (axon >= limit)
        if bad.any():
            e = int(np.flatnonzero(bad)[0])
            raise ConfigError(f"events[{e}].axon: expected an axon in [0, {limit[e] - 1}] of "
                              f"core {core[e]}, got {axon[e]}")
        return np.sort(self.axon_offset[core] + axon)

    def step(self, events=()):
        """Run one timestep with host input ``events`` (``(core, axon)`` pairs).

        Return the bool spike vector of every neuron (global order) for this timestep.
        """
        spikes = np.empty(len(self.v), bool)
        self._step(self._check_events(events), spikes)
        self._count_spikes(spikes[None])
        return spikes[self._perm]

    def _count_spikes(self, raster):
        """Add the spikes of an internal-order ``raster`` (timesteps, neurons) to the counters."""
        for c, (lo, cfg) in enumerate(zip(self._int_offset.tolist(), self.network.array.cores)):
            self.spike_counts[c] += np.count_nonzero(raster[:, lo:lo + cfg.neurons])

    def _step(self, axons, spikes, plan=None, t=0):
        """Run one timestep from sorted global ``axons``; write internal-order ``spikes``.

        ``plan`` (from :meth:`_plan`) holds the host deliveries of a whole run prepared up front.
        """
        if plan is None or not plan.ok[t] or not self._deliver_planned(plan, t):
            self._deliver(axons)
        for phase in self._phases:
            routed = []
            for g in self._groups:
                if g.p.phase != phase:
                    continue
                s = spikes[g.lo:g.hi]
                self._tick(g, s)
                if g.routes_out:
                    routed.append(self._expand(np.flatnonzero(s) + g.lo))
            if routed:
                self._deliver(np.sort(np.concatenate(routed)))
        self.timestep += 1

    def _plan(self, axons, starts, counts):
        """Prepare the host deliveries of a run: ``counts[t, c]`` events of core ``c`` in
        timestep ``t``, the first at ``axons[starts[t * cores + c]]`` (global axon indices).

        For every timestep in which each core receives events, this lays out the block of
        :meth:`_accumulate` in one index array for the whole run, so such a timestep costs one
        gather and one reduction.  Other timesteps are delivered by :meth:`_deliver`.
        """
        if not self._uniform:
            return None
        steps, n_cores = counts.shape
        rows_k = counts.max(axis=1, initial=0)
        total = counts.sum(axis=1)
        ok = ((counts > 0).all(axis=1) & (counts <= self._max_events).all(axis=1)
              & ((rows_k * n_cores - total) * self._width <= self._pad_budget * n_cores))
        if not ok.any():
            return None
        offset = np.zeros(steps + 1, np.int64)
        np.cumsum(np.where(ok, rows_k * n_cores, 0), out=offset[1:])
        # Event e, of core c in timestep t, goes to row e - starts[t, c] and column rank[c] of
        # the block of timestep t.
        shift = (offset[:-1, None] + self._core_rank
                 - starts[:-1].reshape(steps, n_cores) * n_cores)
        pos = np.arange(0, len(axons) * n_cores, n_cores) + np.repeat(shift.reshape(-1),
                                                                      counts.reshape(-1))
        if not ok.all():
            keep = np.repeat(ok, total)
            pos, axons = pos[keep], axons[keep]
        plan = _Plan()
        plan.idx = np.full(int(offset[-1]), self._zero_row, np.intp)
        plan.idx[pos] = axons
        plan.ok, plan.counts = ok.tolist(), counts
        plan.offset, plan.rows_k = offset.tolist(), rows_k.tolist()
        return plan

    def _deliver_planned(self, plan, t):
        """Deliver the host events of timestep ``t`` of ``plan``; False if :meth:`_deliver` must."""
        counts = plan.counts[t]
        # Without routes between cores, every accumulator is empty when a timestep starts.
        fresh = not self._core_routes
        if fresh:
            np.copyto(self._acc_events, counts)
        else:
            pending = self._acc_events + counts
            if (pending > self._max_events).any():
                return False       # _deliver raises
            self._acc_events = pending
        rows_k = plan.rows_k[t]
        dtype = np.int16 if rows_k <= self._sum16 else np.int32
        rows = self._row_items[plan.idx[plan.offset[t]:plan.offset[t + 1]]]
        part = np.add.reduce(rows.view(np.int8).reshape(rows_k, -1), axis=0, dtype=dtype,
                             out=self._part[dtype])
        if fresh:
            np.copyto(self.acc, part, casting="unsafe")
        else:
            np.add(self.acc, part, out=self.acc, casting="unsafe")
        self.events += counts
        return True

    def _expand(self, src):
        """Return the global target axons of the spiking internal neurons ``src``."""
        start, stop = self._route_ptr[src], self._route_ptr[src + 1]
        n = stop - start
        if not n.sum():
            return np.zeros(0, np.int64)
        idx = np.repeat(start - np.cumsum(n) + n, n) + np.arange(n.sum())
        return self._route_dst[idx]

    def core_inputs(self, inputs, result, core):
        """Return the events ``core`` received in each timestep of a run, as counts.

        ``inputs`` and ``result`` are the arguments and result of :meth:`run` from a reset
        state.  Entry ``[t, a]`` counts the events on axon ``a`` that were integrated into
        timestep ``t``: host events of ``t``, spikes of earlier-phase cores in ``t`` and spikes
        of same- or later-phase cores in ``t - 1``.  Feeding these to one core alone (e.g. its
        RTL) reproduces that core's part of the run.
        """
        arr = self.network.array
        core = int(core)
        a0, a1 = self.axon_offset[core], self.axon_offset[core + 1]
        counts = np.asarray(inputs)[:, a0:a1].astype(np.int64)
        phase = self.network.cores[core].phase
        for c, r in enumerate(self.network.routes):
            sel = r.core == core
            if not sel.any():
                continue
            src = result.spikes[:, self.neuron_offset[c] + r.source[sel]].astype(np.int64)
            if self.network.cores[c].phase >= phase:      # arrives one timestep later
                src = np.vstack([np.zeros((1, src.shape[1]), np.int64), src[:-1]])
            onehot = np.zeros((sel.sum(), arr.cores[core].axons), np.int64)
            onehot[np.arange(sel.sum()), r.axon[sel]] = 1
            counts += src @ onehot
        return counts

    def run(self, inputs, record=False):
        """Run ``len(inputs)`` timesteps and return a :class:`RunResult`.

        ``inputs`` is an integer or boolean array of shape ``(timesteps, axons)`` over the
        global axon numbering (cores concatenated); entry ``[t, a]`` is the number of host
        events on axon ``a`` in timestep ``t``.  With ``record``, the membrane, current and
        refractory state after every tick is returned too.
        """
        inp = np.asarray(inputs)
        n_axons = int(self.axon_offset[-1])
        if inp.ndim != 2 or inp.shape[1] != n_axons:
            raise ConfigError(f"inputs: expected shape (timesteps, {n_axons}), got {inp.shape}")
        if inp.dtype.kind not in "biu":
            raise ConfigError(f"inputs: expected a boolean or integer array, got {inp.dtype}")
        if inp.dtype.kind == "i" and inp.size and inp.min() < 0:
            raise ConfigError(f"inputs: expected event counts >= 0, got {inp.min()}")
        steps, n = inp.shape[0], len(self.v)
        spikes = np.zeros((steps, n), bool)
        traces = {k: np.zeros((steps, n), np.int64) for k in ("v", "i", "ref")} if record \
            else None
        ev0, sc0 = self.events.copy(), self.spike_counts.copy()
        # All host events up front, sorted by (timestep, axon): one slice per timestep.
        flat = np.flatnonzero(inp)
        if inp.dtype.kind != "b" and inp.size and inp.max() > 1:
            flat = np.repeat(flat, inp.reshape(-1)[flat])
        # starts[t * cores + c]: the first event of core c in timestep t
        n_cores = len(self._max_events)
        edges = np.arange(steps)[:, None] * n_axons + self.axon_offset[:-1]
        starts = np.append(np.searchsorted(flat, edges.reshape(-1)), len(flat))
        bounds = starts[::n_cores]
        axons = flat - np.repeat(np.arange(steps) * n_axons, np.diff(bounds))
        bounds = bounds.tolist()
        plan = self._plan(axons, starts, np.diff(starts).reshape(steps, n_cores))
        for t in range(steps):
            self._step(axons[bounds[t]:bounds[t + 1]], spikes[t], plan, t)
            if record:
                for k in traces:
                    traces[k][t] = getattr(self, k)
        self._count_spikes(spikes)
        if not self._identity:
            spikes = spikes[:, self._perm]
        res = RunResult(spikes=spikes, host_spikes=np.zeros((steps, 0), bool),
                        events=self.events - ev0, spike_counts=self.spike_counts - sc0)
        res.sops = res.events * np.diff(self.neuron_offset)
        if len(self.host_outputs):
            cols = self.neuron_offset[self.host_outputs[:, 0]] + self.host_outputs[:, 1]
            if (np.diff(cols) == 1).all():   # a contiguous block: one slice copy
                res.host_spikes = spikes[:, cols[0]:cols[-1] + 1].copy()
            else:
                res.host_spikes = spikes[:, cols]
        if record:
            perm = slice(None) if self._identity else self._perm
            res.membrane = traces["v"][:, perm]
            res.current = traces["i"][:, perm]
            res.refractory = traces["ref"][:, perm]
        return res

"""cocotb test module: a ``NeuromorphicArray`` against the golden model, timestep by timestep.

Run through :func:`spikeforge.sim.array_cosim.run_network`.  Parameters (JSON, see
:func:`spikeforge.sim.params.load_params`): ``network`` (a ``Network.save`` file), ``inputs``
(a ``.npy`` of event counts, shape (timesteps, axons)), ``spike_ready`` and ``event_gaps``
(backpressure on the host spike output, idle cycles between host events), ``seed``, ``strict``
(fail at the first mismatch; otherwise count mismatches and go on).

The network is loaded through the command stream as a host would (every status checked).  Per
timestep, the host events go in (shuffled, with gaps), one timestep runs, and then:

* the spikes that reached the host are exactly the golden host spikes of that timestep (as a
  multiset: a neuron with two host routes sends two), and each source core's spikes arrive in
  ascending neuron order (per-source order is kept through the fabric);
* every neuron's membrane (and current, refractory state) read through the command stream
  equals the golden state;
* every core's counters (events, synaptic operations, spikes, dropped, ticks) equal the golden
  counts.

At the end nothing is left over: no unanswered command, no queued event, no stray spike.  The
results carry the RTL's host spikes of every timestep, so a caller can use the RTL as a device.
"""

import random

import cocotb
import numpy as np

from spikeforge.golden_model import Network, Simulator
from spikeforge.rtl.array_bus import ArrayReg
from spikeforge.rtl.cfgbus import Counter, StateField
from spikeforge.sim.array_driver import ArrayDriver
from spikeforge.sim.core_driver import ClockLoop, ready_pattern
from spikeforge.sim.params import load_params, write_results


class Mismatch(AssertionError):
    """The array and the golden model disagree."""


def spike_pattern(kind, rng, fifo_depth):
    """``ready`` of the host spike output: the core patterns plus two fabric-specific ones."""
    if kind == "pause34":           # ready one cycle in four
        while True:
            yield from (1, 0, 0, 0)
    if kind == "long":              # one stall longer than twice the deepest FIFO, then free
        for _ in range(64):
            yield 1
        for _ in range(2 * fifo_depth * 3 + 50):
            yield 0
        while True:
            yield 1
    yield from ready_pattern(kind, rng)


def gaps(kind, rng):
    if kind == "none":
        return lambda: 0
    if kind == "random":
        return lambda: rng.choice((0, 0, 0, 1, 2, 5))
    if kind == "bursty":
        return lambda: 0 if rng.random() < 0.9 else rng.randint(5, 40)
    raise ValueError(f"event_gaps: unknown {kind!r}")


@cocotb.test()
async def array_matches_golden(dut):
    p = load_params()
    rng = random.Random(p["seed"])
    net = Network.load(p["network"])
    inputs = np.load(p["inputs"])
    arr = net.array
    loop = ClockLoop(dut.clk)
    drv = ArrayDriver(loop, dut, arr, spike_pattern(p["spike_ready"], rng, p["fifo_depth"]),
                      ready_pattern("p10", rng))
    dut.rst.value = 1
    loop.start()
    await loop.cycles(4)
    dut.rst.value = 0
    await loop.cycles(1)
    await drv.load(net, skip_zero_weights=p.get("skip_zero_weights", True))
    load_cycles = loop.cycle

    sim = Simulator(net)
    host_cols = {}
    for col, (core, neuron) in enumerate(sim.host_outputs):
        host_cols.setdefault(col, (int(core), int(neuron)))
    gap = gaps(p["event_gaps"], rng)
    strict = p.get("strict", True)
    mismatches = []
    rtl_spikes = []

    def mismatch(text):
        if strict:
            raise Mismatch(text)
        mismatches.append(text)

    record = p.get("record", False)
    counters = {}
    segment_counters = []      # the counters at the end of each segment
    rtl_membrane = []
    # Segments: runs from a cleared state (CLEAR in the RTL, reset in the golden model).
    starts = set(np.cumsum([0] + list(p.get("segments", [len(inputs)])))[:-1].tolist())
    spikes_total = 0
    t0 = 0
    for t in range(len(inputs)):
        if t in starts and t:
            segment_counters.append(dict(counters))
            await drv.register(ArrayReg.CLEAR, 1)
            sim.reset()
            t0 = t
        events = []
        for a in np.flatnonzero(inputs[t]):
            core = int(np.searchsorted(sim.axon_offset, a, side="right") - 1)
            events += [(core, int(a - sim.axon_offset[core]))] * int(inputs[t, a])
        rng.shuffle(events)
        golden = sim.step(events)
        got = await drv.step(events, gap=gap)
        rtl_spikes.append(got)
        spikes_total += len(got)
        want = sorted((int(c), int(n)) for c, n in sim.host_outputs
                      if golden[sim.neuron_offset[c] + n])
        if sorted(got) != want:
            mismatch(f"timestep {t}: host spikes differ: rtl {sorted(got)[:12]} "
                     f"model {want[:12]} ({len(got)} vs {len(want)})")
        for core in range(arr.n_cores):
            mine = [n for c, n in got if c == core]
            if mine != sorted(mine):
                mismatch(f"timestep {t}: core {core}'s host spikes out of order: {mine}")
        row = []
        for core, cfg in enumerate(arr.cores):
            state = sim.state(core)
            fields = [(StateField.MEMBRANE, "v")]
            fields += [(StateField.CURRENT, "i")] if cfg.cuba else []
            fields += [(StateField.REFRACTORY, "ref")] if cfg.refractory_bits else []
            for field, key in fields:
                rtl = await drv.read_state(core, field)
                if record and field == StateField.MEMBRANE:
                    row.extend(rtl.tolist())
                bad = np.flatnonzero(rtl != state[key])
                if len(bad):
                    mismatch(f"timestep {t}: core {core} {field.name} differs at "
                             f"{len(bad)} neurons, first n{bad[0]}: rtl {rtl[bad[0]]} "
                             f"model {state[key][bad[0]]}")
            ctr = await drv.read_counters(core)
            counters[core] = ctr
            want_ctr = {Counter.EVENTS: int(sim.events[core]),
                        Counter.SOPS: int(sim.sops[core]) & 0xFFFFFFFF,
                        Counter.SPIKES: int(sim.spike_counts[core]),
                        Counter.DROPPED: 0, Counter.TICKS: t - t0 + 1}
            if ctr != want_ctr:
                mismatch(f"timestep {t}: core {core} counters rtl "
                         f"{ {k.name: v for k, v in ctr.items()} } model "
                         f"{ {k.name: v for k, v in want_ctr.items()} }")
        if record:
            rtl_membrane.append(row)
    if await drv.register(ArrayReg.TIMESTEP) != len(inputs):
        mismatch("timestep register differs from the timesteps run")
    await loop.cycles(64)
    extra = len(drv.spikes.transfers) - spikes_total
    if extra:
        mismatch(f"{extra} host spikes after the last timestep")
    drv.check_idle()
    write_results({"cycles": loop.cycle, "load_cycles": load_cycles,
                   "timesteps": len(inputs), "host_spikes": spikes_total,
                   "events": int(sim.events.sum()), "commands": drv.commands,
                   "mismatches": mismatches, "rtl_spikes": rtl_spikes,
                   "rtl_membrane": rtl_membrane,
                   "counters": [{str(c): {k.name: v for k, v in ctr.items()}
                                 for c, ctr in seg.items()}
                                for seg in segment_counters + [counters]]})

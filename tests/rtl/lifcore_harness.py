"""Amaranth-simulator harness for :class:`spikeforge.rtl.LIFCore` tests.

:class:`CoreBench` wraps one simulated core: a background monitor drives ``spikes.ready``
(with random stalls) and records every transfer with its cycle number, while the test's own
testbench uses the ``async`` helpers to send commands, events and ticks.  The helpers follow
the stream rules: a producer raises ``valid`` and holds the payload until ``ready``.
"""

import os
import random

import numpy as np
from amaranth.sim import Simulator

from spikeforge.golden_model import CoreParams, Network, Simulator as GoldenSimulator
from spikeforge.rtl import cfgbus
from spikeforge.rtl.cfgbus import Op, Param, Space, StateField, Status
from spikeforge.rtl.core import LIFCore


class CoreBench:
    """One simulated core plus a monitor of its outputs.

    Members
    -------
    spikes : list of (cycle, neuron)
        Every spike transfer.
    done : list of int
        The cycles ``done`` was high in.
    events, ticks : list of int
        The cycles an event / a tick was transferred in.
    cycle : int
        Clock edges so far (a transfer "in cycle k" happened at edge k).
    """

    def __init__(self, cfg, *, pipeline="deep", stall=0.0, seed=0, memories=None,
                 leak_multipliers=0, weight_bank_rows=0, packed_weights=False):
        self.cfg = cfg
        self.dut = LIFCore(cfg, pipeline=pipeline, memories=memories,
                           leak_multipliers=leak_multipliers, weight_bank_rows=weight_bank_rows,
                           packed_weights=packed_weights)
        self.stall = stall
        self.rng = random.Random(seed)
        self.spikes, self.done, self.events, self.ticks = [], [], [], []
        self.cycle = 0

    # -- running -------------------------------------------------------------------------
    def run(self, testbench, vcd=None):
        """Simulate until ``testbench(ctx)`` returns; waveforms with ``SPIKEFORGE_VCD=dir``."""
        sim = Simulator(self.dut)
        sim.add_clock(1e-8)
        sim.add_testbench(self._monitor, background=True)
        sim.add_testbench(testbench)
        vcd_dir = os.environ.get("SPIKEFORGE_VCD")
        if vcd_dir and vcd:
            with sim.write_vcd(os.path.join(vcd_dir, f"{vcd}.vcd")):
                sim.run()
        else:
            sim.run()

    async def _monitor(self, ctx):
        d = self.dut
        while True:
            ctx.set(d.spikes.ready, self.rng.random() >= self.stall)
            (_, _, s_v, s_r, s_p, done, e_v, e_r, t_v, t_r) = await ctx.tick().sample(
                d.spikes.valid, d.spikes.ready, d.spikes.payload, d.done,
                d.events.valid, d.events.ready, d.tick.valid, d.tick.ready)
            self.cycle += 1
            if s_v and s_r:
                self.spikes.append((self.cycle, s_p))
            if done:
                self.done.append(self.cycle)
            if e_v and e_r:
                self.events.append(self.cycle)
            if t_v and t_r:
                self.ticks.append(self.cycle)

    # -- stream helpers --------------------------------------------------------------------
    @staticmethod
    async def put(ctx, port, payload=None):
        """Offer one transfer on ``port`` and return once it has happened."""
        ctx.set(port.valid, 1)
        if payload is not None:
            ctx.set(port.payload, payload)
        await ctx.tick().until(port.valid & port.ready)
        ctx.set(port.valid, 0)

    async def command(self, ctx, op, space, addr, value=0):
        """Send one configuration command; return ``(Status, data)`` of its response."""
        d = self.dut
        ctx.set(d.cfg.valid, 1)
        ctx.set(d.cfg.payload.as_value(), cfgbus.pack_command(op, space, addr, value))
        await ctx.tick().until(d.cfg.ready)
        ctx.set(d.cfg.valid, 0)
        ctx.set(d.rsp.ready, 1)
        word, = await ctx.tick().sample(d.rsp.payload.as_value()).until(d.rsp.valid)
        ctx.set(d.rsp.ready, 0)
        return cfgbus.unpack_response(word)

    async def write(self, ctx, space, addr, value):
        status, _ = await self.command(ctx, Op.WRITE, space, addr, value)
        assert status == Status.OK, (space, addr, value, status)

    async def read(self, ctx, space, addr):
        status, value = await self.command(ctx, Op.READ, space, addr)
        assert status == Status.OK, (space, addr, status)
        return value

    async def send_events(self, ctx, axons, gaps=None):
        """Offer ``axons`` in order; ``gaps[k]`` idle cycles before event ``k``."""
        for k, a in enumerate(axons):
            for _ in range(gaps[k] if gaps is not None else 0):
                await ctx.tick()
            await self.put(ctx, self.dut.events, int(a))

    async def tick(self, ctx):
        """Tick the open timestep and wait for ``done``; return the spikes of the sweep."""
        n0 = len(self.spikes)
        await self.put(ctx, self.dut.tick)
        await ctx.tick().until(self.dut.done)
        await ctx.tick()     # let the monitor record the done cycle
        return sorted(n for _, n in self.spikes[n0:])

    async def load(self, ctx, params):
        """Write ``params`` (weights, bias row, parameter registers) through the cfg port.

        Zero weights are skipped unless the weights live in SPRAM, whose power-up contents
        are undefined."""
        cfg, N = params.config, params.config.neurons
        every = self.dut.memories["weights"] == "spram"
        for a in range(cfg.axons):
            for n in range(N):
                if params.weights[a, n] or every:
                    await self.write(ctx, Space.WEIGHT, a * N + n, int(params.weights[a, n]))
        for n in range(N):
            if params.bias[n] or every:
                await self.write(ctx, Space.WEIGHT, cfg.axons * N + n, int(params.bias[n]))
        regs = {Param.THRESHOLD: params.threshold, Param.LEAK: params.leak,
                Param.BIAS_SHIFT: params.bias_shift}
        if cfg.cuba:
            regs[Param.CURRENT_LEAK] = params.current_leak
        if cfg.refractory_bits:
            regs[Param.REFRACTORY] = params.refractory
        for p, value in regs.items():
            await self.write(ctx, Space.PARAM, p, int(value))

    async def read_state(self, ctx):
        """Return the state of every neuron as read through the cfg port (like ``.state(0)``)."""
        cfg, N = self.cfg, self.cfg.neurons
        fields = {"v": StateField.MEMBRANE, "acc": StateField.ACC}
        if cfg.cuba:
            fields["i"] = StateField.CURRENT
        if cfg.refractory_bits:
            fields["ref"] = StateField.REFRACTORY
        out = {}
        for name, f in fields.items():
            out[name] = np.array([await self.read(ctx, Space.STATE, f * N + n)
                                  for n in range(N)], np.int64)
        return out


def ref_run(params, steps):
    """Return the golden model's spikes and state after each timestep of ``steps``.

    Events beyond ``max_events`` in a timestep are left out, as the core drops them.
    """
    sim = GoldenSimulator(Network.single(params))
    spikes, states = [], []
    for axons in steps:
        axons = list(axons)[:params.config.max_events]
        ev = np.array([(0, a) for a in axons], np.int64).reshape(-1, 2)
        s = sim.step(ev)
        spikes.append(sorted(np.flatnonzero(s).tolist()))
        states.append(sim.state(0))
    return spikes, states


def random_params(cfg, rng, *, saturate=False):
    """Return random :class:`CoreParams` for ``cfg`` (``rng``: a numpy Generator)."""
    lo, hi = cfg.weight_range
    if saturate:
        weights = rng.choice([lo, hi, hi - 1, lo + 1], size=(cfg.axons, cfg.neurons))
    else:
        weights = rng.integers(lo, hi + 1, size=(cfg.axons, cfg.neurons))
    bias = rng.integers(lo, hi + 1, size=cfg.neurons) * (rng.random(cfg.neurons) < 0.5)
    vmax = cfg.membrane_range[1]
    threshold = int(rng.integers(1, vmax + 1)) if saturate else \
        int(rng.integers(1, min(vmax, 4 * max(1, hi)) + 1))
    return CoreParams(
        cfg, weights, bias,
        bias_shift=int(rng.integers(0, cfg.max_bias_shift + 1)),
        threshold=threshold,
        leak=int(rng.integers(0, cfg.max_leak + 1)),
        current_leak=int(rng.integers(0, cfg.max_current_leak + 1)),
        refractory=int(rng.integers(0, cfg.max_refractory + 1)))

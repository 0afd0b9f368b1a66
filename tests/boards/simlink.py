"""Simulated transports: the host driver talks to a simulated host link + array stand-in.

:class:`SimTransport` has the ``write(bytes)`` / ``read(n)`` interface of a serial port.  Its
other end is an Amaranth simulation of the host link wired to :class:`ArrayStandIn`; reading
advances the simulation until the bytes are there (or a cycle budget runs out, which reads
short, as a serial port does at its timeout).

``pins=False`` feeds bytes straight into :class:`HostLink`'s byte streams (fast, for the frame
tests); ``pins=True`` bit-bangs 8N1 on :class:`UARTHostLink`'s ``rx`` pin and decodes its ``tx``
pin, so the UART is in the loop too.
"""

import collections
import os

from amaranth import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from spikeforge.rtl.hostlink import HostLink, UARTHostLink

from .standin import ArrayStandIn

CLK_FREQ = 8e6


class SimTransport:
    def __init__(self, *, pins=False, baud=1_000_000, timeout=4000, budget=400_000,
                 array=None):
        m = Module()
        if pins:
            self.link = UARTHostLink(clk_freq=CLK_FREQ, baud=baud,
                                     timeout_s=timeout / CLK_FREQ)
            self.divisor = self.link._uart.divisor
        else:
            self.link = HostLink(timeout=timeout)
        self.array = array if array is not None else ArrayStandIn()
        m.submodules.link, m.submodules.array = self.link, self.array
        for name in ("cmd", "events"):
            wiring.connect(m, getattr(self.link, name), getattr(self.array, name))
        for name in ("rsp", "spikes"):
            wiring.connect(m, getattr(self.array, name), getattr(self.link, name))
        m.d.comb += self.link.busy.eq(self.array.busy)
        self.sim = Simulator(m)
        self.sim.add_clock(1 / CLK_FREQ)
        self._out = collections.deque()    # host -> device
        self._in = bytearray()             # device -> host
        self.cycles = 0
        self.budget = budget
        self.n_cmds = self.n_events = 0
        if pins:
            self.sim.add_testbench(self._bitbang_rx, background=True)
            self.sim.add_testbench(self._decode_tx, background=True)
        else:
            self.sim.add_testbench(self._feed, background=True)
            self.sim.add_testbench(self._collect, background=True)
        self._vcd = None
        if os.environ.get("SPIKEFORGE_VCD"):   # opt-in waveforms
            self._vcd = self.sim.write_vcd(os.environ["SPIKEFORGE_VCD"])
            self._vcd.__enter__()

    # -- the transport interface ---------------------------------------------------------------
    def write(self, data):
        self._out.extend(bytes(data))

    def read(self, n):
        start = self.cycles
        while len(self._in) < n and self.cycles - start < self.budget:
            self.step(64)
        data = bytes(self._in[:n])
        del self._in[:n]
        return data

    def step(self, cycles):
        """Advance the simulation by ``cycles`` clock cycles."""
        self.cycles += cycles
        self.sim.run_until(self.cycles / CLK_FREQ)

    def close(self):
        if self._vcd is not None:
            self._vcd.__exit__(None, None, None)

    def pending(self):
        return bytes(self._in)

    # -- testbenches ---------------------------------------------------------------------------
    def _probe(self, ctx):
        if hasattr(self.array, "n_cmds"):      # the stand-in counts what reached it
            self.n_cmds = ctx.get(self.array.n_cmds)
            self.n_events = ctx.get(self.array.n_events)

    # Plain ``await ctx.tick()`` only: a background testbench suspended inside ``until()`` or
    # ``repeat()`` raises when it is garbage-collected at the end of a test.
    async def _feed(self, ctx):
        i = self.link.i
        while True:
            self._probe(ctx)
            if self._out:
                ctx.set(i.payload, self._out.popleft())
                ctx.set(i.valid, 1)
                while True:
                    ready = ctx.get(i.ready)
                    await ctx.tick()
                    if ready:
                        break
                ctx.set(i.valid, 0)
            else:
                await ctx.tick()

    async def _collect(self, ctx):
        o = self.link.o
        ctx.set(o.ready, 1)
        while True:
            valid, payload = ctx.get(o.valid), ctx.get(o.payload)
            await ctx.tick()
            if valid:
                self._in.append(payload)

    @staticmethod
    async def _wait(ctx, cycles):
        for _ in range(cycles):
            await ctx.tick()

    async def _bitbang_rx(self, ctx):
        rx, d = self.link.rx, self.divisor
        ctx.set(rx, 1)
        while True:
            self._probe(ctx)
            if not self._out:
                await ctx.tick()
                continue
            byte = self._out.popleft()
            for bit in [0] + [(byte >> b) & 1 for b in range(8)] + [1]:
                ctx.set(rx, bit)
                await self._wait(ctx, d)

    async def _decode_tx(self, ctx):
        tx, d = self.link.tx, self.divisor
        while True:
            while ctx.get(tx):
                await ctx.tick()
            await self._wait(ctx, d // 2)           # centre of the start bit
            byte = 0
            for b in range(8):
                await self._wait(ctx, d)
                byte |= ctx.get(tx) << b
            await self._wait(ctx, d)
            assert ctx.get(tx) == 1, "tx: stop bit low"
            self._in.append(byte)

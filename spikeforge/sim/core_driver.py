"""cocotb driver and monitors for one ``LIFCore``, and the stream agents they are built from.

Everything here runs inside a cocotb simulation of a top module made from
:class:`spikeforge.rtl.LIFCore` (ports flattened with ``__``: ``events__payload``,
``events__valid``, ``events__ready``, ...).  One coroutine, :class:`ClockLoop`, wakes once per
rising edge and calls every agent's :meth:`~Agent.edge`, so a testbench with five ports costs one
trigger per cycle instead of five.  Inside ``edge`` the signal values are those *before* the
edge (what the edge registered): an agent decides there whether a transfer happened at this edge
(``valid and ready``) and then drives its outputs for the next cycle.

Agents
------
:class:`StreamSource`
    drives ``valid``/``payload`` of a ``stream.Signature`` from a queue, with idle gaps before
    items; records the cycle of every transfer.
:class:`StreamSink`
    drives ``ready`` from a backpressure pattern (:func:`ready_pattern`) and records
    ``(cycle, payload)`` of every transfer.
:class:`PulseMonitor`
    records the cycles in which a 1-bit output was high.

Host side
---------
:class:`CfgMaster`
    issues configuration commands (``cfgbus.Command``) back to back and pairs them with
    responses in order; every response must answer an outstanding command.
:class:`CoreDriver`
    the user's view of one core: load a :class:`~spikeforge.golden_model.CoreParams` through the
    configuration port (every status checked), write and read state, read counters, send
    events, tick and collect the spikes of each tick.

Every wait is bounded (``timeout`` cycles) and raises :class:`DriverError` with a message
instead of hanging the simulation.
"""

import collections
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import Event, RisingEdge

from ..rtl.cfgbus import (Counter, Op, Param, Space, StateField, Status, field_range,
                          pack_command, unpack_response)

__all__ = ["DriverError", "ready_pattern", "READY_PATTERNS", "ClockLoop", "Agent",
           "StreamSource", "StreamSink", "PulseMonitor", "CfgMaster", "CoreDriver"]

#: Names understood by :func:`ready_pattern`.
READY_PATTERNS = ("none", "p10", "p50", "bursty")


class DriverError(AssertionError):
    """The design broke the protocol, answered wrongly or did not answer in time."""


def ready_pattern(kind, rng):
    """Yield an endless sequence of ``ready`` values for a backpressure ``kind``.

    ``"none"``: always ready; ``"p10"``/``"p50"``: each cycle stalled with probability 10 % /
    50 %; ``"bursty"``: runs of 1 to 40 stalled cycles separated by runs of 1 to 60 ready
    cycles.  ``rng`` is a :class:`random.Random`.
    """
    if kind == "none":
        while True:
            yield 1
    elif kind in ("p10", "p50"):
        p = 0.1 if kind == "p10" else 0.5
        while True:
            yield 0 if rng.random() < p else 1
    elif kind == "bursty":
        while True:
            for _ in range(rng.randint(1, 60)):
                yield 1
            for _ in range(rng.randint(1, 40)):
                yield 0
    else:
        raise ValueError(f"ready pattern: expected one of {READY_PATTERNS}, got {kind!r}")


class Agent:
    """Something that samples and drives ports once per clock edge."""

    def edge(self, cycle):
        """Handle rising edge number ``cycle``: sample the pre-edge values, then drive."""
        raise NotImplementedError


class ClockLoop:
    """Start the clock and call every registered :class:`Agent` after each rising edge.

    ``cycle`` counts rising edges since :meth:`start`.  :meth:`wait` suspends a coroutine
    until a predicate (evaluated after the agents, once per edge) holds.
    """

    def __init__(self, clk, period_ns=10):
        self.clk = clk
        self.period_ns = period_ns
        self.cycle = 0
        self.agents = []
        self._waiters = []
        self._timeouts = {}

    def add(self, agent):
        self.agents.append(agent)
        return agent

    def start(self):
        cocotb.start_soon(Clock(self.clk, self.period_ns, unit="ns").start())
        cocotb.start_soon(self._run())

    async def _run(self):
        edge = RisingEdge(self.clk)
        while True:
            await edge
            self.cycle += 1
            for agent in self.agents:
                agent.edge(self.cycle)
            if self._waiters:
                keep = []
                for waiter in self._waiters:
                    pred, ev, deadline, what = waiter
                    if pred():
                        ev.set()
                    elif self.cycle >= deadline:
                        self._timeouts[ev] = f"timeout after waiting for {what}"
                        ev.set()
                    else:
                        keep.append(waiter)
                self._waiters = keep

    async def wait(self, pred, timeout=100_000, what="a condition"):
        """Wait until ``pred()`` holds after an edge; raise :class:`DriverError` on timeout."""
        if pred():
            return
        ev = Event()
        self._waiters.append((pred, ev, self.cycle + timeout, what))
        await ev.wait()
        if ev in self._timeouts:
            raise DriverError(f"cycle {self.cycle}: {self._timeouts.pop(ev)} "
                              f"({timeout} cycles)")

    async def cycles(self, n):
        """Let ``n`` rising edges pass."""
        end = self.cycle + n
        await self.wait(lambda: self.cycle >= end, timeout=n + 1, what=f"{n} cycles")


class StreamSource(Agent):
    """Drive a stream from a queue of ``(payload, gap)`` items.

    ``gap`` idle cycles (valid low) come before the item is offered; an offered item keeps
    ``valid`` high and its payload stable until the transfer (stream rules).  ``transfers``
    lists ``(cycle, payload)`` of every transfer; ``on_transfer(cycle, payload)`` is called
    for each.  A stream without payload (``stream.Signature(0)``) has ``payload=None``.
    """

    def __init__(self, dut, prefix, payload=True):
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload") if payload else None
        self.name = prefix
        self.queue = collections.deque()
        self.transfers = []
        self.on_transfer = None
        self._pending = None       # the head item, waiting out its gap
        self._gap = 0
        self._offering = False     # valid is high
        self._payload = None
        self._driven = 0           # the value last written to valid
        self.valid.value = 0

    @property
    def idle(self):
        """Nothing queued and nothing offered."""
        return not self.queue and self._pending is None and not self._offering

    def put(self, payload=None, gap=0):
        self.queue.append((payload, gap))

    def edge(self, cycle):
        if self._offering and int(self.ready.value):
            self._offering = False
            self.transfers.append((cycle, self._payload))
            if self.on_transfer is not None:
                self.on_transfer(cycle, self._payload)
        if self._offering:
            return
        if self._pending is None and self.queue:
            self._pending = self.queue.popleft()
            self._gap = self._pending[1]
        if self._pending is not None and self._gap == 0:
            self._payload = self._pending[0]
            self._pending = None
            if self.payload is not None:
                self.payload.value = self._payload
            if not self._driven:
                self.valid.value = 1
            self._offering = True
        else:
            self._gap = max(0, self._gap - 1)
            if self._driven:
                self.valid.value = 0
                self._driven = 0
            return
        self._driven = 1


class StreamSink(Agent):
    """Accept a stream with ``ready`` from :func:`ready_pattern`; record every transfer.

    ``transfers`` lists ``(cycle, payload)``; ``on_transfer(cycle, payload)`` is called for
    each.  ``enabled`` set to ``False`` holds ``ready`` low.
    """

    def __init__(self, dut, prefix, pattern):
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self.name = prefix
        self.pattern = pattern
        self.transfers = []
        self.on_transfer = None
        self._ready = 0
        self.ready.value = 0

    def set_pattern(self, pattern):
        self.pattern = pattern

    def edge(self, cycle):
        if self._ready and int(self.valid.value):
            payload = int(self.payload.value)
            self.transfers.append((cycle, payload))
            if self.on_transfer is not None:
                self.on_transfer(cycle, payload)
        self._ready = next(self.pattern)
        self.ready.value = self._ready


class PulseMonitor(Agent):
    """Record the cycles (edges) at which a 1-bit output was high before the edge."""

    def __init__(self, signal):
        self.signal = signal
        self.cycles = []

    def edge(self, cycle):
        if int(self.signal.value):
            self.cycles.append(cycle)


class CfgMaster:
    """Issue configuration commands and pair them with their responses, in order.

    Commands go out back to back through a :class:`StreamSource` on ``cfg``; responses arrive
    through a :class:`StreamSink` on ``rsp``.  A response without an outstanding command raises
    :class:`DriverError` at the end (:meth:`check_idle`) and is recorded in ``errors``.
    """

    def __init__(self, loop, dut, rsp_pattern):
        self.loop = loop
        self.cmd = loop.add(StreamSource(dut, "cfg"))
        self.rsp = loop.add(StreamSink(dut, "rsp", rsp_pattern))
        self.rsp.on_transfer = self._on_response
        self._outstanding = collections.deque()   # descriptions of commands sent
        self._results = {}
        self._issued = 0
        self._answered = 0
        self.errors = []
        self.commands = 0

    def _on_response(self, cycle, word):
        if not self._outstanding:
            self.errors.append(f"cycle {cycle}: response {unpack_response(word)} without a "
                               f"command")
            return
        tag = self._outstanding.popleft()
        self._results[tag] = unpack_response(word)
        self._answered += 1

    async def transact(self, commands, timeout_per_command=64):
        """Send ``commands`` (``(op, space, addr, value)``) and return their responses.

        Return a list of ``(Status, data)`` in command order.
        """
        tags = []
        for op, space, addr, value in commands:
            tag = self._issued
            self._issued += 1
            tags.append(tag)
            self._outstanding.append(tag)
            self.cmd.put(pack_command(op, space, addr, value))
        self.commands += len(tags)
        last = tags[-1] if tags else None
        if last is not None:
            await self.loop.wait(lambda: last in self._results,
                                 timeout=64 + timeout_per_command * len(tags),
                                 what=f"{len(tags)} configuration responses")
        if self.errors:
            raise DriverError("; ".join(self.errors))
        return [self._results.pop(t) for t in tags]

    async def write(self, space, addr, value):
        (status, _), = await self.transact([(Op.WRITE, space, addr, value)])
        return status

    async def read(self, space, addr):
        (status, data), = await self.transact([(Op.READ, space, addr, 0)])
        return status, data

    def check_idle(self):
        """Raise :class:`DriverError` if a command is unanswered or a response was unexpected."""
        problems = list(self.errors)
        if self._outstanding:
            problems.append(f"{len(self._outstanding)} commands without a response")
        if not self.cmd.idle:
            problems.append("commands still queued")
        if problems:
            raise DriverError("configuration port: " + "; ".join(problems))


class CoreDriver:
    """Drive one ``LIFCore`` through its ports the way a host would.

    Parameters
    ----------
    dut : cocotb handle
        The top module (a ``LIFCore`` converted with :func:`spikeforge.sim.to_verilog`).
    cfg : CoreConfig
        The configuration the core was built with.
    rng : random.Random
        Source of backpressure randomness.
    spike_ready, rsp_ready : str
        Backpressure patterns (:data:`READY_PATTERNS`) on ``spikes`` and ``rsp``.

    Members
    -------
    loop : ClockLoop
    events, tick_src : StreamSource
    spikes : StreamSink
    done : PulseMonitor
    host : CfgMaster
    """

    def __init__(self, dut, cfg, rng, spike_ready="none", rsp_ready="none"):
        self.dut, self.cfg, self.rng = dut, cfg, rng
        self.loop = ClockLoop(dut.clk)
        # ``done`` first: a transfer in the cycle of the done pulse sees the pulse recorded.
        self.done = self.loop.add(PulseMonitor(dut.done))
        self.events = self.loop.add(StreamSource(dut, "events"))
        self.tick_src = self.loop.add(StreamSource(dut, "tick", payload=False))
        self.spikes = self.loop.add(StreamSink(dut, "spikes", ready_pattern(spike_ready, rng)))
        self.host = CfgMaster(self.loop, dut, ready_pattern(rsp_ready, rng))
        self._busy = dut.busy
        self.ticks = []         # transfer cycles of ticks
        self.dut.rst.value = 1

    def set_backpressure(self, spike_ready=None, rsp_ready=None):
        if spike_ready is not None:
            self.spikes.set_pattern(ready_pattern(spike_ready, self.rng))
        if rsp_ready is not None:
            self.host.rsp.set_pattern(ready_pattern(rsp_ready, self.rng))

    @property
    def cycle(self):
        return self.loop.cycle

    async def start(self, reset_cycles=4):
        """Start the clock and the agents; hold reset for ``reset_cycles``."""
        self.loop.start()
        await self.reset(reset_cycles)

    async def reset(self, cycles=4):
        """Pulse ``rst`` (counters and control return to their initial state)."""
        self.dut.rst.value = 1
        await self.loop.cycles(cycles)
        self.dut.rst.value = 0
        await self.loop.cycles(1)

    # -- configuration -------------------------------------------------------------------
    async def _write_all(self, writes, what):
        cmds = [(Op.WRITE, space, addr, int(v)) for space, addr, v in writes]
        rsps = await self.host.transact(cmds)
        bad = [(c, r) for c, r in zip(cmds, rsps) if r[0] != Status.OK]
        if bad:
            (_, space, addr, v), (st, _) = bad[0]
            raise DriverError(f"{what}: {len(bad)} of {len(cmds)} writes refused; first: "
                              f"{Space(space).name}[{addr}] = {v} -> {st.name}")

    async def load(self, params):
        """Write every weight, the bias row and every parameter register of ``params``."""
        cfg, n = self.cfg, self.cfg.neurons
        writes = [(Space.WEIGHT, a * n + j, params.weights[a, j])
                  for a in range(cfg.axons) for j in range(n)]
        writes += [(Space.WEIGHT, cfg.axons * n + j, params.bias[j]) for j in range(n)]
        for p, value in self.param_values(params).items():
            writes.append((Space.PARAM, int(p), value))
        await self._write_all(writes, "load")

    def param_values(self, params):
        """Return ``{Param: value}`` of the registers that exist in this configuration."""
        values = {Param.THRESHOLD: params.threshold, Param.LEAK: params.leak,
                  Param.CURRENT_LEAK: params.current_leak, Param.BIAS_SHIFT: params.bias_shift,
                  Param.REFRACTORY: params.refractory}
        return {p: v for p, v in values.items()
                if field_range(self.cfg, Space.PARAM, p) is not None}

    def state_fields(self):
        """Return the :class:`StateField` s that exist in this configuration."""
        return [f for f in StateField if field_range(self.cfg, Space.STATE, f) is not None]

    async def write_state(self, field, values):
        """Write ``values`` (one per neuron) into state ``field``."""
        n = self.cfg.neurons
        await self._write_all([(Space.STATE, int(field) * n + j, v)
                               for j, v in enumerate(values)], f"write {field.name}")

    async def read_state(self, field):
        """Return state ``field`` of every neuron as a list (statuses must be OK)."""
        n = self.cfg.neurons
        rsps = await self.host.transact([(Op.READ, Space.STATE, int(field) * n + j, 0)
                                         for j in range(n)])
        bad = [j for j, (st, _) in enumerate(rsps) if st != Status.OK]
        if bad:
            raise DriverError(f"read {field.name}: {len(bad)} reads refused, first neuron "
                              f"{bad[0]}: {rsps[bad[0]][0].name}")
        return [d for _, d in rsps]

    async def read_counters(self):
        """Return ``{Counter: value}``, each as an unsigned 32-bit count."""
        rsps = await self.host.transact([(Op.READ, Space.COUNTER, int(c), 0) for c in Counter])
        out = {}
        for c, (st, d) in zip(Counter, rsps):
            if st != Status.OK:
                raise DriverError(f"read counter {c.name}: {st.name}")
            out[c] = d & 0xFFFF_FFFF
        return out

    # -- events, ticks, spikes ---------------------------------------------------------------
    def offer_events(self, axons, gaps=None):
        """Queue events on ``axons``, with ``gaps[k]`` idle cycles before event ``k``."""
        gaps = gaps or [0] * len(axons)
        for a, g in zip(axons, gaps):
            self.events.put(int(a), int(g))

    async def events_drained(self, timeout=1_000_000):
        """Wait until every queued event has been transferred."""
        await self.loop.wait(lambda: self.events.idle, timeout=timeout, what="events to drain")

    async def quiescent(self, settle=2, timeout=1_000_000):
        """Wait until no event is pending and ``busy`` has been low for ``settle`` cycles."""
        await self.events_drained(timeout)
        low = [0]

        def settled():
            low[0] = 0 if int(self._busy.value) else low[0] + 1
            return low[0] >= settle
        await self.loop.wait(settled, timeout=timeout, what="busy to fall")

    async def tick(self, timeout=1_000_000):
        """Offer a tick and return the cycle of its transfer."""
        n = len(self.tick_src.transfers)
        self.tick_src.put(None, 0)
        await self.loop.wait(lambda: len(self.tick_src.transfers) > n, timeout=timeout,
                             what="the tick to be accepted")
        cycle = self.tick_src.transfers[n][0]
        self.ticks.append(cycle)
        return cycle

    async def wait_done(self, after, timeout=1_000_000):
        """Wait for the ``done`` pulse after cycle ``after``; return its cycle."""
        await self.loop.wait(lambda: self.done.cycles and self.done.cycles[-1] > after,
                             timeout=timeout, what="done")
        return self.done.cycles[-1]

    def spikes_between(self, lo, hi):
        """Return the neuron indices of spike transfers at cycles ``lo < c <= hi``."""
        return [n for c, n in self.spikes.transfers if lo < c <= hi]

"""cocotb driver for a ``NeuromorphicArray``: load a network, run timesteps, read back state.

The array's four host streams (``cmd``/``rsp``, ``events``, ``spikes``; see
:mod:`spikeforge.rtl.array_bus`) are driven with the stream agents of :mod:`.core_driver`, all
on one :class:`~.core_driver.ClockLoop`.  :class:`ArrayDriver` is what a host does over the
board's link: write a :class:`~spikeforge.golden_model.Network` into the array through commands
(every status checked), inject the host events of a timestep, run it, collect the spikes that
reach the host, and read neuron state and counters.
"""

import collections

import numpy as np

from ..golden_model.network import HOST
from ..rtl.array_bus import (ArrayReg, ROUTE_POINTER, Target, pack_array_command,
                             pack_host_event, pack_route_entry, pack_route_pointer,
                             unpack_host_spike)
from ..rtl.cfgbus import Counter, Op, Param, Space, StateField, Status, unpack_response
from .core_driver import DriverError, StreamSink, StreamSource

__all__ = ["ArrayDriver"]


class ArrayDriver:
    """Drive one ``NeuromorphicArray`` through its host streams.

    Parameters
    ----------
    loop : ClockLoop
        The clock loop every agent runs on.
    dut : cocotb handle
        The top module (a ``NeuromorphicArray`` converted to Verilog).
    array : ArrayConfig
        The configuration the array was built with.
    spike_pattern, rsp_pattern : iterator of 0/1
        ``ready`` patterns of the host spike output and the response stream.
    """

    def __init__(self, loop, dut, array, spike_pattern, rsp_pattern):
        self.loop, self.dut, self.array = loop, dut, array
        self.cmd = loop.add(StreamSource(dut, "cmd"))
        self.rsp = loop.add(StreamSink(dut, "rsp", rsp_pattern))
        self.events = loop.add(StreamSource(dut, "events"))
        self.spikes = loop.add(StreamSink(dut, "spikes", spike_pattern))
        self.rsp.on_transfer = self._on_response
        self._outstanding = collections.deque()
        self._results = {}
        self._issued = 0
        self.errors = []
        self.commands = 0

    # -- commands ----------------------------------------------------------------------------
    def _on_response(self, cycle, word):
        if not self._outstanding:
            self.errors.append(f"cycle {cycle}: response {unpack_response(word)} without a "
                               f"command")
            return
        self._results[self._outstanding.popleft()] = unpack_response(word)

    async def transact(self, commands, timeout_per_command=256):
        """Send ``(target, core, op, space, addr, value)`` commands; return ``(Status, data)``s."""
        tags = []
        for target, core, op, space, addr, value in commands:
            tag = self._issued
            self._issued += 1
            tags.append(tag)
            self._outstanding.append(tag)
            self.cmd.put(pack_array_command(target, core, op, space, addr, value))
        self.commands += len(tags)
        if tags:
            last = tags[-1]
            await self.loop.wait(lambda: last in self._results,
                                 timeout=256 + timeout_per_command * len(tags),
                                 what=f"{len(tags)} command responses")
        if self.errors:
            raise DriverError("; ".join(self.errors))
        return [self._results.pop(t) for t in tags]

    async def write_all(self, commands):
        """Send write commands and require every status to be OK."""
        results = await self.transact(commands)
        bad = [(c, r) for c, r in zip(commands, results) if r[0] != Status.OK]
        if bad:
            raise DriverError(f"{len(bad)} writes refused, first {bad[0][0]} -> {bad[0][1]}")

    async def register(self, reg, value=None, core=0):
        """Read (``value is None``) or write an array register; return its value."""
        op = Op.READ if value is None else Op.WRITE
        # CLEAR answers once every core has written zeros over its state and counters.
        timeout = 256 if reg != ArrayReg.CLEAR else 16 * max(c.neurons for c in
                                                              self.array.cores) + 512
        (status, data), = await self.transact([(Target.ARRAY, core, op, Space.WEIGHT, reg,
                                                0 if value is None else value)],
                                              timeout_per_command=timeout)
        if status != Status.OK:
            raise DriverError(f"array register {ArrayReg(reg).name}: {status.name}")
        return data

    # -- loading -----------------------------------------------------------------------------
    async def load(self, network, skip_zero_weights=False):
        """Write every weight, bias, parameter, phase and route of ``network``."""
        if network.array != self.array:
            raise DriverError("network: built for a different ArrayConfig")
        for c, (p, routes) in enumerate(zip(network.cores, network.routes)):
            cfg = p.config
            cmds = []
            for a in range(cfg.axons):
                for n in range(cfg.neurons):
                    w = int(p.weights[a, n])
                    if w or not skip_zero_weights:
                        cmds.append((Target.CORE, c, Op.WRITE, Space.WEIGHT, a * cfg.neurons + n,
                                     w))
            for n in range(cfg.neurons):     # the bias row follows the last axon
                b = int(p.bias[n])
                if b or not skip_zero_weights:
                    cmds.append((Target.CORE, c, Op.WRITE, Space.WEIGHT,
                                 cfg.axons * cfg.neurons + n, b))
            regs = {Param.THRESHOLD: p.threshold, Param.LEAK: p.leak,
                    Param.BIAS_SHIFT: p.bias_shift}
            if cfg.cuba:
                regs[Param.CURRENT_LEAK] = p.current_leak
            if cfg.refractory_bits:
                regs[Param.REFRACTORY] = p.refractory
            cmds += [(Target.CORE, c, Op.WRITE, Space.PARAM, int(k), int(v))
                     for k, v in regs.items()]
            cmds.append((Target.ARRAY, c, Op.WRITE, Space.WEIGHT, ArrayReg.PHASE, p.phase))
            # Routes: entries grouped by source neuron, fan-out order kept.
            order = np.argsort(routes.source, kind="stable")
            start = 0
            counts = np.bincount(routes.source, minlength=cfg.neurons)
            for e, k in enumerate(order):
                core, axon = int(routes.core[k]), int(routes.axon[k])
                word = (pack_route_entry(0, 0, True) if core == HOST
                        else pack_route_entry(core, axon))
                cmds.append((Target.ROUTES, c, Op.WRITE, Space.WEIGHT, e, word))
            for n in range(cfg.neurons):
                cmds.append((Target.ROUTES, c, Op.WRITE, Space.WEIGHT, ROUTE_POINTER | n,
                             pack_route_pointer(start, int(counts[n]))))
                start += int(counts[n])
            await self.write_all(cmds)

    # -- running -----------------------------------------------------------------------------
    async def step(self, events, gap=lambda: 0, timeout=200_000):
        """Inject ``(core, axon)`` events, run one timestep, return the host spikes it sent.

        ``gap()`` gives the idle cycles before each event.  Returns a list of ``(core, neuron)``
        in arrival order.
        """
        first = len(self.spikes.transfers)
        for core, axon in events:
            self.events.put(pack_host_event(int(core), int(axon)), gap=gap())
        await self.loop.wait(lambda: self.events.idle, timeout=timeout, what="host events taken")
        await self.register(ArrayReg.RUN, 1)
        await self.loop.wait(lambda: not int(self.dut.busy.value), timeout=timeout,
                             what="the timestep to finish")
        return [unpack_host_spike(w) for _, w in self.spikes.transfers[first:]]

    async def read_state(self, core, field):
        """Return the ``StateField`` values of every neuron of ``core``."""
        cfg = self.array.cores[core]
        res = await self.transact([(Target.CORE, core, Op.READ, Space.STATE,
                                    int(field) * cfg.neurons + n, 0) for n in range(cfg.neurons)])
        if any(s != Status.OK for s, _ in res):
            raise DriverError(f"core {core}: state reads refused")
        return np.array([v for _, v in res], dtype=np.int64)

    async def read_counters(self, core):
        """Return ``{Counter: value}`` of ``core`` (values modulo 2**32, unsigned)."""
        res = await self.transact([(Target.CORE, core, Op.READ, Space.COUNTER, int(k), 0)
                                   for k in Counter])
        return {k: v & 0xFFFFFFFF for k, (_, v) in zip(Counter, res)}

    def check_idle(self):
        """Raise :class:`DriverError` if anything is left over on the host streams."""
        problems = list(self.errors)
        if self._outstanding:
            problems.append(f"{len(self._outstanding)} commands without a response")
        if not self.cmd.idle or not self.events.idle:
            problems.append("commands or events still queued")
        if problems:
            raise DriverError("host streams: " + "; ".join(problems))

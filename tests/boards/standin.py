"""A TEST DOUBLE of :class:`NeuromorphicArray`'s host interface, not product code.

:class:`ArrayStandIn` honours the four host streams of :mod:`spikeforge.rtl.array_bus` (plus
``busy``) with just enough behaviour to test the host link against it:

* a register file per core: ``WEIGHTS`` signed 4-bit weights (``Space.WEIGHT``), five
  parameters 0..100 (``Space.PARAM``), read-only counters (``Space.COUNTER``: EVENTS, SOPS,
  SPIKES, DROPPED, TICKS); ``Space.STATE`` does not exist;
* a routing table per core: ``ROUTE_ENTRIES`` entry words and ``ROUTE_POINTERS`` pointer
  words, any 32-bit value;
* the array registers RUN, TIMESTEP, STATUS, CLEAR, PHASE (0..3 per core);
* an echo instead of neurons: every input event ``(core, axon)`` comes back as the spike
  ``(core, axon)`` at the next tick; with parameter LEAK of core 0 set to 1, core 0 also spikes
  ``(0, 0xFFFF)`` at every tick (a heartbeat that shows timestep tags).

Addresses that do not exist give ``BAD_ADDR``, values out of range ``BAD_VALUE`` and change
nothing.  ``n_cmds`` counts commands that changed something, ``n_events`` events taken, so a
test can see that a refused frame reached nothing.
"""

from amaranth import Cat, Module, Signal, signed
from amaranth.lib import fifo, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from spikeforge.rtl import cfgbus
from spikeforge.rtl.array_bus import ArrayCommand, ArrayReg, HostEvent, HostSpike, Target

CORES = 2
WEIGHTS = 16
ROUTE_ENTRIES = 8
ROUTE_POINTERS = 8
PARAMS = 5
COUNTERS = 5


class ArrayStandIn(wiring.Component):
    cmd: In(stream.Signature(ArrayCommand))
    rsp: Out(stream.Signature(cfgbus.Response))
    events: In(stream.Signature(HostEvent))
    spikes: Out(stream.Signature(HostSpike))
    busy: Out(1)
    n_cmds: Out(16)
    n_events: Out(16)

    def elaborate(self, platform):
        m = Module()
        m.submodules.wmem = wmem = memory.Memory(shape=signed(4), depth=CORES * WEIGHTS,
                                                 init=[])
        m.submodules.rmem = rmem = memory.Memory(
            shape=32, depth=CORES * (ROUTE_ENTRIES + ROUTE_POINTERS), init=[])
        wr_w, rd_w = wmem.write_port(), wmem.read_port(domain="comb")
        wr_r, rd_r = rmem.write_port(), rmem.read_port(domain="comb")
        params = [[Signal(8, name=f"param_{c}_{i}") for i in range(PARAMS)]
                  for c in range(CORES)]
        counters = [[Signal(32, name=f"counter_{c}_{i}") for i in range(COUNTERS)]
                    for c in range(CORES)]
        phase = [Signal(2, name=f"phase_{c}") for c in range(CORES)]
        run_left = Signal(32)
        timestep = Signal(32)
        ticking = Signal()

        m.submodules.queue = queue = fifo.SyncFIFOBuffered(width=24, depth=32)

        # Commands: latch, execute in one cycle, hold the response until taken.
        c = Signal(ArrayCommand)
        status = Signal(cfgbus.Status)
        rdata = Signal(signed(32))
        addr, value, core = c.cmd.addr, c.cmd.data, c.core
        write = c.cmd.op == cfgbus.Op.WRITE
        core_ok = core < CORES
        m.d.comb += [rd_w.addr.eq(core[:1] * WEIGHTS + addr[:4]), wr_w.addr.eq(rd_w.addr),
                     wr_w.data.eq(value)]
        route_slot = Signal(range(ROUTE_ENTRIES + ROUTE_POINTERS))
        m.d.comb += [rd_r.addr.eq(core[:1] * (ROUTE_ENTRIES + ROUTE_POINTERS) + route_slot),
                     wr_r.addr.eq(rd_r.addr), wr_r.data.eq(value)]

        def ok(data=None):
            stmts = [status.eq(cfgbus.Status.OK)]
            if data is not None:
                stmts.append(rdata.eq(data))
            return stmts

        changed = Signal()
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.cmd.ready.eq(1)
                with m.If(self.cmd.valid):
                    m.d.sync += c.eq(self.cmd.payload)
                    m.next = "EXEC"
            with m.State("EXEC"):
                m.d.sync += [status.eq(cfgbus.Status.BAD_ADDR), rdata.eq(0)]
                with m.Switch(c.target):
                    with m.Case(Target.CORE):
                        with m.If(core_ok):
                            with m.Switch(c.cmd.space):
                                with m.Case(cfgbus.Space.WEIGHT):
                                    with m.If(addr < WEIGHTS):
                                        with m.If(~write):
                                            m.d.sync += ok(rd_w.data)
                                        with m.Elif((value >= -8) & (value <= 7)):
                                            m.d.comb += [wr_w.en.eq(1), changed.eq(1)]
                                            m.d.sync += ok(0)
                                        with m.Else():
                                            m.d.sync += status.eq(cfgbus.Status.BAD_VALUE)
                                with m.Case(cfgbus.Space.PARAM):
                                    for cc in range(CORES):
                                        for i in range(PARAMS):
                                            with m.If((core == cc) & (addr == i)):
                                                reg = params[cc][i]
                                                with m.If(~write):
                                                    m.d.sync += ok(reg)
                                                with m.Elif((value >= 0) & (value <= 100)):
                                                    m.d.sync += [reg.eq(value), *ok(0)]
                                                    m.d.comb += changed.eq(1)
                                                with m.Else():
                                                    m.d.sync += status.eq(
                                                        cfgbus.Status.BAD_VALUE)
                                with m.Case(cfgbus.Space.COUNTER):
                                    for cc in range(CORES):
                                        for i in range(COUNTERS):
                                            with m.If((core == cc) & (addr == i) & ~write):
                                                m.d.sync += ok(counters[cc][i])
                    with m.Case(Target.ROUTES):
                        is_ptr = addr[31] & (addr[:31] < ROUTE_POINTERS)
                        is_entry = ~addr[31] & (addr < ROUTE_ENTRIES)
                        m.d.comb += route_slot.eq(Cat(addr[:3], is_ptr))
                        with m.If(core_ok & (is_ptr | is_entry)):
                            with m.If(write):
                                m.d.comb += [wr_r.en.eq(1), changed.eq(1)]
                                m.d.sync += ok(0)
                            with m.Else():
                                m.d.sync += ok(rd_r.data)
                    with m.Case(Target.ARRAY):
                        with m.Switch(addr):
                            with m.Case(ArrayReg.RUN):
                                with m.If(~write):
                                    m.d.sync += ok(run_left)
                                with m.Elif(value >= 1):
                                    m.d.sync += [run_left.eq(value), *ok(0)]
                                    m.d.comb += changed.eq(1)
                                with m.Else():
                                    m.d.sync += status.eq(cfgbus.Status.BAD_VALUE)
                            with m.Case(ArrayReg.TIMESTEP):
                                with m.If(write):
                                    m.d.sync += [timestep.eq(value), *ok(0)]
                                    m.d.comb += changed.eq(1)
                                with m.Else():
                                    m.d.sync += ok(timestep)
                            with m.Case(ArrayReg.STATUS):
                                with m.If(~write):
                                    m.d.sync += ok((run_left != 0) | ticking)
                            with m.Case(ArrayReg.CLEAR):
                                with m.If(write):
                                    m.d.sync += [ctr.eq(0) for row in counters for ctr in row]
                                    m.d.sync += ok(0)
                                    m.d.comb += changed.eq(1)
                            with m.Case(ArrayReg.PHASE):
                                for cc in range(CORES):
                                    with m.If(core == cc):
                                        with m.If(~write):
                                            m.d.sync += ok(phase[cc])
                                        with m.Elif((value >= 0) & (value <= 3)):
                                            m.d.sync += [phase[cc].eq(value), *ok(0)]
                                            m.d.comb += changed.eq(1)
                                        with m.Else():
                                            m.d.sync += status.eq(cfgbus.Status.BAD_VALUE)
                m.next = "RESPOND"
            with m.State("RESPOND"):
                m.d.comb += [self.rsp.valid.eq(1), self.rsp.payload.status.eq(status),
                             self.rsp.payload.data.eq(rdata)]
                with m.If(self.rsp.ready):
                    m.next = "IDLE"
        with m.If(changed):
            m.d.sync += self.n_cmds.eq(self.n_cmds + 1)

        # Events wait in the queue for the next tick (taken only between runs).
        running = (run_left != 0) | ticking
        m.d.comb += [queue.w_data.eq(Cat(self.events.payload.axon, self.events.payload.core)),
                     queue.w_en.eq(self.events.valid & ~running),
                     self.events.ready.eq(queue.w_rdy & ~running)]
        with m.If(self.events.valid & self.events.ready):
            m.d.sync += self.n_events.eq(self.n_events + 1)
            for cc in range(CORES):
                with m.If(self.events.payload.core == cc):
                    m.d.sync += counters[cc][cfgbus.Counter.EVENTS].eq(
                        counters[cc][cfgbus.Counter.EVENTS] + 1)

        # Ticks: echo the queued events as spikes, then the heartbeat, then count.
        with m.FSM():
            with m.State("WAIT"):
                with m.If(run_left != 0):
                    m.d.sync += ticking.eq(1)
                    m.next = "ECHO"
            with m.State("ECHO"):
                m.d.comb += [self.spikes.valid.eq(queue.r_rdy),
                             self.spikes.payload.neuron.eq(queue.r_data[:16]),
                             self.spikes.payload.core.eq(queue.r_data[16:]),
                             queue.r_en.eq(self.spikes.ready)]
                with m.If(~queue.r_rdy):
                    m.next = "BEAT"
            with m.State("BEAT"):
                with m.If(params[0][1] == 1):
                    m.d.comb += [self.spikes.valid.eq(1), self.spikes.payload.core.eq(0),
                                 self.spikes.payload.neuron.eq(0xFFFF)]
                    with m.If(self.spikes.ready):
                        m.next = "DONE"
                with m.Else():
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.sync += [run_left.eq(run_left - 1), timestep.eq(timestep + 1),
                             ticking.eq(0)]
                for cc in range(CORES):
                    m.d.sync += counters[cc][cfgbus.Counter.TICKS].eq(
                        counters[cc][cfgbus.Counter.TICKS] + 1)
                m.next = "WAIT"
        m.d.comb += self.busy.eq(running | queue.r_rdy)
        return m

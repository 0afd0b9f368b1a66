"""The neuromorphic array: LIF cores, routing tables and the AER mesh under one timestep control.

Per core ``c`` (at mesh position ``ArrayConfig.position(c)``)::

    mesh.eject[c] --axon--> LIFCore --spike--> spike FIFO --> RouteTable --entry-->
        packet register --> mesh.inject[c]

The spike FIFO holds a whole tick's worth of spikes (``neurons`` entries), so a core's sweep
never waits on the fabric: a core whose own input is held during its tick can therefore never
block itself, and the mesh, with dimension-order routing and sinks that always drain, is free of
deadlock (``docs/array.md``).

Timestep control (``docs/semantics.md`` section 5): a timestep starts once every host event is
integrated; then for each phase in ascending order, every core of that phase ticks, and the
next phase starts only when those cores are done, their spike FIFOs and routing tables are empty
and no packet is in flight (the array counts packets entering and leaving the mesh).  Congestion
only makes a timestep longer; nothing is dropped.
"""

from amaranth import Cat, Const, Module, Mux, Signal, unsigned
import functools

from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from ..golden_model.config import ArrayConfig
from . import aer
from .array_bus import ArrayCommand, ArrayReg, HostEvent, HostSpike, Target
from .cfgbus import Command, Counter, Op, Response, Space, StateField, Status
from .checks import below, refuse
from .core import LIFCore
from .memory import StyledFIFO, family_of
from .mesh import Mesh
from .placement import Placement, plan
from .route_table import RouteTable
from .spram import SPRAM_PER_DEVICE

__all__ = ["NeuromorphicArray"]


class NeuromorphicArray(wiring.Component):
    """The whole array, built from one :class:`ArrayConfig`.

    Parameters
    ----------
    config : ArrayConfig
    fifo_depth : int or None
        Depth of each router input FIFO; ``None`` takes the placement's (the one it counts).
    placement : Placement or None
        Where each memory goes and which pipeline the cores use (:func:`.placement.plan`;
        a board build passes the plan its fit check counted).  ``None``: planned when
        elaborated, for the platform's family without a block RAM budget.

    Members
    -------
    cmd : In(stream.Signature(ArrayCommand))
        Configuration and control; see :mod:`.array_bus`.  Commands to a core or a routing
        table wait while timesteps run; array register commands are answered at once.  No
        command is executed while a host event is held (see ``events``).
    rsp : Out(stream.Signature(Response))
        One response per command, in order.
    events : In(stream.Signature(HostEvent))
        Host input events.  One is held in a register at a time and enters the mesh while no
        timestep runs, so an event taken before a ``RUN`` command belongs to that run.  An
        event naming a core or axon that does not exist is not delivered; it is counted in
        ``ArrayReg.BAD_EVENTS``.
    spikes : Out(stream.Signature(HostSpike))
        Spikes routed to the host.  A stalled host output stalls the timestep, never drops.
    busy : Out(1)
        Timesteps are running or host events are still in flight.
    timestep : Out(32)
        Timesteps completed.
    """

    def __init__(self, config, *, fifo_depth=None, placement=None):
        if not isinstance(config, ArrayConfig):
            refuse(self, TypeError(f"config: expected an ArrayConfig, got {config!r}"))
        if placement is not None and not (isinstance(placement, Placement)
                                           and len(placement.cores) == config.n_cores):
            refuse(self, TypeError(f"placement: expected a Placement of {config.n_cores} "
                                   f"cores, got {placement!r}"))
        self._cfg = config
        self._placement = placement
        self._fifo_depth = fifo_depth
        super().__init__({
            "cmd": In(stream.Signature(ArrayCommand)),
            "rsp": Out(stream.Signature(Response)),
            "events": In(stream.Signature(HostEvent)),
            "spikes": Out(stream.Signature(HostSpike)),
            "busy": Out(1),
            "timestep": Out(32),
        })

    @property
    def config(self):
        return self._cfg

    def elaborate(self, platform):
        m = Module()
        arr = self._cfg
        n = arr.n_cores
        layout = aer.packet_layout(arr)
        nb = max(c.neuron_bits for c in arr.cores)

        place = self._placement
        if place is None:
            family = family_of(platform)
            up = family == "ice40" and str(getattr(platform, "device", "")).startswith("iCE40UP")
            place = plan(arr, family, sprams=SPRAM_PER_DEVICE if up else 0)
        fifo_style = {"bram": "block", "lutram": "distributed",
                      "regs": "logic"}[place.router_fifo]
        m.submodules.mesh = mesh = Mesh(
            layout=layout, rows=arr.mesh[0], cols=arr.mesh[1], fifo_depth=self._fifo_depth or place.router_fifo_depth,
            fifo_factory=functools.partial(StyledFIFO, ram_style=fifo_style))
        cores, tables, spike_fifos = [], [], []
        held = []              # registers that hold a spike or packet outside the FIFOs
        for c, ccfg in enumerate(arr.cores):
            cp = place.cores[c]
            core = LIFCore(ccfg, pipeline=cp.pipeline, memories=cp.core_memories,
                           leak_multipliers=cp.leak_multipliers,
                           weight_bank_rows=cp.weight_bank_rows,
                           packed_weights=cp.packed_weights)
            table = RouteTable(arr, c, pointer_ram=cp.ram_style("route_ptr"),
                               entry_ram=cp.ram_style("route_ent"))
            sfifo = StyledFIFO(width=ccfg.neuron_bits, depth=ccfg.neurons,
                               ram_style=cp.ram_style("spike_fifo"))
            m.submodules[f"core{c}"] = core
            m.submodules[f"routes{c}"] = table
            m.submodules[f"spike_fifo{c}"] = sfifo
            cores.append(core), tables.append(table), spike_fifos.append(sfifo)
            node = c   # mesh nodes are numbered row by row, like cores

            # Spikes into the FIFO; the FIFO always has room (a tick emits <= neurons spikes
            # and a phase ends only once the FIFO is empty), so the core's ready is a constant:
            # no path from the FIFO's level through the core's spike serializer.
            m.d.comb += [sfifo.w_data.eq(core.spikes.payload), sfifo.w_en.eq(core.spikes.valid),
                         core.spikes.ready.eq(1)]
            if cp.pipeline == "deep":
                # The FIFO's block RAM output is registered before the table addresses its
                # pointer RAM with it (two slow block RAM paths in one period on ECP5).  The
                # register refills in the cycle it is emptied: no gap between spikes.
                head = Signal(ccfg.neuron_bits, name=f"spike_head{c}")
                head_valid = Signal(name=f"spike_head{c}_valid")
                held.append(head_valid)
                m.d.comb += [table.i.payload.eq(head), table.i.valid.eq(head_valid),
                             sfifo.r_en.eq(~head_valid | table.i.ready)]
                with m.If(table.i.ready):
                    m.d.sync += head_valid.eq(0)
                with m.If(sfifo.r_rdy & sfifo.r_en):
                    m.d.sync += [head.eq(sfifo.r_data), head_valid.eq(1)]
            else:
                m.d.comb += [table.i.payload.eq(sfifo.r_data), table.i.valid.eq(sfifo.r_rdy),
                             sfifo.r_en.eq(table.i.ready)]

            # Fan-out entries become packets.
            inj = mesh.inject[node]
            ent = table.o.payload
            dest_row = Signal(layout["row"].shape)
            dest_col = Signal(layout["col"].shape)
            with m.Switch(ent.core):
                for d in range(n):
                    r, col = arr.position(d)
                    with m.Case(d):
                        m.d.comb += [dest_row.eq(r), dest_col.eq(col)]
            new = Signal.like(inj.payload, name=f"packet{c}")
            m.d.comb += [new.host.eq(ent.host),
                         new.row.eq(Mux(ent.host, 0, dest_row)),
                         new.col.eq(Mux(ent.host, 0, dest_col)),
                         new.index.eq(Mux(ent.host, Const(c, 8) << nb | ent.source, ent.axon))]
            # The packet is registered before it enters the mesh: the entry RAM, the destination
            # lookup and a router FIFO on the far side of the chip do not fit one clock period.
            # A second register catches the packet the table offers while the first one waits,
            # so the table's ready is a register too (no path from the mesh's FIFO levels into
            # the table's entry address) and a packet still enters every cycle.
            pkt = Signal.like(inj.payload, name=f"inject{c}")
            pkt_valid = Signal(name=f"inject{c}_valid")
            skid = Signal.like(inj.payload, name=f"inject{c}_skid")
            skid_valid = Signal(name=f"inject{c}_skid_valid")
            held += [pkt_valid, skid_valid]
            m.d.comb += [inj.payload.eq(pkt), inj.valid.eq(pkt_valid),
                         table.o.ready.eq(~skid_valid)]
            take = table.o.valid & ~skid_valid
            with m.If(~pkt_valid | inj.ready):
                with m.If(skid_valid):
                    m.d.sync += [pkt.eq(skid), skid_valid.eq(0)]
                with m.Elif(take):
                    m.d.sync += pkt.eq(new)
                m.d.sync += pkt_valid.eq(skid_valid | take)
            with m.Elif(take):
                m.d.sync += [skid.eq(new), skid_valid.eq(1)]
            # Packets to this core become events.
            ej = mesh.eject[node]
            m.d.comb += [core.events.payload.eq(ej.payload.index),
                         core.events.valid.eq(ej.valid), ej.ready.eq(core.events.ready)]

        # Host ingress: check the destination, then inject at the host port.
        bad_events = Signal(32)
        ev = self.events.payload
        # A host event is registered as it is taken, with its destination check and mesh
        # position: ``events.ready`` is a register, no path runs from the host link through
        # the check and back.  One event every other cycle is far above any host link's rate.
        # Commands wait until the register is empty, so that an event taken before a RUN
        # command belongs to the timestep that command runs.
        ev_q = Signal(self.events.payload.shape())
        ev_full = Signal()
        ev_ok = Signal()
        host_row = Signal(layout["row"].shape)
        host_col = Signal(layout["col"].shape)
        m.d.comb += self.events.ready.eq(~ev_full)
        with m.If(self.events.valid & ~ev_full):
            m.d.sync += [ev_q.eq(ev), ev_full.eq(1), ev_ok.eq(0)]
            with m.Switch(ev.core):
                for d, ccfg in enumerate(arr.cores):
                    r, col = arr.position(d)
                    with m.Case(d):
                        m.d.sync += [ev_ok.eq(below(ev.axon, ccfg.axons)),
                                     host_row.eq(r), host_col.eq(col)]
        running = Signal()
        m.d.comb += [
            mesh.host_in.payload.row.eq(host_row), mesh.host_in.payload.col.eq(host_col),
            mesh.host_in.payload.host.eq(0), mesh.host_in.payload.index.eq(ev_q.axon),
            mesh.host_in.valid.eq(ev_full & ev_ok & ~running),
        ]
        with m.If(ev_full & ~ev_ok):
            m.d.sync += [ev_full.eq(0), bad_events.eq(bad_events + 1)]
        with m.If(mesh.host_in.valid & mesh.host_in.ready):
            m.d.sync += ev_full.eq(0)

        # Host egress: unpack the source of host-bound packets into a register.  The mesh
        # sees it as ready only while it is empty, so no path runs from the consumer's ready
        # (the host link's depends on its valid) back into the mesh's arbiter; one spike
        # every other cycle is above any host link's rate.
        ho = mesh.host_out.payload
        out_valid = Signal()
        m.d.comb += [self.spikes.valid.eq(out_valid), mesh.host_out.ready.eq(~out_valid)]
        with m.If(self.spikes.ready):
            m.d.sync += out_valid.eq(0)
        with m.If(mesh.host_out.valid & ~out_valid):
            m.d.sync += [self.spikes.payload.core.eq(ho.index >> nb),
                         self.spikes.payload.neuron.eq(ho.index & ((1 << nb) - 1)),
                         out_valid.eq(1)]

        # Packets in flight: the mesh counts transfers in and out of it.
        in_flight = mesh.in_flight
        drained = Signal()
        m.d.comb += drained.eq(mesh.idle
                               & ~Cat(*(f.r_rdy for f in spike_fifos)).any()
                               & ~Cat(*(t.busy for t in tables)).any()
                               & ~Cat(*held).any())

        # Timestep controller.
        phase = [Signal(4, name=f"phase{c}") for c in range(n)]
        cur = Signal(4)
        remaining = Signal(32)
        # Both registered when a phase starts: a core's tick.valid is a register (each core's
        # configuration ready depends on it), and so is the phase's membership.
        members = Signal(n)    # cores of the current phase
        pending = Signal(n)    # ... whose tick is not yet taken
        done = Signal(n)       # cores whose sweep has finished
        max_phase = arr.phases - 1

        def start_phase(p):
            in_p = Cat(*(phase[c] == p for c in range(n)))
            return [cur.eq(p), members.eq(in_p), pending.eq(in_p), done.eq(0)]
        # running == (remaining != 0), kept as a register: host event injection and the
        # timestep controller depend on it.
        # A host event or spike still on its way: STATUS bit 1, and part of busy.
        in_transit = Signal()
        m.d.comb += in_transit.eq(ev_full | (in_flight != 0) | out_valid)
        m.d.comb += self.busy.eq(running | in_transit)
        for c in range(n):
            with m.If(cores[c].done):
                m.d.sync += done[c].eq(1)
        # drained is an AND over every core's FIFO, table and registers and the mesh, from all
        # over the die: the controller reads it registered.  SETTLE gives it the cycle that
        # costs, so DRAIN never reads a value from before the last tick's done.
        drained_q = Signal()
        m.d.sync += drained_q.eq(drained)
        # While the array is not running only a host event injected into the mesh undrains
        # it (cores spike only on ticks).  injected_q marks the cycle after an injection, in
        # which drained_q still shows the cycle before the event entered the mesh.  With it
        # the command sequencer reads the drain check from registers, not from all over the
        # die: a command never goes while an event is in the mesh, and waits at most one
        # cycle longer than with the unregistered check.
        injected_q = Signal()
        m.d.sync += injected_q.eq(mesh.host_in.valid & mesh.host_in.ready)
        # pending is non-zero only in TICK (set as a phase starts, cleared as its ticks are
        # taken, and TICK is left only once it is zero): the tick offered is the register
        # itself, with no decode of this controller's state in front of each core's ready.
        for c in range(n):
            m.d.comb += cores[c].tick.valid.eq(pending[c])
        with m.FSM(name="timestep"):
            with m.State("IDLE"):
                with m.If(running & drained_q):
                    m.d.sync += start_phase(0)
                    m.next = "TICK"
            with m.State("TICK"):
                for c in range(n):
                    with m.If(cores[c].tick.ready):
                        m.d.sync += pending[c].eq(0)
                with m.If((pending == 0) & ((done | ~members) == (1 << n) - 1)):
                    m.next = "SETTLE"
            with m.State("SETTLE"):
                m.next = "DRAIN"
            with m.State("DRAIN"):
                with m.If(drained_q):
                    m.d.sync += [members.eq(0), done.eq(0)]
                    with m.If(cur == max_phase):
                        m.d.sync += [remaining.eq(remaining - 1), running.eq(remaining != 1),
                                     self.timestep.eq(self.timestep + 1)]
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += start_phase(cur + 1)
                        m.next = "TICK"

        # Command decoder.
        # Commands are registered as they arrive: ``cmd.ready`` is a register, so no path runs
        # from the host link through this decoder and back.
        # The checks on its fields are registered beside it (one-hot of the array register
        # addressed, op, value range, core): the decoder below starts from flags, not from
        # comparators on the command.
        cmd = Signal(ArrayCommand)
        cmd_valid = Signal()
        m.d.comb += self.cmd.ready.eq(~cmd_valid)
        new = self.cmd.payload
        is_reg = {r: Signal(name=f"cmd_is_{r.name.lower()}") for r in ArrayReg}
        write, value_neg, value_big, value_zero = Signal(), Signal(), Signal(), Signal()
        core_ok = Signal()
        with m.If(self.cmd.valid & self.cmd.ready):
            m.d.sync += [cmd.eq(new), cmd_valid.eq(1), write.eq(new.cmd.op == Op.WRITE),
                         value_neg.eq(new.cmd.data < 0),
                         value_big.eq(new.cmd.data > max_phase),
                         value_zero.eq(new.cmd.data == 0),
                         core_ok.eq(below(new.core, n))]
            m.d.sync += [flag.eq(new.cmd.addr == r) for r, flag in is_reg.items()]
        sel = Signal(range(max(n, 2)))
        m.d.comb += sel.eq(cmd.core)
        rsp_status = Signal(Status)
        rsp_data = Signal(32)
        # The forwarded command's valid, one bit a destination (core c: bit 2c, its routing
        # table: bit 2c + 1), a register: a routing table's spike input waits on it.
        fwd_to = Signal(2 * n)
        rsp_q = Signal(self.rsp.payload.shape())
        rsp_full = Signal()
        fwd_core = Signal.like(sel)
        fwd_routes = Signal()
        fwd_cmd = Signal(Command)
        start_clear = Signal()
        clearing = Signal()
        for c in range(n):
            for k, port in enumerate((cores[c].cfg, tables[c].cfg)):
                m.d.comb += [port.payload.eq(fwd_cmd), port.valid.eq(fwd_to[2 * c + k])]
        # Each core's and routing table's response is taken into a register of its own, beside
        # it (ready is that register's empty flag): the sequencer below and the CLEAR
        # sequencers start from registers, not from a core's response logic across the die.
        got = [[Signal(name=f"rsp{c}_{k}_full") for k in range(2)] for c in range(n)]
        got_q = [[Signal(self.rsp.payload.shape(), name=f"rsp{c}_{k}")
                  for k in range(2)] for c in range(n)]
        for c in range(n):
            for k, port in enumerate((cores[c].rsp, tables[c].rsp)):
                m.d.comb += port.ready.eq(~got[c][k])
                with m.If(port.valid & ~got[c][k]):
                    m.d.sync += [got[c][k].eq(1), got_q[c][k].eq(port.payload)]
        with m.FSM(name="command"):
            with m.State("IDLE"):
                with m.If(cmd_valid & ~ev_full):
                    with m.If(cmd.target == Target.ARRAY):
                        m.d.sync += cmd_valid.eq(0)
                        m.d.sync += [rsp_status.eq(Status.OK), rsp_data.eq(0)]
                        value = cmd.cmd.data
                        with m.If(is_reg[ArrayReg.RUN]):
                            with m.If(write):
                                with m.If(value_neg | running):
                                    m.d.sync += rsp_status.eq(Status.BAD_VALUE)
                                with m.Else():
                                    m.d.sync += [remaining.eq(value), running.eq(~value_zero)]
                            with m.Else():
                                m.d.sync += rsp_data.eq(remaining)
                        with m.Elif(is_reg[ArrayReg.TIMESTEP]):
                            with m.If(write):
                                m.d.sync += self.timestep.eq(value)
                            with m.Else():
                                m.d.sync += rsp_data.eq(self.timestep)
                        with m.Elif(is_reg[ArrayReg.STATUS]):
                            m.d.sync += rsp_data.eq(Cat(running, in_transit))
                        with m.Elif(is_reg[ArrayReg.CLEAR]):
                            with m.If(~write):
                                m.d.sync += rsp_data.eq(clearing)
                            with m.Elif(running):
                                m.d.sync += rsp_status.eq(Status.BAD_VALUE)
                            with m.Else():
                                m.d.sync += start_clear.eq(1)
                        with m.Elif(is_reg[ArrayReg.BAD_EVENTS]):
                            with m.If(write):
                                m.d.sync += bad_events.eq(value)
                            with m.Else():
                                m.d.sync += rsp_data.eq(bad_events)
                        with m.Elif(is_reg[ArrayReg.PHASE]):
                            with m.If(~core_ok):
                                m.d.sync += rsp_status.eq(Status.BAD_ADDR)
                            with m.Elif(write & (value_neg | value_big | running)):
                                m.d.sync += rsp_status.eq(Status.BAD_VALUE)
                            with m.Else():
                                with m.Switch(sel):
                                    for c in range(n):
                                        with m.Case(c):
                                            with m.If(write):
                                                m.d.sync += phase[c].eq(value)
                                            with m.Else():
                                                m.d.sync += rsp_data.eq(phase[c])
                        with m.Else():
                            m.d.sync += rsp_status.eq(Status.BAD_ADDR)
                        m.next = "RESPOND"
                    with m.Elif(~core_ok | (cmd.target.as_value() == 3)):
                        m.d.sync += cmd_valid.eq(0)
                        m.d.sync += [rsp_status.eq(Status.BAD_ADDR), rsp_data.eq(0)]
                        m.next = "RESPOND"
                    with m.Elif(~running & drained_q & ~injected_q & ~clearing):
                        # Hand the command to the forwarding register, which offers it to
                        # the core's or the routing table's configuration bus: no path runs
                        # from this decoder's conditions into a core's decoder.
                        m.d.sync += cmd_valid.eq(0)
                        to_routes = cmd.target == Target.ROUTES
                        m.d.sync += [fwd_core.eq(sel), fwd_routes.eq(to_routes),
                                     fwd_cmd.eq(cmd.cmd),
                                     fwd_to.eq(Const(1, 2 * n) << Cat(to_routes, sel))]
                        m.next = "FORWARD"
            with m.State("FORWARD"):
                # Each destination's valid bit drops after the cycle its ready takes the
                # command: a path from one core's ready to its own bit, not through this
                # sequencer's state.  The response, which comes only after the take, ends
                # the command.
                for c in range(n):
                    for k, port in enumerate((cores[c].cfg, tables[c].cfg)):
                        with m.If(port.ready):
                            m.d.sync += fwd_to[2 * c + k].eq(0)
                with m.Switch(fwd_core):
                    for c in range(n):
                        with m.Case(c):
                            for k, is_src in enumerate((~fwd_routes, fwd_routes)):
                                with m.If(is_src & got[c][k] & ~rsp_full):
                                    m.d.sync += [rsp_full.eq(1), rsp_q.eq(got_q[c][k]),
                                                 got[c][k].eq(0)]
                                    m.next = "IDLE"
            with m.State("RESPOND"):
                # A CLEAR command is answered once every core is cleared.
                with m.If(~rsp_full & ~clearing & ~start_clear):
                    m.d.sync += [rsp_full.eq(1), rsp_q.status.eq(rsp_status),
                                 rsp_q.data.eq(rsp_data)]
                    m.next = "IDLE"
        # Responses leave from a register: the host's ready reaches that register alone, not
        # this sequencer nor a core's.
        m.d.comb += [self.rsp.valid.eq(rsp_full), self.rsp.payload.eq(rsp_q)]
        with m.If(rsp_full & self.rsp.ready):
            m.d.sync += rsp_full.eq(0)
        self._clear_sequencers(m, cores, [g[0] for g in got], start_clear, clearing)
        return m

    def _clear_sequencers(self, m, cores, got, start, clearing):
        """Zero every neuron's state and every counter through each core's config bus
        (``got[c]``: core ``c``'s response register is full)."""
        busy = []
        for c, (core, ccfg) in enumerate(zip(cores, self._cfg.cores)):
            fields = [StateField.MEMBRANE, StateField.ACC]
            if ccfg.cuba:
                fields.append(StateField.CURRENT)
            if ccfg.refractory_bits:
                fields.append(StateField.REFRACTORY)
            items = [(Space.STATE, f * ccfg.neurons, ccfg.neurons) for f in fields]
            items.append((Space.COUNTER, 0, len(Counter)))
            item = Signal(range(len(items) + 1), name=f"clear{c}_item")
            offset = Signal(range(ccfg.neurons + len(Counter)), name=f"clear{c}_offset")
            # The command offered comes from registers (the address counts up beside the
            # offset), not through an adder and a multiplexer.
            space = Signal(Space, name=f"clear{c}_space")
            addr = Signal(range(max(b + n for _, b, n in items)), name=f"clear{c}_addr")
            active = Signal(name=f"clear{c}_active")
            waiting = Signal(name=f"clear{c}_waiting")    # a write was taken; await its response
            busy.append(active)
            with m.If(start):
                m.d.sync += [active.eq(1), waiting.eq(0), item.eq(0), offset.eq(0),
                             space.eq(items[0][0]), addr.eq(items[0][1])]
            with m.If(active & ~waiting):
                m.d.comb += [core.cfg.valid.eq(1),
                             core.cfg.payload.op.eq(Op.WRITE), core.cfg.payload.data.eq(0),
                             core.cfg.payload.space.eq(space), core.cfg.payload.addr.eq(addr)]
                with m.If(core.cfg.ready):
                    m.d.sync += waiting.eq(1)
            with m.If(active & waiting):
                with m.If(got[c]):
                    m.d.sync += [waiting.eq(0), got[c].eq(0)]
                    with m.Switch(item):
                        for i, (_, _, count) in enumerate(items):
                            with m.Case(i):
                                with m.If(offset == count - 1):
                                    m.d.sync += [offset.eq(0), item.eq(i + 1)]
                                    if i == len(items) - 1:
                                        m.d.sync += active.eq(0)
                                    else:
                                        m.d.sync += [space.eq(items[i + 1][0]),
                                                     addr.eq(items[i + 1][1])]
                                with m.Else():
                                    m.d.sync += [offset.eq(offset + 1), addr.eq(addr + 1)]
        m.d.comb += clearing.eq(Cat(*busy).any())
        with m.If(start):
            m.d.sync += start.eq(0)

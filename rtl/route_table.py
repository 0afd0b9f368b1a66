"""Per-core routing table: one spike in, its fan-out entries out.

A spike of neuron ``n`` looks up ``pointer[n] = (start, count)`` and emits the ``count`` entries
``entry[start] .. entry[start + count - 1]`` in order, one per cycle while ``o.ready`` is high.
A neuron with ``count = 0`` emits nothing.  Both tables are written and read back at run time
through a configuration stream with the word formats of :mod:`.array_bus`
(``pack_route_pointer``, ``pack_route_entry``), and stored at the widths the array needs
(:meth:`RouteTable.stored_layouts`): every value a write may carry fits them, since a write
out of range is refused.  Where they live (block or distributed RAM) is the array's choice
(:mod:`.placement`).
"""

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from ..golden_model.config import ArrayConfig, CoreConfig
from .array_bus import CORE_BITS, INDEX_BITS, ROUTE_POINTER
from .cfgbus import Command, Op, Response, Status
from .checks import below, refuse

__all__ = ["RouteEntry", "RouteTable"]


class RouteEntry(data.Struct):
    """One fan-out target: an axon of a core, or the host output."""
    axon: unsigned(INDEX_BITS)
    core: unsigned(CORE_BITS)
    host: unsigned(1)


class _Pointer(data.Struct):
    start: unsigned(16)
    count: unsigned(16)


class RouteTable(wiring.Component):
    """Routing table of one core.

    Parameters
    ----------
    array : ArrayConfig
        The array; its ``routes_per_core`` sizes the entry table and its cores bound the
        entries that may be written.
    core : int
        Index of the core this table belongs to (its neuron count sizes the pointer table).
    pointer_ram, entry_ram : str
        Yosys ``ram_style`` of the pointer and the entry table: ``"block"`` (default) or
        ``"distributed"``.

    Members
    -------
    i : In(stream.Signature(neuron index))
        Spikes of the core.
    o : Out(stream.Signature(RouteTable.output_layout(...)))
        Fan-out entries in table order, each with ``source``, the spiking neuron.
    cfg : In(stream.Signature(Command))
        ``addr = ROUTE_POINTER | neuron`` reads/writes a pointer (``start | count << 16``),
        ``addr < routes_per_core`` an entry (``axon | core << 16 | host << 24``).  A pointer
        whose range leaves the table, an entry naming a core that does not exist or an axon
        beyond that core's axons, or an address out of range is refused (``BAD_VALUE`` /
        ``BAD_ADDR``) and changes nothing.  Commands are taken while no spike is in flight.
    rsp : Out(stream.Signature(Response))
    busy : Out(1)
        A spike is being expanded.
    """

    def __init__(self, array, core, *, pointer_ram="block", entry_ram="block"):
        if not isinstance(array, ArrayConfig):
            refuse(self, TypeError(f"array: expected an ArrayConfig, got {array!r}"))
        if not 0 <= core < array.n_cores:
            refuse(self, ValueError(f"core: expected an integer in [0, {array.n_cores - 1}], "
                                    f"got {core}"))
        for name, style in (("pointer_ram", pointer_ram), ("entry_ram", entry_ram)):
            if style not in ("block", "distributed"):
                refuse(self, ValueError(f"{name}: expected 'block' or 'distributed', "
                                        f"got {style!r}"))
        self._array, self._core = array, core
        self._styles = (pointer_ram, entry_ram)
        cfg: CoreConfig = array.cores[core]
        super().__init__({
            "i": In(stream.Signature(unsigned(cfg.neuron_bits))),
            "o": Out(stream.Signature(self.output_layout(cfg))),
            "cfg": In(stream.Signature(Command)),
            "rsp": Out(stream.Signature(Response)),
            "busy": Out(1),
        })

    @staticmethod
    def stored_layouts(array, core):
        """Return the ``(pointer, entry)`` layouts the tables of ``core`` store: ``start`` and
        ``count`` wide enough for ``0 .. routes_per_core``, ``axon`` for the widest core's
        axons, ``core`` for the core indices."""
        depth = array.routes_per_core
        axons = max(c.axons for c in array.cores)
        ptr = data.StructLayout({"start": unsigned(depth.bit_length()),
                                 "count": unsigned(depth.bit_length())})
        ent = data.StructLayout({"axon": unsigned(max(1, (axons - 1).bit_length())),
                                 "core": unsigned(max(1, (array.n_cores - 1).bit_length())),
                                 "host": unsigned(1)})
        return ptr, ent

    @staticmethod
    def output_layout(cfg):
        """Return the layout of an output entry for a core with :class:`CoreConfig` ``cfg``."""
        return data.StructLayout({"axon": unsigned(INDEX_BITS), "core": unsigned(CORE_BITS),
                                  "host": unsigned(1), "source": unsigned(cfg.neuron_bits)})

    def elaborate(self, platform):
        m = Module()
        arr, cfg = self._array, self._array.cores[self._core]
        depth = arr.routes_per_core
        ptr_layout, ent_layout = self.stored_layouts(arr, self._core)
        # A read meets a write of the same word only in a write command's cycle, whose read
        # data is not answered: no_rw_check spares the block RAM the logic (an address
        # comparator and a bypass) that would make that read return the old word.
        m.submodules.ptr = ptr = memory.Memory(
            shape=ptr_layout, depth=cfg.neurons, init=[],
            attrs={"ram_style": self._styles[0], "no_rw_check": True})
        m.submodules.ent = ent = memory.Memory(
            shape=ent_layout, depth=depth, init=[],
            attrs={"ram_style": self._styles[1], "no_rw_check": True})
        ptr_r, ptr_w = ptr.read_port(), ptr.write_port()
        ent_r, ent_w = ent.read_port(), ent.write_port()

        # The pointer word goes from the block RAM's output into a register of its own, in
        # every cycle: no enable and no multiplexer in front of it, because a block RAM output
        # is slow to leave (ECP5: 5.83 ns clock-to-out, then the way to wherever the placer
        # found a free block).  cur and left, which EMIT also counts, load from that register.
        ptr_q = Signal(ptr_layout)
        m.d.sync += ptr_q.eq(ptr_r.data)
        cur = Signal(range(depth))          # entry on ent_r.data (being offered on o)
        left = Signal(range(depth + 1))     # entries of this spike not yet taken, cur's included
        source = Signal(cfg.neuron_bits)    # the spike being expanded
        m.d.comb += [self.o.payload.axon.eq(ent_r.data.axon),
                     self.o.payload.core.eq(ent_r.data.core),
                     self.o.payload.host.eq(ent_r.data.host),
                     self.o.payload.source.eq(source)]

        # A config command is registered as it is taken, checked in the next cycle (state
        # CHECK) and executed in the one after (COMMAND).  The register follows the payload in
        # every idle cycle (its enable is the state alone) and the checks start from it, not
        # from the payload: the payload is one register of the array's, broadcast to every
        # table, and checks computed from it would be one circuit that Yosys shares between
        # the tables, across the die.
        cmd = Signal(Command)
        is_ptr = cmd.addr[31]
        index = cmd.addr[:31]
        value = cmd.data.as_unsigned()
        w_ptr = _Pointer(value)
        w_ent = RouteEntry(value[:25])

        def checks(c):
            """Address and value checks of command ``c``: pointer index, entry index, pointer
            value, entry value."""
            idx, val = c.addr[:31], c.data.as_unsigned()
            p, e = _Pointer(val), RouteEntry(val[:25])
            # The core field names an existing core; host entries carry core 0 and axon 0.
            axon_limit = Signal(INDEX_BITS + 1)
            with m.Switch(e.core):
                for k, cc in enumerate(arr.cores):
                    with m.Case(k):
                        m.d.comb += axon_limit.eq(cc.axons)
            return (below(idx, cfg.neurons), below(idx, depth),
                    (p.start + p.count) <= depth,
                    (val[25:] == 0) & (
                        ((e.host == 1) & (e.core == 0) & (e.axon == 0))
                        | ((e.host == 0) & (e.core < arr.n_cores) & (e.axon < axon_limit))))

        ptr_ok, ent_ok, ptr_val_ok, ent_val_ok = flags = [
            Signal(name=x) for x in ("ptr_ok", "ent_ok", "ptr_val_ok", "ent_val_ok")]
        checked = checks(cmd)

        # Read-back words in the wire formats, widened from the stored fields.
        ptr_word, ent_word = Signal(_Pointer), Signal(RouteEntry)
        m.d.comb += [ptr_word.start.eq(ptr_r.data.start), ptr_word.count.eq(ptr_r.data.count),
                     ent_word.axon.eq(ent_r.data.axon), ent_word.core.eq(ent_r.data.core),
                     ent_word.host.eq(ent_r.data.host)]

        rsp_status = Signal(Status)
        rsp_read = Signal()
        rsp_data = Signal(32)

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.i.ready.eq(~self.cfg.valid)
                m.d.sync += cmd.eq(self.cfg.payload)
                with m.If(self.cfg.valid):
                    m.d.comb += self.cfg.ready.eq(1)
                    m.next = "CHECK"
                with m.Elif(self.i.valid):     # the spike is taken here
                    m.d.comb += ptr_r.addr.eq(self.i.payload)
                    m.d.sync += source.eq(self.i.payload)
                    m.next = "POINTER"
            with m.State("CHECK"):
                m.d.sync += [f.eq(x) for f, x in zip(flags, checked)]
                m.next = "COMMAND"
            with m.State("COMMAND"):
                m.d.sync += rsp_read.eq(cmd.op == Op.READ)
                with m.If(is_ptr):
                    m.d.comb += ptr_r.addr.eq(index)
                    with m.If(~ptr_ok):
                        m.d.sync += rsp_status.eq(Status.BAD_ADDR)
                    with m.Elif((cmd.op == Op.WRITE) & ~ptr_val_ok):
                        m.d.sync += rsp_status.eq(Status.BAD_VALUE)
                    with m.Else():
                        m.d.sync += rsp_status.eq(Status.OK)
                        # In range (checked), so the narrower fields hold it.
                        m.d.comb += [ptr_w.addr.eq(index),
                                     ptr_w.data.start.eq(w_ptr.start),
                                     ptr_w.data.count.eq(w_ptr.count),
                                     ptr_w.en.eq(cmd.op == Op.WRITE)]
                    m.next = "READ_PTR"
                with m.Else():
                    m.d.comb += ent_r.addr.eq(index)
                    with m.If(~ent_ok):
                        m.d.sync += rsp_status.eq(Status.BAD_ADDR)
                    with m.Elif((cmd.op == Op.WRITE) & ~ent_val_ok):
                        m.d.sync += rsp_status.eq(Status.BAD_VALUE)
                    with m.Else():
                        m.d.sync += rsp_status.eq(Status.OK)
                        m.d.comb += [ent_w.addr.eq(index),
                                     ent_w.data.axon.eq(w_ent.axon),
                                     ent_w.data.core.eq(w_ent.core),
                                     ent_w.data.host.eq(w_ent.host),
                                     ent_w.en.eq(cmd.op == Op.WRITE)]
                    m.next = "READ_ENT"
            # The word read is registered before it is answered: a block RAM output is slow to
            # leave (ECP5), and the response crosses the array to the host link.
            for state, word in (("READ_PTR", ptr_word), ("READ_ENT", ent_word)):
                with m.State(state):
                    m.d.sync += rsp_data.eq(Mux(rsp_read & (rsp_status == Status.OK),
                                                word.as_value(), 0))
                    m.next = "RESPOND"
            with m.State("RESPOND"):
                m.d.comb += [self.rsp.valid.eq(1), self.rsp.payload.status.eq(rsp_status),
                             self.rsp.payload.data.eq(rsp_data)]
                with m.If(self.rsp.ready):
                    m.next = "IDLE"
            with m.State("POINTER"):
                # ptr_r.data is the spiking neuron's pointer, on its way into ptr_q.
                m.d.comb += self.busy.eq(1)
                m.next = "ENTRY"
            with m.State("ENTRY"):
                # Read the first entry, or end a spike that has none.
                m.d.comb += [self.busy.eq(1), ent_r.addr.eq(ptr_q.start)]
                m.d.sync += [cur.eq(ptr_q.start), left.eq(ptr_q.count)]
                with m.If(ptr_q.count == 0):
                    m.next = "IDLE"
                with m.Else():
                    m.next = "EMIT"
            with m.State("EMIT"):
                # ent_r.data holds entry cur (EMIT is entered only with count != 0); hold the
                # read address until it is taken.
                m.d.comb += [self.busy.eq(1), self.o.valid.eq(1)]
                with m.If(self.o.ready):
                    m.d.comb += ent_r.addr.eq(cur + 1)
                    m.d.sync += [cur.eq(cur + 1), left.eq(left - 1)]
                    with m.If(left == 1):
                        m.next = "IDLE"
                with m.Else():
                    m.d.comb += ent_r.addr.eq(cur)
        return m

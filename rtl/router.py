"""One router of the AER mesh: five input streams, five output streams, XY routing.

Ports are named by direction: ``i_north``, ``i_south``, ``i_east``, ``i_west``, ``i_local`` (in)
and ``o_north`` ... ``o_local`` (out); :data:`PORTS` lists the direction names in port-number
order.  Row 0 is the north edge, column 0 the west edge.

Routing is dimension-ordered (XY: column first, then row).  A core-bound packet for router
``(row, col)`` goes east or west until its column matches, then south or north until its row
matches, then out of ``o_local``.  A host-bound packet (``host = 1``) heads for router ``(0, 0)``
the same way and leaves it by ``o_west``, the host egress; host ingress enters ``(0, 0)`` by
``i_west`` like any other packet.

Microarchitecture: every live input has a :class:`~amaranth.lib.fifo.SyncFIFOBuffered` of
``fifo_depth`` entries (block RAM plus an output register); every live output has a one-packet
output register fed by a round-robin arbiter over the inputs whose head packet wants it.  An
output register loads when it is empty or being drained, so each output moves one packet per
cycle, ``valid`` comes from a register (it never waits for ``ready``) and the payload stays put
until the transfer.  A packet takes three cycles per hop when nothing is in its way.

Ports that lead off the mesh (the north inputs and outputs of row 0, except the host port at
``(0, 0)`` west, and so on) are inert: their ``ready`` and ``valid`` are held low and they have
no FIFO.  XY routing never sends a packet there as long as every destination lies inside the
mesh; a packet that would has ``misroute`` raised while it waits at the head of its FIFO (the
mesh tests and the formal proofs check that it never rises).
"""

import enum

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..golden_model.checks import ConfigError, check_int

__all__ = ["Port", "PORTS", "Router", "ref_route"]


class Port(enum.IntEnum):
    NORTH = 0
    SOUTH = 1
    EAST = 2
    WEST = 3
    LOCAL = 4


#: Direction names in port-number order; ``i_<name>`` and ``o_<name>`` are the ports.
PORTS = tuple(p.name.lower() for p in Port)


def ref_route(rows, cols, row, col, packet):
    """Return the :class:`Port` by which router ``(row, col)`` sends ``packet`` (a field dict).

    The software model of the routing function; the hardware implements the same table.
    """
    if packet["host"]:
        drow, dcol = 0, 0
    else:
        drow, dcol = packet["row"], packet["col"]
    if dcol > col:
        return Port.EAST
    if dcol < col:
        return Port.WEST
    if drow > row:
        return Port.SOUTH
    if drow < row:
        return Port.NORTH
    return Port.WEST if packet["host"] else Port.LOCAL


def live_ports(rows, cols, row, col):
    """Return the set of :class:`Port` that lead somewhere for router ``(row, col)``."""
    live = {Port.LOCAL}
    if row > 0:
        live.add(Port.NORTH)
    if row < rows - 1:
        live.add(Port.SOUTH)
    if col < cols - 1:
        live.add(Port.EAST)
    if col > 0 or row == 0:
        live.add(Port.WEST)     # at (0, 0) the west port is the host port
    return frozenset(live)


class Router(wiring.Component):
    """XY router with input FIFOs and round-robin output arbitration.

    Parameters
    ----------
    layout : StructLayout
        The packet layout (see :func:`spikeforge.rtl.aer.fabric_layout`).
    rows, cols : int
        Mesh shape, 1 to 8 each, within what the layout's ``row``/``col`` fields address.
    row, col : int
        Position of this router.
    fifo_depth : int
        Entries per input FIFO, 2 to 4096.
    fifo_factory : callable or None
        Builds each input FIFO as ``fifo_factory(width=..., depth=fifo_depth)``; ``None`` (the
        default, and the only choice for hardware) gives
        :class:`~amaranth.lib.fifo.SyncFIFOBuffered`.  A hook for formal proofs, which swap in an
        abstract FIFO (its proven contract); it must offer the same ``w_*``/``r_*`` ports and
        ``level``.

    Members
    -------
    i_north, i_south, i_east, i_west, i_local : In(stream.Signature(layout))
        Inputs; an inert port (off the mesh) keeps ``ready`` low.
    o_north, o_south, o_east, o_west, o_local : Out(stream.Signature(layout))
        Outputs; an inert port keeps ``valid`` low.
    misroute : Out(1)
        A head-of-FIFO packet wants an inert port (its destination lies off the mesh).
    """

    def __init__(self, *, layout, rows, cols, row, col, fifo_depth=16, fifo_factory=None):
        try:
            self._check(layout, rows, cols, row, col, fifo_depth)
            if fifo_factory is not None and not callable(fifo_factory):
                raise ConfigError(f"fifo_factory: expected a callable or None, "
                                  f"not {fifo_factory!r}")
        except ConfigError:
            self._MustUse__silence = True      # never built: no "created but never used"
            raise
        self._rows, self._cols, self._row, self._col = rows, cols, row, col
        self._depth = fifo_depth
        self._layout = layout
        self._live = live_ports(rows, cols, row, col)
        members = {}
        for name in PORTS:
            members[f"i_{name}"] = In(stream.Signature(layout))
        for name in PORTS:
            members[f"o_{name}"] = Out(stream.Signature(layout))
        members["misroute"] = Out(1)
        super().__init__(members)
        # Created here so that formal harnesses can observe the FIFO levels.
        if fifo_factory is None:
            fifo_factory = fifo.SyncFIFOBuffered
        self.fifos = {p: fifo_factory(width=layout.size, depth=fifo_depth)
                      for p in Port if p in self._live}

    @staticmethod
    def _check(layout, rows, cols, row, col, fifo_depth):
        if not isinstance(layout, data.StructLayout) or \
                {n for n, _ in layout} != {"row", "col", "host", "index"}:
            raise ConfigError(f"layout: expected a packet StructLayout, got {layout!r}")
        check_int("rows", rows, 1, 8)
        check_int("cols", cols, 1, 8)
        if rows > 1 << layout["row"].shape.width or cols > 1 << layout["col"].shape.width:
            raise ConfigError(f"layout: row/col fields too narrow for a {rows}x{cols} mesh, "
                              f"got {layout!r}")
        check_int("row", row, 0, rows - 1)
        check_int("col", col, 0, cols - 1)
        check_int("fifo_depth", fifo_depth, 2, 4096)

    layout = property(lambda self: self._layout)
    position = property(lambda self: (self._row, self._col))
    fifo_depth = property(lambda self: self._depth)
    live = property(lambda self: self._live)

    def input(self, port):
        return getattr(self, f"i_{Port(port).name.lower()}")

    def output(self, port):
        return getattr(self, f"o_{Port(port).name.lower()}")

    @property
    def capacity(self):
        """Packets the router can hold: its FIFOs plus its output registers."""
        return len(self.fifos) * self._depth + len(self._live)

    def route(self, m, packet):
        """Return a one-hot ``Signal(5)`` naming the output that ``packet`` (a View) wants."""
        row, col = self._row, self._col
        host = packet.host
        dcol = Mux(host, 0, packet.col)
        drow = Mux(host, 0, packet.row)
        want = Signal(len(Port))
        same_col = dcol == col
        m.d.comb += [
            want[Port.EAST].eq(dcol > col),
            want[Port.WEST].eq((dcol < col) | (host & same_col & (drow == row))),
            want[Port.SOUTH].eq(same_col & (drow > row)),
            want[Port.NORTH].eq(same_col & (drow < row)),
            want[Port.LOCAL].eq(~host & same_col & (drow == row)),
        ]
        return want

    def elaborate(self, platform):
        m = Module()
        live_in = [p for p in Port if p in self._live]
        heads, wants = {}, {}
        for p in Port:
            i = self.input(p)
            if p not in self._live:
                m.d.comb += i.ready.eq(0)
                continue
            q = m.submodules[f"fifo_{p.name.lower()}"] = self.fifos[p]
            m.d.comb += [
                q.w_data.eq(i.payload),
                q.w_en.eq(i.valid),
                i.ready.eq(q.w_rdy),
            ]
            heads[p] = data.View(self._layout, q.r_data)
            wants[p] = Mux(q.r_rdy, self.route(m, heads[p]), 0)

        pops = {p: [] for p in live_in}
        misroute = []
        for o in Port:
            out = self.output(o)
            req = {p: wants[p][o] for p in live_in}
            if o not in self._live:
                m.d.comb += out.valid.eq(0)
                misroute.extend(req.values())
                continue
            # Round robin: after granting input g, inputs g+1, g+2, ... have priority.
            last = Signal(range(len(Port)), name=f"last_{o.name.lower()}")
            grant = Signal(range(len(Port)), name=f"grant_{o.name.lower()}")
            any_req = Signal(name=f"req_{o.name.lower()}")
            m.d.comb += any_req.eq(_any(req.values()))
            # `last` only ever holds a live input; the final case is the default so that
            # every value of the register grants a requester (robust, and k-induction closes).
            with m.Switch(last):
                for n, g in enumerate(live_in):
                    with (m.Case(g) if n < len(live_in) - 1 else m.Default()):
                        order = [Port((g + k) % len(Port)) for k in range(1, len(Port) + 1)]
                        for p in reversed(order):
                            if p in req:
                                with m.If(req[p]):
                                    m.d.comb += grant.eq(p)
            load = Signal(name=f"load_{o.name.lower()}")
            m.d.comb += load.eq(any_req & (~out.valid | out.ready))
            with m.If(load):
                m.d.sync += [
                    last.eq(grant),
                    out.valid.eq(1),
                    out.payload.eq(_select(grant, {p: self.fifos[p].r_data for p in req})),
                ]
            with m.Elif(out.ready):
                m.d.sync += out.valid.eq(0)
            for p in req:
                pops[p].append(load & (grant == p))
        for p in live_in:
            m.d.comb += self.fifos[p].r_en.eq(_any(pops[p]))
        m.d.comb += self.misroute.eq(_any(misroute))
        return m


def _select(index, values):
    """Return ``values[index]`` as a mux chain (``values`` maps ints to same-width values)."""
    keys = list(values)
    result = values[keys[-1]]
    for k in reversed(keys[:-1]):
        result = Mux(index == k, values[k], result)
    return result


def _any(bits):
    """Return the OR of ``bits`` (0 for none)."""
    bits = list(bits)
    return Cat(*bits).any() if bits else Const(0, 1)

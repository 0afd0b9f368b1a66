"""The AER fabric: a ``rows`` x ``cols`` mesh of XY routers with one local port per node.

Node ``n`` sits at row ``n // cols``, column ``n % cols`` (the core numbering of
:class:`~spikeforge.golden_model.ArrayConfig`).  ``inject[n]`` feeds router ``n``'s local input,
``eject[n]`` carries its local output; ``host_in`` and ``host_out`` are the west input and
output of router ``(0, 0)``.

Counting events in flight: ``entered`` is the number of transfers on ``inject`` and
``host_in`` in the current cycle, ``left`` the number on ``eject`` and ``host_out``; a
controller that adds ``entered - left`` every cycle knows exactly how many packets are inside
the fabric.  ``in_flight`` is that running count, kept here (registered: it includes the
current cycle's transfers from the next cycle on), and ``idle`` is ``in_flight == 0``.
"""

from amaranth import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..golden_model.checks import ConfigError
from .router import Port, Router

__all__ = ["Mesh"]


class Mesh(wiring.Component):
    """A mesh of :class:`~spikeforge.rtl.router.Router` with local, host and counting ports.

    Parameters
    ----------
    rows, cols : int
        Mesh shape, 1 to 8 each.
    layout : StructLayout
        The packet layout (:func:`spikeforge.rtl.aer.fabric_layout` or ``packet_layout``).
    fifo_depth : int
        Entries per router input FIFO, 2 to 4096.  On iCE40 and ECP5 a FIFO takes the same
        block RAMs from 2 to 256 entries; 16 buys most of the throughput (see the fabric bench).
    fifo_factory : callable or None
        Passed to every :class:`~spikeforge.rtl.router.Router` (e.g. a
        :class:`~spikeforge.rtl.memory.StyledFIFO` with the placement's ``ram_style``).

    Members
    -------
    inject : In(stream.Signature(layout)).array(rows * cols)
        Packets into node ``n``'s router.  Every destination must lie inside the mesh.
    eject : Out(stream.Signature(layout)).array(rows * cols)
        Packets for node ``n``.
    host_in : In(stream.Signature(layout))
        Packets from the host, entering router ``(0, 0)`` from the west.
    host_out : Out(stream.Signature(layout))
        Host-bound packets, leaving router ``(0, 0)`` to the west.
    entered, left : Out(range(rows * cols + 2))
        Transfers into and out of the fabric in this cycle.
    in_flight : Out(range(capacity + 1))
        Packets inside the fabric (running sum of ``entered - left``).
    idle : Out(1)
        ``in_flight == 0``.
    misroute : Out(1)
        A packet waits for a port that leads off the mesh; never high when every injected
        destination is inside the mesh.
    """

    def __init__(self, rows, cols, layout, fifo_depth=16, fifo_factory=None):
        try:
            Router._check(layout, rows, cols, 0, 0, fifo_depth)
        except ConfigError:
            self._MustUse__silence = True      # never built: no "created but never used"
            raise
        self._rows, self._cols, self._depth, self._layout = rows, cols, fifo_depth, layout
        self.routers = [[Router(layout=layout, rows=rows, cols=cols, row=r, col=c,
                                fifo_depth=fifo_depth, fifo_factory=fifo_factory)
                         for c in range(cols)]
                        for r in range(rows)]
        nodes = rows * cols
        capacity = sum(rt.capacity for line in self.routers for rt in line)
        self._capacity = capacity
        super().__init__({
            "inject": In(stream.Signature(layout)).array(nodes),
            "eject": Out(stream.Signature(layout)).array(nodes),
            "host_in": In(stream.Signature(layout)),
            "host_out": Out(stream.Signature(layout)),
            "entered": Out(range(nodes + 2)),
            "left": Out(range(nodes + 2)),
            "in_flight": Out(range(capacity + 1)),
            "idle": Out(1),
            "misroute": Out(1),
        })

    rows = property(lambda self: self._rows)
    cols = property(lambda self: self._cols)
    layout = property(lambda self: self._layout)
    fifo_depth = property(lambda self: self._depth)

    @property
    def capacity(self):
        """Most packets the fabric can hold (every FIFO and output register full)."""
        return self._capacity

    def elaborate(self, platform):
        m = Module()
        rows, cols = self._rows, self._cols
        for r in range(rows):
            for c in range(cols):
                rt = m.submodules[f"router_{r}_{c}"] = self.routers[r][c]
                n = r * cols + c
                wiring.connect(m, wiring.flipped(self.inject[n]), rt.i_local)
                wiring.connect(m, rt.o_local, wiring.flipped(self.eject[n]))
                if c + 1 < cols:
                    east = self.routers[r][c + 1]
                    wiring.connect(m, rt.o_east, east.i_west)
                    wiring.connect(m, east.o_west, rt.i_east)
                if r + 1 < rows:
                    south = self.routers[r + 1][c]
                    wiring.connect(m, rt.o_south, south.i_north)
                    wiring.connect(m, south.o_north, rt.i_south)
                # Ports off the mesh are inert inside the router; drive their other side.
                for p in Port:
                    if p in rt.live or p is Port.LOCAL:
                        continue
                    m.d.comb += [rt.input(p).valid.eq(0), rt.output(p).ready.eq(0)]
        home = self.routers[0][0]
        wiring.connect(m, wiring.flipped(self.host_in), home.i_west)
        wiring.connect(m, home.o_west, wiring.flipped(self.host_out))

        ins = [s.valid & s.ready for s in (*self.inject, self.host_in)]
        outs = [s.valid & s.ready for s in (*self.eject, self.host_out)]
        m.d.comb += [
            self.entered.eq(sum(ins)),
            self.left.eq(sum(outs)),
            self.idle.eq(self.in_flight == 0),
            self.misroute.eq(Cat(rt.misroute for line in self.routers for rt in line).any()),
        ]
        m.d.sync += self.in_flight.eq(self.in_flight + self.entered - self.left)
        return m

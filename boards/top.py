"""The board top level: clocking (a PLL on the oscillator), the board's UART pins ->
:class:`UARTHostLink` -> an array."""

from amaranth import Elaboratable, Module, Signal, signed
from amaranth.lib import io, stream, wiring
from amaranth.lib.wiring import In, Out

from ..rtl import cfgbus
from ..rtl.array_bus import ArrayCommand, ArrayReg, HostEvent, HostSpike, Target
from ..rtl.hostlink import UARTHostLink
from ..rtl.uart import uart_divisor
from .clocking import clocking_for

__all__ = ["BoardTop", "LinkCheckArray"]


class LinkCheckArray(wiring.Component):
    """A stand-in array for bringing up a board's host link before the real array exists.

    It answers every command: ``ArrayReg.RUN`` writes (a timestep passes at once),
    ``TIMESTEP`` reads and writes, ``STATUS`` reads (0) and ``CLEAR`` writes succeed; every
    other address is ``BAD_ADDR``.  Events are taken and dropped; it never spikes.
    """

    cmd: In(stream.Signature(ArrayCommand))
    rsp: Out(stream.Signature(cfgbus.Response))
    events: In(stream.Signature(HostEvent))
    spikes: Out(stream.Signature(HostSpike))
    busy: Out(1)

    def elaborate(self, platform):
        m = Module()
        timestep = Signal(32)
        status = Signal(2)
        rdata = Signal(signed(32))
        c = self.cmd.payload
        write = c.cmd.op == cfgbus.Op.WRITE
        m.d.comb += self.events.ready.eq(1)
        with m.If(self.rsp.ready):
            m.d.sync += self.rsp.valid.eq(0)
        m.d.comb += [self.cmd.ready.eq(~self.rsp.valid),
                     self.rsp.payload.status.as_value().eq(status),
                     self.rsp.payload.data.eq(rdata)]
        with m.If(self.cmd.valid & self.cmd.ready):
            m.d.sync += [self.rsp.valid.eq(1), status.eq(cfgbus.Status.BAD_ADDR.value),
                         rdata.eq(0)]
            with m.If(c.target == Target.ARRAY):
                with m.Switch(c.cmd.addr):
                    with m.Case(ArrayReg.RUN):
                        with m.If(write):
                            m.d.sync += [status.eq(0), timestep.eq(timestep + 1)]
                    with m.Case(ArrayReg.TIMESTEP):
                        m.d.sync += status.eq(0)
                        with m.If(write):
                            m.d.sync += timestep.eq(c.cmd.data)
                        with m.Else():
                            m.d.sync += rdata.eq(timestep)
                    with m.Case(ArrayReg.STATUS):
                        with m.If(~write):
                            m.d.sync += status.eq(0)
                    with m.Case(ArrayReg.CLEAR):
                        with m.If(write):
                            m.d.sync += status.eq(0)
        return m


class BoardTop(Elaboratable):
    """Everything a bitstream holds: the clocking, the host link on the board's UART and an
    array.

    Parameters
    ----------
    board : Board
    array : Component or None
        Anything with the host streams ``cmd``, ``rsp``, ``events``, ``spikes`` and ``busy``
        of :mod:`spikeforge.rtl.array_bus` (a ``NeuromorphicArray``); ``None`` builds a
        :class:`LinkCheckArray`.
    baud : int or None
        Host link bit rate; ``None`` takes the board's default.
    clock_mhz : float or None
        The rate ``sync`` runs at (``None``: the board's :attr:`~Board.clock_mhz`).  Unless it
        is the oscillator's, a PLL makes it (the closest rate at or below).
    timing_mhz : float or None
        The rate place and route is timed for (``None``: the board's ``target_mhz``); never
        below the clock.

    Attributes
    ----------
    pll : ICE40PLL, ECP5PLL or None
        The PLL settings (``None``: ``sync`` runs from the oscillator).
    clock_hz : float
        The rate ``sync`` runs at; the UART divisor is computed from it.
    timing_mhz : float
        The rate the ``sync`` clock is constrained at: ``max(timing_mhz, clock)``.
    """

    def __init__(self, board, array=None, *, baud=None, clock_mhz=None, timing_mhz=None):
        self.board = board
        self.array = array
        self.baud = baud or board.baud
        try:
            self.pll = board.pll(clock_mhz)
            self.clock_hz = board.clock_hz(clock_mhz)
            uart_divisor(self.clock_hz, self.baud)  # a clock the UART cannot use fails here
        except ValueError:
            self._MustUse__silence = True           # never built: no "unused" warning
            raise
        self.timing_mhz = max(timing_mhz or board.target_mhz or 0, self.clock_hz / 1e6)

    def elaborate(self, platform):
        m = Module()
        if self.pll is not None:
            # Constrained at the timing rate, so the reported Fmax measures the gateware
            # against the target even when the clock is lower.
            m.submodules.clocking = clocking = clocking_for(
                self.pll, constraint_hz=self.timing_mhz * 1e6)
            clocking.domain(m)
        # Without a PLL the platform makes ``sync`` from the oscillator (Board.build then
        # constrains the oscillator at the timing rate).
        name, number = self.board.uart
        pins = platform.request(name, number, dir="-")
        m.submodules.tx_buffer = tx = io.Buffer("o", pins.tx)
        m.submodules.rx_buffer = rx = io.Buffer("i", pins.rx)
        # The rate sync really runs at, never the (higher) timing constraint.
        link = UARTHostLink(clk_freq=self.clock_hz, baud=self.baud)
        array = self.array if self.array is not None else LinkCheckArray()
        m.submodules.link, m.submodules.array = link, array
        m.d.comb += [tx.o.eq(link.tx), link.rx.eq(rx.i), link.busy.eq(array.busy)]
        wiring.connect(m, link.cmd, array.cmd)
        wiring.connect(m, array.rsp, link.rsp)
        wiring.connect(m, link.events, array.events)
        wiring.connect(m, array.spikes, link.spikes)
        return m

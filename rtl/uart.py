"""An 8N1 UART: one start bit, eight data bits (least significant first), one stop bit.

The bit period is ``divisor = round(clk_freq / baud)`` clock cycles.  The receiver
synchronizes its pin, finds the falling edge of the start bit, and decides every bit by a
three-sample majority vote at the bit centre (so a one-cycle glitch never flips a bit); a start
bit that does not hold low to its centre is taken as a glitch and ignored.  A stop bit that
reads low is a framing error: the byte is dropped and ``frame_error`` pulses.  A byte that
arrives while the previous one has not been taken is dropped and ``overrun`` pulses.

:func:`uart_divisor` checks that the clock can produce the baud rate: at least 4 cycles per bit
and at most 2 % rate error (8N1 tolerates about 4 % across both ends).
"""

from amaranth import Module, Signal, Cat
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["uart_divisor", "UARTTx", "UARTRx", "UART"]


def uart_divisor(clk_freq, baud):
    """Return the clock cycles per bit for ``baud`` at ``clk_freq``, or raise ``ValueError``."""
    if not (isinstance(clk_freq, (int, float)) and clk_freq > 0):
        raise ValueError(f"clk_freq: expected a positive frequency in Hz, not {clk_freq!r}")
    if not (isinstance(baud, (int, float)) and baud > 0):
        raise ValueError(f"baud: expected a positive rate in bit/s, not {baud!r}")
    divisor = round(clk_freq / baud)
    if divisor < 4:
        raise ValueError(f"baud: {baud} at clk_freq {clk_freq} gives {clk_freq / baud:.2f} "
                         f"cycles per bit; expected at least 4")
    error = abs(clk_freq / divisor - baud) / baud
    if error > 0.02:
        raise ValueError(f"baud: {baud} at clk_freq {clk_freq} is off by {error:.1%} with "
                         f"divisor {divisor}; expected at most 2 %")
    return divisor


class UARTTx(wiring.Component):
    """8N1 transmitter.

    Members
    -------
    i : In(stream.Signature(8))
        Bytes to send; one is taken whenever the transmitter is idle.
    tx : Out(1)
        The serial line, idle high.
    """

    i: In(stream.Signature(8))
    tx: Out(1, init=1)

    def __init__(self, *, divisor):
        if not (isinstance(divisor, int) and divisor >= 4):
            raise ValueError(f"divisor: expected an integer >= 4, not {divisor!r}")
        self._divisor = divisor
        super().__init__()

    @property
    def divisor(self):
        return self._divisor

    def elaborate(self, platform):
        m = Module()
        shreg = Signal(10, init=0x3FF)       # stop, data[7:0], start; shifted out LSB first
        bits = Signal(range(11))
        timer = Signal(range(self._divisor))

        m.d.comb += [self.tx.eq(shreg[0]), self.i.ready.eq(bits == 0)]
        with m.If(bits == 0):
            with m.If(self.i.valid):
                m.d.sync += [shreg.eq(Cat(0, self.i.payload, 1)), bits.eq(10),
                             timer.eq(self._divisor - 1)]
        with m.Elif(timer == 0):
            m.d.sync += [shreg.eq(Cat(shreg[1:], 1)), bits.eq(bits - 1),
                         timer.eq(self._divisor - 1)]
        with m.Else():
            m.d.sync += timer.eq(timer - 1)
        return m


class UARTRx(wiring.Component):
    """8N1 receiver with a three-sample majority vote per bit.

    Members
    -------
    rx : In(1)
        The serial line (asynchronous to the clock; synchronized here).
    o : Out(stream.Signature(8))
        Received bytes; ``valid`` stays high until the byte is taken.
    frame_error, overrun : Out(1)
        One-cycle pulses: a stop bit read low, or a byte arrived while ``o`` was still full.
    """

    rx: In(1, init=1)
    o: Out(stream.Signature(8))
    frame_error: Out(1)
    overrun: Out(1)

    def __init__(self, *, divisor):
        if not (isinstance(divisor, int) and divisor >= 4):
            raise ValueError(f"divisor: expected an integer >= 4, not {divisor!r}")
        self._divisor = divisor
        super().__init__()

    @property
    def divisor(self):
        return self._divisor

    def elaborate(self, platform):
        m = Module()
        d = self._divisor
        rx = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, rx, init=1)
        hist = Signal(3, init=0b111)          # the last three samples; the vote is centred
        m.d.sync += hist.eq(Cat(rx, hist[:2]))  # one cycle behind the timer's zero
        vote = Signal()
        m.d.comb += vote.eq((hist[0] & hist[1]) | (hist[0] & hist[2]) | (hist[1] & hist[2]))

        timer = Signal(range(d))
        bits = Signal(range(8))
        shreg = Signal(8)
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    # Half a bit plus the vote's one-cycle lag puts the vote at the centre.
                    m.d.sync += timer.eq(d // 2)
                    m.next = "START"
            with m.State("START"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    with m.If(vote):
                        m.next = "IDLE"           # a glitch, not a start bit
                    with m.Else():
                        m.d.sync += [timer.eq(d - 1), bits.eq(0)]
                        m.next = "DATA"
            with m.State("DATA"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [shreg.eq(Cat(shreg[1:], vote)), timer.eq(d - 1),
                                 bits.eq(bits + 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    with m.If(~vote):
                        m.d.comb += self.frame_error.eq(1)
                    with m.Elif(self.o.valid & ~self.o.ready):
                        m.d.comb += self.overrun.eq(1)
                    with m.Else():
                        m.d.sync += [self.o.payload.eq(shreg), self.o.valid.eq(1)]
                    m.next = "IDLE"
        return m


class UART(wiring.Component):
    """A transmitter and a receiver sharing one bit rate.

    Parameters
    ----------
    clk_freq : float
        Clock frequency in Hz.
    baud : int
        Bit rate; see :func:`uart_divisor` for what a clock admits.

    Members
    -------
    tx : Out(1), rx : In(1)
        The pins (``rx`` is synchronized inside).
    i : In(stream.Signature(8))
        Bytes to send.
    o : Out(stream.Signature(8))
        Bytes received.
    frame_error, overrun : Out(1)
        Receiver error pulses.
    """

    tx: Out(1, init=1)
    rx: In(1, init=1)
    i: In(stream.Signature(8))
    o: Out(stream.Signature(8))
    frame_error: Out(1)
    overrun: Out(1)

    def __init__(self, *, clk_freq, baud):
        self._divisor = uart_divisor(clk_freq, baud)
        self._clk_freq, self._baud = clk_freq, baud
        super().__init__()

    @property
    def divisor(self):
        return self._divisor

    def elaborate(self, platform):
        m = Module()
        m.submodules.tx = tx = UARTTx(divisor=self._divisor)
        m.submodules.rx = rx = UARTRx(divisor=self._divisor)
        wiring.connect(m, wiring.flipped(self.i), tx.i)
        wiring.connect(m, rx.o, wiring.flipped(self.o))
        m.d.comb += [self.tx.eq(tx.tx), rx.rx.eq(self.rx),
                     self.frame_error.eq(rx.frame_error), self.overrun.eq(rx.overrun)]
        return m

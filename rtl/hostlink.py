"""The host link: framed packets over a UART between a host computer and a
:class:`NeuromorphicArray` (its four host streams of :mod:`.array_bus`).

Frame format
============

Every frame, in both directions, is::

    SYNC  TYPE  LEN  PAYLOAD[LEN]  CRC_HI  CRC_LO

* ``SYNC`` is :data:`SYNC_HOST` (``0xA5``) from the host and :data:`SYNC_DEVICE` (``0x5A``)
  from the device; between frames the device discards every byte that is not ``SYNC_HOST``.
* ``LEN`` is 0 to :data:`MAX_PAYLOAD` (64).
* ``CRC`` is CRC-16/IBM-3740 (a.k.a. CRC-16/CCITT-FALSE: polynomial 0x1021, initial value
  0xFFFF, no reflection, no final XOR; ``amaranth.lib.crc.catalog.CRC16_IBM_3740``) over
  ``TYPE LEN PAYLOAD``, sent most significant byte first.  :func:`spikeforge.host.crc16` is the
  same function in Python.
* Every multi-byte field is big-endian.  Values are signed 32-bit unless stated otherwise.

The device buffers a whole frame and checks it before it acts.  A frame whose CRC does not
match, or that stops for more than ``timeout`` (truncated), or that is longer than
``MAX_PAYLOAD``, or has an unknown ``TYPE``, a length that does not fit its type or an argument
out of range (a target above 2, an op above 1, a space above 3, a width not 1, 2 or 4) gets an
``ERROR`` reply and changes nothing.  Every frame gets exactly one reply (``RUN`` gets its
``SPIKES`` frames, then one ``DONE``).  The host sends the next frame only after the reply.

Host to device
--------------

=====  ============  =====================================================  ==================
TYPE   name          payload                                                 reply
=====  ============  =====================================================  ==================
0x00   PING          (none)                                                  INFO
0x01   CMD           target core op space addr[4] data[4]  (12 bytes)        RSP (data, status)
0x02   WRITE_BLOCK   target core width space addr[4] value[width] x n        RSP (n written)
0x03   READ_BLOCK    target core width space addr[4] count                   DATA
0x04   EVENTS        (core axon[2]) x n, n = 1..21                            RSP (n)
0x05   RUN           timesteps[4]                                            SPIKES..., DONE
0x06   COUNTERS      core                                                    COUNTERS
0x07   CLEAR         (none)                                                  RSP
=====  ============  =====================================================  ==================

``CMD`` is one :class:`~.array_bus.ArrayCommand`: ``target`` (:class:`~.array_bus.Target`),
``core``, ``op`` (:class:`~.cfgbus.Op`), ``space`` (:class:`~.cfgbus.Space`), ``addr``,
``data``; this reaches weights, the bias row, state, parameters, counters (``Target.CORE``),
routing tables (``Target.ROUTES``) and the array registers (``Target.ARRAY``: RUN, TIMESTEP,
STATUS, CLEAR, PHASE).  ``WRITE_BLOCK`` writes ``n = (LEN - 8) / width`` consecutive addresses
from ``addr``, each value signed and ``width`` bytes wide (1, 2 or 4); it stops at the first
command the array refuses and reports how many it wrote.  ``READ_BLOCK`` reads ``count``
consecutive addresses (1 to 63, 31 or 15 for widths 1, 2, 4), each value truncated to
``width`` bytes.  ``EVENTS`` delivers input events into the open timestep.  ``RUN`` runs the
timesteps one at a time (``ArrayReg.RUN`` = 1, then reads ``ArrayReg.STATUS`` until it is 0),
so every spike carries the index of its timestep within the run.  ``COUNTERS`` reads a core's
five counters (:class:`~.cfgbus.Counter`).  ``CLEAR`` writes ``ArrayReg.CLEAR``.

Device to host
--------------

=====  ========  ============================================================================
TYPE   name      payload
=====  ========  ============================================================================
0x80   INFO      magic[4] = ``b"SPKF"``, version, MAX_PAYLOAD
0x81   RSP       data[4] status   (``status`` is a :class:`~.cfgbus.Status`)
0x82   DATA      value[width] x k, status  (k < count when a read is refused: the status says why)
0x83   SPIKES    (core neuron[2] dt) x n, n = 1..16; ``dt`` = timestep within the run mod 256
0x84   DONE      timesteps_run[4] status  (status of the first refused RUN write, or OK)
0x85   COUNTERS  events[4] sops[4] spikes[4] dropped[4] ticks[4] status
0xFF   ERROR     code (:class:`ErrorCode`), the offending TYPE (0 if it never arrived)
=====  ========  ============================================================================

Array contract: after a write of ``ArrayReg.RUN`` is answered, ``STATUS`` reads non-zero until
the timestep has finished and every one of its host spikes has been offered on ``spikes``.
Spikes are taken only while a ``RUN`` frame is being executed (``spikes.ready`` is low
otherwise).
"""

import enum as py_enum

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.crc import catalog
from amaranth.lib.crc import Processor as CRCProcessor
from amaranth.lib.wiring import In, Out

from . import cfgbus
from .array_bus import ArrayCommand, ArrayReg, HostEvent, HostSpike, Target
from .uart import UART

__all__ = ["SYNC_HOST", "SYNC_DEVICE", "MAX_PAYLOAD", "MAGIC", "VERSION", "CRC_ALGORITHM",
           "FrameType", "ReplyType", "ErrorCode", "HostLink", "UARTHostLink"]

SYNC_HOST = 0xA5
SYNC_DEVICE = 0x5A
MAX_PAYLOAD = 64
MAGIC = b"SPKF"
VERSION = 1
CRC_ALGORITHM = catalog.CRC16_IBM_3740
MAX_EVENTS_PER_FRAME = MAX_PAYLOAD // 3
MAX_SPIKES_PER_FRAME = MAX_PAYLOAD // 4


class FrameType(py_enum.IntEnum):
    PING = 0x00
    CMD = 0x01
    WRITE_BLOCK = 0x02
    READ_BLOCK = 0x03
    EVENTS = 0x04
    RUN = 0x05
    COUNTERS = 0x06
    CLEAR = 0x07


class ReplyType(py_enum.IntEnum):
    INFO = 0x80
    RSP = 0x81
    DATA = 0x82
    SPIKES = 0x83
    DONE = 0x84
    COUNTERS = 0x85
    ERROR = 0xFF


class ErrorCode(py_enum.IntEnum):
    BAD_CRC = 1
    TIMEOUT = 2       # the frame stopped before its end (truncated)
    UNKNOWN = 3       # no such frame type
    BAD_LENGTH = 4    # LEN does not fit the type, or exceeds MAX_PAYLOAD
    BAD_ARG = 5       # a field out of range (target, op, space, width, count)
    LINE = 6          # a UART framing error or overrun inside the frame


def max_block_count(width):
    """Return the most values a ``READ_BLOCK`` of ``width`` bytes may ask for."""
    return (MAX_PAYLOAD - 1) // width


class _FrameRx(wiring.Component):
    """Receive one frame into the payload memory and check it; hold it until ``ack``."""

    i: In(stream.Signature(8))
    line_error: In(1)
    valid: Out(1)
    type: Out(8)
    len: Out(8)
    error: Out(3)      # ErrorCode, 0 if the frame is good
    ack: In(1)

    def __init__(self, *, timeout, wport):
        self._timeout = timeout
        self._wport = wport        # the payload memory's write port
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.crc = crc = CRCProcessor(CRC_ALGORITHM(8))
        wp = self._wport
        idx = Signal(8)
        timer = Signal(range(self._timeout + 1))
        line = Signal()            # a UART error since SYNC
        byte = self.i.payload
        got = self.i.valid & self.i.ready
        m.d.comb += [crc.data.eq(byte), wp.addr.eq(idx), wp.data.eq(byte)]

        in_frame = Signal()
        # Inside a frame every byte goes into the CRC and restarts the timer.
        with m.If(in_frame):
            m.d.comb += crc.valid.eq(got)
            m.d.sync += timer.eq(Mux(got, 0, timer + 1))
        with m.Else():
            m.d.sync += timer.eq(0)

        def silence(m):   # a frame that stops for ``timeout`` cycles is truncated
            with m.If(~got & (timer == self._timeout)):
                m.next = "TRUNCATED"

        with m.FSM():
            with m.State("HUNT"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid & (byte == SYNC_HOST)):
                    m.d.comb += crc.start.eq(1)
                    m.d.sync += [line.eq(0), self.type.eq(0), self.len.eq(0),
                                 self.error.eq(0), idx.eq(0)]
                    m.next = "TYPE"
            with m.State("TYPE"):
                m.d.comb += [self.i.ready.eq(1), in_frame.eq(1)]
                silence(m)
                with m.If(got):
                    m.d.sync += self.type.eq(byte)
                    m.next = "LEN"
            with m.State("LEN"):
                m.d.comb += [self.i.ready.eq(1), in_frame.eq(1)]
                silence(m)
                with m.If(got):
                    m.d.sync += self.len.eq(byte)
                    m.next = "PAYLOAD"
                    with m.If(byte == 0):
                        m.next = "CRC_HI"
            with m.State("PAYLOAD"):
                m.d.comb += [self.i.ready.eq(1), in_frame.eq(1)]
                silence(m)
                with m.If(got):
                    m.d.comb += wp.en.eq(idx < MAX_PAYLOAD)   # longer frames: BAD_LENGTH
                    m.d.sync += idx.eq(idx + 1)
                    with m.If(idx == self.len - 1):
                        m.next = "CRC_HI"
            with m.State("CRC_HI"):
                m.d.comb += [self.i.ready.eq(1), in_frame.eq(1)]
                silence(m)
                with m.If(got):
                    m.next = "CRC_LO"
            with m.State("CRC_LO"):
                m.d.comb += [self.i.ready.eq(1), in_frame.eq(1)]
                silence(m)
                with m.If(got):
                    m.next = "CHECK"
            with m.State("CHECK"):          # the CRC register settles one cycle after the byte
                with m.If(line):
                    m.d.sync += self.error.eq(ErrorCode.LINE)
                with m.Elif(~crc.match_detected):
                    m.d.sync += self.error.eq(ErrorCode.BAD_CRC)
                with m.Elif(self.len > MAX_PAYLOAD):
                    m.d.sync += self.error.eq(ErrorCode.BAD_LENGTH)
                m.next = "DONE"
            with m.State("TRUNCATED"):
                m.d.sync += self.error.eq(ErrorCode.TIMEOUT)
                m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.valid.eq(1)
                with m.If(self.ack):
                    m.next = "HUNT"
        with m.If(self.line_error):
            m.d.sync += line.eq(1)
        return m


class _FrameTx(wiring.Component):
    """Send one frame whose payload lies in the reply memory (big-endian 32-bit words)."""

    o: Out(stream.Signature(8))
    start: In(1)
    type: In(8)
    len: In(7)
    busy: Out(1)

    def __init__(self, *, rport):
        self._rport = rport        # the reply memory's read port
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.crc = crc = CRCProcessor(CRC_ALGORITHM(8))
        rp = self._rport
        ftype = Signal(8)
        flen = Signal(7)
        idx = Signal(7)
        m.d.comb += [rp.addr.eq(idx[2:]), crc.data.eq(self.o.payload)]
        feed = Signal()
        m.d.comb += crc.valid.eq(feed & self.o.valid & self.o.ready)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [ftype.eq(self.type), flen.eq(self.len), idx.eq(0)]
                    m.d.comb += crc.start.eq(1)
                    m.next = "SYNC"
            with m.State("SYNC"):
                m.d.comb += [self.busy.eq(1), self.o.payload.eq(SYNC_DEVICE),
                             self.o.valid.eq(1)]
                with m.If(self.o.ready):
                    m.next = "TYPE"
            with m.State("TYPE"):
                m.d.comb += [self.busy.eq(1), self.o.payload.eq(ftype), self.o.valid.eq(1),
                             feed.eq(1)]
                with m.If(self.o.ready):
                    m.next = "LEN"
            with m.State("LEN"):
                m.d.comb += [self.busy.eq(1), self.o.payload.eq(flen), self.o.valid.eq(1),
                             feed.eq(1)]
                with m.If(self.o.ready):
                    m.next = "FETCH"
                    with m.If(flen == 0):
                        m.next = "CRC_HI"
            with m.State("FETCH"):      # the read port has one cycle of latency
                m.d.comb += self.busy.eq(1)
                m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                m.d.comb += [self.busy.eq(1), self.o.payload.eq(rp.data.word_select(~idx[:2], 8)),
                             self.o.valid.eq(1), feed.eq(1)]
                with m.If(self.o.ready):
                    m.d.sync += idx.eq(idx + 1)
                    m.next = "FETCH"
                    with m.If(idx == flen - 1):
                        m.next = "CRC_HI"
            with m.State("CRC_HI"):
                m.d.comb += [self.busy.eq(1), self.o.payload.eq(crc.crc[8:]), self.o.valid.eq(1)]
                with m.If(self.o.ready):
                    m.next = "CRC_LO"
            with m.State("CRC_LO"):
                m.d.comb += [self.busy.eq(1), self.o.payload.eq(crc.crc[:8]), self.o.valid.eq(1)]
                with m.If(self.o.ready):
                    m.next = "IDLE"
        return m


class HostLink(wiring.Component):
    """Execute host frames (see the module docstring) on an array's four host streams.

    Parameters
    ----------
    timeout : int
        Clock cycles without a byte after which a frame in progress is dropped as truncated
        (answered with ``ERROR TIMEOUT``).

    Members
    -------
    i : In(stream.Signature(8)), o : Out(stream.Signature(8))
        Bytes from and to the host (a UART, see :class:`UARTHostLink`).
    line_error : In(1)
        Pulse on a UART framing error or overrun; the frame in progress is refused.
    cmd, rsp, events, spikes, busy
        The array's host streams, flipped: connect them straight to a
        :class:`NeuromorphicArray`'s ``cmd``, ``rsp``, ``events``, ``spikes`` and ``busy``.
    """

    i: In(stream.Signature(8))
    o: Out(stream.Signature(8))
    line_error: In(1)
    cmd: Out(stream.Signature(ArrayCommand))
    rsp: In(stream.Signature(cfgbus.Response))
    events: Out(stream.Signature(HostEvent))
    spikes: In(stream.Signature(HostSpike))
    busy: In(1)

    def __init__(self, *, timeout):
        if not (isinstance(timeout, int) and timeout >= 16):
            raise ValueError(f"timeout: expected an integer number of cycles >= 16, "
                             f"not {timeout!r}")
        self._timeout = timeout
        super().__init__()

    @property
    def timeout(self):
        return self._timeout

    def elaborate(self, platform):
        m = Module()
        m.submodules.payload = pmem = memory.Memory(shape=8, depth=MAX_PAYLOAD, init=[])
        m.submodules.reply = rmem = memory.Memory(shape=32, depth=MAX_PAYLOAD // 4, init=[])
        m.submodules.frx = frx = _FrameRx(timeout=self._timeout, wport=pmem.write_port())
        m.submodules.ftx = ftx = _FrameTx(rport=rmem.read_port())
        prd = pmem.read_port()
        rwr = rmem.write_port(granularity=8)
        wiring.connect(m, wiring.flipped(self.i), frx.i)
        wiring.connect(m, ftx.o, wiring.flipped(self.o))
        m.d.comb += frx.line_error.eq(self.line_error)

        # Frame fields: the first 12 payload bytes, byte k at bits 95-8k .. 88-8k.
        hdr = Signal(96)

        def hbyte(k):
            return hdr[88 - 8 * k:96 - 8 * k]

        def hword(k):   # big-endian bytes k .. k+3
            return Cat(hbyte(k + 3), hbyte(k + 2), hbyte(k + 1), hbyte(k))

        f_target, f_core, f_wop, f_space = hbyte(0), hbyte(1), hbyte(2), hbyte(3)
        f_addr, f_data, f_count = hword(4), hword(8), hbyte(8)
        ftype, flen = frx.type, frx.len

        # Reply memory writes: ``put(offset, value, width)`` in one cycle (aligned offsets).
        put_en = Signal()
        put_off = Signal(7)
        put_val = Signal(32)
        put_w = Signal(3)      # 1, 2 or 4
        lane = put_off[:2]
        m.d.comb += rwr.addr.eq(put_off[2:])
        with m.If(put_w == 4):
            m.d.comb += [rwr.data.eq(put_val), rwr.en.eq(Const(0b1111, 4) & put_en.replicate(4))]
        with m.Elif(put_w == 2):
            m.d.comb += [rwr.data.eq(Cat(put_val[:16], put_val[:16])),
                         rwr.en.eq(Cat(lane[1] == 1, lane[1] == 1, lane[1] == 0, lane[1] == 0)
                                   & put_en.replicate(4))]
        with m.Else():
            m.d.comb += [rwr.data.eq(put_val[:8].replicate(4)),
                         rwr.en.eq(Cat(lane == 3, lane == 2, lane == 1, lane == 0)
                                   & put_en.replicate(4))]

        def put(off, val, width):
            return [put_en.eq(1), put_off.eq(off), put_val.eq(val), put_w.eq(width)]

        # Execution state.
        err_code = Signal(3)
        err_type = Signal(8)
        cnt = Signal(8)              # bytes still to fetch / values done
        idx = Signal(8)              # payload byte index
        val = Signal(32)             # fetched value, shifted in big-endian
        width = Signal(3)
        k = Signal(7)                # values or counters done
        rsp_type = Signal(8)
        rsp_val = Signal(32)
        rsp_status = Signal(2)
        send_type = Signal(8)
        send_len = Signal(7)
        st = Signal(2)               # status of the last response
        rdata = Signal(32)           # data of the last response
        steps = Signal(32)
        steps_done = Signal(32)
        running = Signal()
        sp_n = Signal(range(MAX_SPIKES_PER_FRAME + 1))
        after = Signal(4)            # what to do with a response (one of the constants below)
        A_SINGLE, A_WBLOCK, A_RBLOCK, A_COUNTER, A_RUN, A_POLL = range(6)

        # Byte offset of value ``k`` of a READ_BLOCK: shifts, not a multiplier (width 1, 2, 4).
        k_off = Signal(7)
        m.d.comb += k_off.eq(Mux(width == 1, k, Mux(width == 2, k << 1, k << 2)))

        cmdp = self.cmd.payload
        width_ok = (f_wop == 1) | (f_wop == 2) | (f_wop == 4)
        args_ok = (f_target <= 2) & (f_space <= 3)

        # Spike collection while running: into the reply memory, 4 bytes per spike.
        kick = Signal()
        with m.If(running & ~ftx.busy & ~kick & (sp_n < MAX_SPIKES_PER_FRAME) & ~put_en):
            m.d.comb += self.spikes.ready.eq(1)
        with m.If(self.spikes.valid & self.spikes.ready):
            m.d.comb += [rwr.addr.eq(sp_n), rwr.en.eq(0b1111),
                         rwr.data.eq(Cat(steps_done[:8], self.spikes.payload.neuron,
                                         self.spikes.payload.core))]
            m.d.sync += sp_n.eq(sp_n + 1)
        with m.If(running & (sp_n == MAX_SPIKES_PER_FRAME) & ~ftx.busy):
            m.d.comb += [kick.eq(1), ftx.start.eq(1), ftx.type.eq(ReplyType.SPIKES),
                         ftx.len.eq(4 * MAX_SPIKES_PER_FRAME)]
            m.d.sync += sp_n.eq(0)

        def raw(x):   # enum members and plain values alike, for the enum-typed fields
            return x.value if isinstance(x, py_enum.Enum) else x

        def issue(target, core, op, space, addr, data, then):
            return [cmdp.target.as_value().eq(raw(target)), cmdp.core.eq(core),
                    cmdp.cmd.op.as_value().eq(raw(op)), cmdp.cmd.space.as_value().eq(raw(space)),
                    cmdp.cmd.addr.eq(raw(addr)), cmdp.cmd.data.eq(raw(data)),
                    after.eq(then)]

        def reply_rsp(m, rtype, value, status):
            m.d.sync += [rsp_type.eq(rtype), rsp_val.eq(value), rsp_status.eq(status)]
            m.next = "RSP_DATA"

        def fail(m, code):
            m.d.sync += [err_code.eq(code), err_type.eq(ftype)]
            m.next = "ERROR"

        with m.FSM():
            with m.State("IDLE"):
                with m.If(frx.valid):
                    with m.If(frx.error != 0):
                        m.d.sync += [err_code.eq(frx.error), err_type.eq(frx.type)]
                        m.next = "ERROR"
                    with m.Else():
                        m.d.sync += [idx.eq(0), cnt.eq(12)]
                        m.next = "LOAD_A"

            # Read the first 12 payload bytes into ``hdr`` (bytes past LEN are stale, unused).
            with m.State("LOAD_A"):
                m.d.comb += prd.addr.eq(idx)
                m.next = "LOAD_B"
            with m.State("LOAD_B"):
                m.d.sync += [hdr.eq(Cat(prd.data, hdr[:-8])), idx.eq(idx + 1), cnt.eq(cnt - 1)]
                m.next = "LOAD_A"
                with m.If(cnt == 1):
                    m.next = "DISPATCH"

            with m.State("DISPATCH"):
                m.d.sync += [k.eq(0), width.eq(f_wop)]
                with m.Switch(ftype):
                    with m.Case(FrameType.PING):
                        with m.If(flen != 0):
                            fail(m, ErrorCode.BAD_LENGTH)
                        with m.Else():
                            m.next = "INFO"
                    with m.Case(FrameType.CMD):
                        with m.If(flen != 12):
                            fail(m, ErrorCode.BAD_LENGTH)
                        with m.Elif(~args_ok | (f_wop > 1)):
                            fail(m, ErrorCode.BAD_ARG)
                        with m.Else():
                            m.d.sync += issue(f_target, f_core, f_wop, f_space, f_addr, f_data,
                                              A_SINGLE)
                            m.next = "ISSUE"
                    with m.Case(FrameType.WRITE_BLOCK):
                        wlen = flen - 8
                        with m.If((flen <= 8) | (flen > MAX_PAYLOAD)):
                            fail(m, ErrorCode.BAD_LENGTH)
                        with m.Elif(~args_ok | ~width_ok):
                            fail(m, ErrorCode.BAD_ARG)
                        with m.Elif(((f_wop == 2) & wlen[0]) | ((f_wop == 4) & (wlen[:2] != 0))):
                            fail(m, ErrorCode.BAD_LENGTH)
                        with m.Else():
                            m.d.sync += [idx.eq(8), cnt.eq(f_wop), val.eq(0)]
                            m.next = "FETCH_A"
                    with m.Case(FrameType.READ_BLOCK):
                        limit = Signal(7)
                        m.d.comb += limit.eq(Mux(f_wop == 1, max_block_count(1),
                                                 Mux(f_wop == 2, max_block_count(2),
                                                     max_block_count(4))))
                        with m.If(flen != 9):
                            fail(m, ErrorCode.BAD_LENGTH)
                        with m.Elif(~args_ok | ~width_ok | (f_count == 0) | (f_count > limit)):
                            fail(m, ErrorCode.BAD_ARG)
                        with m.Else():
                            m.d.sync += issue(f_target, f_core, cfgbus.Op.READ, f_space, f_addr,
                                              0, A_RBLOCK)
                            m.next = "ISSUE"
                    with m.Case(FrameType.EVENTS):
                        with m.Switch(flen):
                            with m.Case(*range(3, 3 * MAX_EVENTS_PER_FRAME + 1, 3)):
                                m.d.sync += [idx.eq(0), cnt.eq(3), val.eq(0)]
                                m.next = "FETCH_A"
                            with m.Default():
                                fail(m, ErrorCode.BAD_LENGTH)
                    with m.Case(FrameType.RUN):
                        with m.If(flen != 4):
                            fail(m, ErrorCode.BAD_LENGTH)
                        with m.Else():
                            m.d.sync += [steps.eq(hword(0)), steps_done.eq(0), sp_n.eq(0),
                                         running.eq(1), rsp_status.eq(cfgbus.Status.OK)]
                            m.next = "RUN_NEXT"
                    with m.Case(FrameType.COUNTERS):
                        with m.If(flen != 1):
                            fail(m, ErrorCode.BAD_LENGTH)
                        with m.Else():
                            m.d.sync += [issue(Target.CORE, f_target, cfgbus.Op.READ,
                                               cfgbus.Space.COUNTER, 0, 0, A_COUNTER),
                                         rsp_status.eq(cfgbus.Status.OK)]
                            m.next = "ISSUE"
                    with m.Case(FrameType.CLEAR):
                        with m.If(flen != 0):
                            fail(m, ErrorCode.BAD_LENGTH)
                        with m.Else():
                            m.d.sync += issue(Target.ARRAY, 0, cfgbus.Op.WRITE, 0,
                                              ArrayReg.CLEAR, 1, A_SINGLE)
                            m.next = "ISSUE"
                    with m.Default():
                        fail(m, ErrorCode.UNKNOWN)

            # Fetch ``cnt`` payload bytes from ``idx`` into ``val`` (big-endian).
            with m.State("FETCH_A"):
                m.d.comb += prd.addr.eq(idx)
                m.next = "FETCH_B"
            with m.State("FETCH_B"):
                m.d.sync += [val.eq(Cat(prd.data, val[:-8])), idx.eq(idx + 1), cnt.eq(cnt - 1)]
                m.next = "FETCH_A"
                with m.If(cnt == 1):
                    m.next = "FETCHED"
            with m.State("FETCHED"):
                with m.If(ftype == FrameType.EVENTS):
                    m.next = "EVENT"
                with m.Else():
                    value = Signal(32)
                    with m.Switch(width):
                        with m.Case(1):
                            m.d.comb += value.eq(val[:8].as_signed())
                        with m.Case(2):
                            m.d.comb += value.eq(val[:16].as_signed())
                        with m.Default():
                            m.d.comb += value.eq(val)
                    m.d.sync += issue(f_target, f_core, cfgbus.Op.WRITE, f_space, f_addr + k,
                                      value, A_WBLOCK)
                    m.next = "ISSUE"
            with m.State("EVENT"):
                m.d.comb += [self.events.valid.eq(1),
                             self.events.payload.core.eq(val[16:24]),
                             self.events.payload.axon.eq(val[:16])]
                with m.If(self.events.ready):
                    m.d.sync += k.eq(k + 1)
                    with m.If(idx == flen):
                        reply_rsp(m, ReplyType.RSP, k + 1, cfgbus.Status.OK)
                    with m.Else():
                        m.d.sync += [cnt.eq(3), val.eq(0)]
                        m.next = "FETCH_A"

            # One array command and its response.
            with m.State("ISSUE"):
                m.d.comb += self.cmd.valid.eq(1)
                with m.If(self.cmd.ready):
                    m.next = "WAIT"
            with m.State("WAIT"):
                m.d.comb += self.rsp.ready.eq(1)
                with m.If(self.rsp.valid):
                    m.d.sync += [st.eq(self.rsp.payload.status), rdata.eq(self.rsp.payload.data)]
                    m.next = "RESPONSE"
            with m.State("RESPONSE"):
                ok = st == cfgbus.Status.OK
                with m.Switch(after):
                    with m.Case(A_SINGLE):
                        reply_rsp(m, ReplyType.RSP, rdata, st)
                    with m.Case(A_WBLOCK):
                        with m.If(~ok):
                            reply_rsp(m, ReplyType.RSP, k, st)
                        with m.Elif(idx == flen):
                            reply_rsp(m, ReplyType.RSP, k + 1, st)
                        with m.Else():
                            m.d.sync += [k.eq(k + 1), cnt.eq(width), val.eq(0)]
                            m.next = "FETCH_A"
                    with m.Case(A_RBLOCK):
                        off = k_off
                        with m.If(~ok):
                            m.d.comb += put(off, st, 1)
                            m.d.sync += [send_type.eq(ReplyType.DATA), send_len.eq(off + 1)]
                            m.next = "SEND"
                        with m.Else():
                            m.d.comb += put(off, rdata, width)
                            m.d.sync += [k.eq(k + 1), cmdp.cmd.addr.eq(f_addr + k + 1)]
                            m.next = "ISSUE"
                            with m.If(k + 1 == f_count):
                                m.next = "DATA_END"
                    with m.Case(A_COUNTER):
                        m.d.comb += put(k << 2, rdata, 4)
                        with m.If(~ok & (rsp_status == cfgbus.Status.OK)):
                            m.d.sync += rsp_status.eq(st)
                        m.d.sync += [k.eq(k + 1), cmdp.cmd.addr.eq(k + 1)]
                        m.next = "ISSUE"
                        with m.If(k == 4):
                            m.next = "COUNTERS_END"
                    with m.Case(A_RUN):
                        with m.If(~ok):
                            m.d.sync += rsp_status.eq(st)
                            m.next = "RUN_END"
                        with m.Else():
                            m.d.sync += issue(Target.ARRAY, 0, cfgbus.Op.READ, 0,
                                              ArrayReg.STATUS, 0, A_POLL)
                            m.next = "ISSUE"
                    with m.Case(A_POLL):
                        with m.If(ok & (rdata == 0)):
                            m.d.sync += steps_done.eq(steps_done + 1)
                            m.next = "RUN_NEXT"
                        with m.Elif(~ok):
                            m.d.sync += rsp_status.eq(st)
                            m.next = "RUN_END"
                        with m.Else():
                            m.next = "ISSUE"

            with m.State("DATA_END"):
                off = k_off
                m.d.comb += put(off, cfgbus.Status.OK, 1)
                m.d.sync += [send_type.eq(ReplyType.DATA), send_len.eq(off + 1)]
                m.next = "SEND"
            with m.State("COUNTERS_END"):
                m.d.comb += put(20, rsp_status, 1)
                m.d.sync += [send_type.eq(ReplyType.COUNTERS), send_len.eq(21)]
                m.next = "SEND"

            # RUN: one timestep at a time; spikes are collected in the background.
            with m.State("RUN_NEXT"):
                with m.If(steps_done == steps):
                    m.next = "RUN_END"
                with m.Else():
                    m.d.sync += issue(Target.ARRAY, 0, cfgbus.Op.WRITE, 0, ArrayReg.RUN, 1,
                                      A_RUN)
                    m.next = "ISSUE"
            with m.State("RUN_END"):
                # Stop taking spikes, then send what was collected and wait for the sender.
                m.d.sync += running.eq(0)
                with m.If(~running & ~ftx.busy):
                    with m.If(sp_n != 0):
                        m.d.comb += [ftx.start.eq(1), ftx.type.eq(ReplyType.SPIKES),
                                     ftx.len.eq(sp_n << 2)]
                        m.d.sync += sp_n.eq(0)
                    with m.Else():
                        reply_rsp(m, ReplyType.DONE, steps_done, rsp_status)

            with m.State("INFO"):
                m.d.comb += put(0, int.from_bytes(MAGIC, "big"), 4)
                m.next = "INFO_2"
            with m.State("INFO_2"):
                m.d.comb += put(4, VERSION << 24 | MAX_PAYLOAD << 16, 4)
                m.d.sync += [send_type.eq(ReplyType.INFO), send_len.eq(6)]
                m.next = "SEND"
            with m.State("ERROR"):
                m.d.comb += put(0, Cat(Const(0, 16), err_type, err_code, Const(0, 5)), 4)
                m.d.sync += [send_type.eq(ReplyType.ERROR), send_len.eq(2)]
                m.next = "SEND"
            with m.State("RSP_DATA"):
                m.d.comb += put(0, rsp_val, 4)
                m.next = "RSP_STATUS"
            with m.State("RSP_STATUS"):
                m.d.comb += put(4, rsp_status, 1)
                m.d.sync += [send_type.eq(rsp_type), send_len.eq(5)]
                m.next = "SEND"
            with m.State("SEND"):
                with m.If(~ftx.busy):
                    m.d.comb += [ftx.start.eq(1), ftx.type.eq(send_type), ftx.len.eq(send_len),
                                 frx.ack.eq(1)]
                    m.next = "SENDING"
            with m.State("SENDING"):
                with m.If(~ftx.busy):
                    m.next = "IDLE"
        return m


class UARTHostLink(wiring.Component):
    """A :class:`HostLink` behind a :class:`~.uart.UART`: the gateware a board top needs.

    Members
    -------
    tx : Out(1), rx : In(1)
        The UART pins.
    cmd, rsp, events, spikes, busy
        As :class:`HostLink`.
    """

    tx: Out(1, init=1)
    rx: In(1, init=1)
    cmd: Out(stream.Signature(ArrayCommand))
    rsp: In(stream.Signature(cfgbus.Response))
    events: Out(stream.Signature(HostEvent))
    spikes: In(stream.Signature(HostSpike))
    busy: In(1)

    def __init__(self, *, clk_freq, baud, timeout_s=0.05):
        self._uart = UART(clk_freq=clk_freq, baud=baud)
        self._timeout = max(16, int(clk_freq * timeout_s))
        self._clk_freq, self._baud = clk_freq, baud
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart = uart = self._uart
        m.submodules.link = link = HostLink(timeout=self._timeout)
        m.d.comb += [self.tx.eq(uart.tx), uart.rx.eq(self.rx),
                     link.line_error.eq(uart.frame_error | uart.overrun)]
        wiring.connect(m, uart.o, link.i)
        wiring.connect(m, link.o, uart.i)
        for name in ("cmd", "events"):
            wiring.connect(m, getattr(link, name), wiring.flipped(getattr(self, name)))
        for name in ("rsp", "spikes"):
            wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(link, name))
        m.d.comb += link.busy.eq(self.busy)
        return m


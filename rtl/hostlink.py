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

Microarchitecture
=================

Sized for an iCE40 UP5K beside a neuron core: byte-serial throughout, frames in block RAM.

* The receiver writes the payload into a 64-byte memory (each aligned big-endian value of
  ``addr``, ``data`` and ``WRITE_BLOCK`` byte-reversed, so it reads least significant byte
  first) and keeps only ``TYPE``, ``LEN``, payload bytes 0-3 and 8 in registers.  A checked
  frame is held until its reply is out; meanwhile a byte that arrives waits in the link's
  input register and the next in the UART (any more are overruns).
* The executor fetches ``addr`` and ``data`` a byte at a time into shift registers that drive
  the array command directly; ``addr`` increments byte-serially.  Responses are read while
  the array still offers them and written a byte a cycle into a 64-byte reply memory, as are
  spikes during ``RUN`` (a full ``SPIKES`` frame goes out at once).
* The transmitter sends ``SYNC TYPE LEN``, the reply memory and the CRC.  One CRC-16
  processor serves both directions.
"""

import contextlib
import enum as py_enum
import functools
import operator

from amaranth import Cat, Module, Mux, Signal
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
        ``rsp`` and ``spikes`` are read while ``valid`` is high, before they are taken (the
        stream rules keep a payload stable until its transfer).
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
        m.submodules.reply = rmem = memory.Memory(shape=8, depth=MAX_PAYLOAD, init=[])
        m.submodules.crc = crc = CRCProcessor(CRC_ALGORITHM(8))
        s = _Shared(pmem, rmem, crc)
        # One CRC serves both directions (a frame is received, then answered); its inputs are
        # registered, so it takes every byte a cycle after the byte's transfer.
        m.d.sync += [crc.start.eq(s.crc_start), crc.valid.eq(s.crc_valid),
                     crc.data.eq(s.crc_data)]
        self._receiver(m, s)
        self._transmitter(m, s)
        self._executor(m, s)
        return m

    def _receiver(self, m, s):
        """Receive a frame into the payload memory and check it; hold it until ``s.release``."""
        wp = s.pmem.write_port()
        timer = Signal(range(self._timeout + 1))
        line = Signal()            # a UART error since SYNC
        # A byte register in front (the UART is far slower than two cycles a byte) keeps the
        # SYNC comparison off the paths that follow it.
        byte = Signal(8)
        full = Signal()
        is_sync = Signal()
        take = Signal()            # the state below is ready for a byte
        got = full & take
        m.d.comb += self.i.ready.eq(~full)
        with m.If(self.i.valid & ~full):
            m.d.sync += [byte.eq(self.i.payload), full.eq(1),
                         is_sync.eq(self.i.payload == SYNC_HOST)]
        with m.If(got):
            m.d.sync += full.eq(0)
        in_frame = Signal()
        # Payload bytes are stored so that each big-endian value reads least significant byte
        # first at ascending addresses: a value of ``w`` bytes (w = 1, 2 or 4, aligned: ``addr``
        # and ``data`` of CMD, the values of WRITE_BLOCK) lands at ``idx ^ (w - 1)``.  EVENTS
        # frames are stored as they come.
        swap = Signal(2)
        with m.If(s.kind[FrameType.EVENTS]):
            m.d.comb += swap.eq(0)
        with m.Elif((s.idx >= 8) & s.kind[FrameType.WRITE_BLOCK]):
            m.d.comb += swap.eq(s.wlast)
        with m.Else():
            m.d.comb += swap.eq(3)
        m.d.comb += [wp.addr.eq(s.idx ^ swap), wp.data.eq(byte)]
        # Inside a frame every byte goes into the CRC and restarts the timer.
        with m.If(in_frame):
            m.d.comb += [s.crc_valid.eq(got), s.crc_data.eq(byte)]
        with m.If(~in_frame | got):
            m.d.sync += timer.eq(0)
        with m.Else():
            m.d.sync += timer.eq(timer + 1)
        # Registered comparisons: ``expired`` is ``timer == timeout``; ``last`` says the next
        # payload byte is the frame's last (bytes come at most every other cycle).
        expired, last = Signal(), Signal()
        m.d.sync += [expired.eq(in_frame & ~got & (timer == self._timeout - 1)),
                     last.eq(s.idx + 1 == s.flen)]
        with m.If(self.line_error):
            m.d.sync += line.eq(1)
        mod3 = s.mod3
        type_clr, type_got = Signal(), Signal()
        with m.If(type_clr):
            m.d.sync += s.ftype.eq(0)
        with m.Elif(type_got):
            m.d.sync += s.ftype.eq(byte)

        def receive(m):   # a frame byte may come; a frame that stops for ``timeout`` is truncated
            m.d.comb += [take.eq(1), in_frame.eq(1)]
            with m.If(~got & expired):
                m.next = "TRUNCATED"

        with m.FSM(name="rx"):
            with m.State("HUNT"):
                m.d.comb += take.eq(1)
                with m.If(full & is_sync):
                    m.d.comb += [s.crc_start.eq(1), type_clr.eq(1)]
                    m.d.sync += [line.eq(0), s.error.eq(0), mod3.eq(0), s.idx.eq(0)]
                    m.next = "TYPE"
            with m.State("TYPE"):
                receive(m)
                with m.If(got):
                    m.d.comb += type_got.eq(1)
                    m.next = "LEN"
            with m.State("LEN"):
                receive(m)
                with m.If(got):
                    m.d.sync += s.flen.eq(byte)
                    m.next = "PAYLOAD"
                    with m.If(byte == 0):
                        m.next = "CRC_HI"
            with m.State("PAYLOAD"):
                receive(m)
                with m.If(got):
                    m.d.comb += wp.en.eq(s.idx < MAX_PAYLOAD)   # longer: BAD_LENGTH
                    m.d.sync += s.idx.eq(s.idx + 1)
                    m.d.sync += mod3.eq(Mux(mod3 == 2, 0, mod3 + 1))
                    # Bytes 0-3 and 8 also go straight to the registers that need them.
                    with m.If(s.idx < 4):
                        m.d.sync += s.w0.eq(Cat(byte, s.w0[:-8]))
                    with m.If(s.idx == 8):
                        m.d.sync += s.count.eq(byte)
                    with m.If(last):
                        m.next = "CRC_HI"
            with m.State("CRC_HI"):
                receive(m)
                with m.If(got):
                    m.next = "CRC_LO"
            with m.State("CRC_LO"):
                receive(m)
                with m.If(got):
                    m.next = "SETTLE"
            with m.State("SETTLE"):         # the CRC takes its bytes a cycle late
                m.next = "CHECK"
            with m.State("CHECK"):          # the CRC register settles one cycle after the byte
                with m.If(line):
                    m.d.sync += s.error.eq(ErrorCode.LINE)
                with m.Elif(~s.crc.match_detected):
                    m.d.sync += s.error.eq(ErrorCode.BAD_CRC)
                with m.Elif(s.flen > MAX_PAYLOAD):
                    m.d.sync += s.error.eq(ErrorCode.BAD_LENGTH)
                m.next = "HELD"
            with m.State("TRUNCATED"):
                m.d.sync += s.error.eq(ErrorCode.TIMEOUT)
                m.next = "HELD"
            with m.State("HELD"):
                m.d.comb += s.frame.eq(1)
                with m.If(s.release):
                    m.next = "HUNT"

    def _transmitter(self, m, s):
        """Send a frame: the type of ``s.reply_code``, the payload ``reply[0 .. rptr - 1]``."""
        rp = s.rmem.read_port()
        tidx = Signal(range(MAX_PAYLOAD + 1))
        code = s.reply_code
        m.d.comb += rp.addr.eq(tidx)
        feed = Signal()
        with m.If(feed):
            m.d.comb += [s.crc_data.eq(self.o.payload), s.crc_valid.eq(self.o.ready)]

        def send(m, byte, then, *, crc=True):
            m.d.comb += [self.o.payload.eq(byte), self.o.valid.eq(1), feed.eq(crc)]
            with m.If(self.o.ready):
                m.next = then

        start = Signal()           # ``tx_start``, registered
        busy = Signal()            # from ``tx_start`` to the frame's last byte
        m.d.sync += start.eq(s.tx_start)
        m.d.comb += s.tx_busy.eq(busy)
        with m.If(s.tx_start):
            m.d.sync += busy.eq(1)
        with m.FSM(name="tx"):
            with m.State("IDLE"):
                with m.If(start):
                    m.d.comb += s.crc_start.eq(1)
                    m.d.sync += tidx.eq(0)
                    m.next = "SYNC"
            with m.State("SYNC"):
                send(m, SYNC_DEVICE, "TYPE", crc=False)
            with m.State("TYPE"):   # 0x80 | code; code 7 is ERROR (0xFF)
                send(m, Cat(code, (code == _ERROR_CODE).replicate(4), 1), "LEN")
            with m.State("LEN"):
                send(m, s.rptr, "FETCH")
            with m.State("FETCH"):       # the read port has one cycle of latency
                m.next = "PAYLOAD"
                with m.If(tidx == s.rptr):
                    m.next = "CRC_HI"
            with m.State("PAYLOAD"):
                send(m, rp.data, "FETCH")
                with m.If(self.o.ready):
                    m.d.sync += tidx.eq(tidx + 1)
            with m.State("CRC_HI"):
                send(m, s.crc.crc[8:], "CRC_LO", crc=False)
            with m.State("CRC_LO"):
                send(m, s.crc.crc[:8], "IDLE", crc=False)
                with m.If(self.o.ready):
                    m.d.sync += [s.rptr.eq(0), busy.eq(0)]     # the reply memory is free

    def _executor(self, m, s):
        """Check a held frame's arguments, drive the array, and write the reply."""
        wp = s.rmem.write_port()
        rp = s.pmem.read_port()
        ftype, flen, w0, addr, data, count = s.ftype, s.flen, s.w0, s.addr, s.data, s.count
        # The frame type, decoded and registered (TYPE arrives well before it is needed).
        for ft, flag in s.kind.items():
            m.d.sync += flag.eq(ftype == ft)

        def is_(*types):
            return Cat(s.kind[ft] for ft in types).any()
        n = Signal(32)               # values, events or timesteps done
        j = Signal(2)                # byte of a value still to fetch or to write
        status = Signal(2)           # the first refusal, or OK
        poll = Signal()              # RUN: reading STATUS (not writing RUN)
        running = Signal()           # RUN: spikes are taken
        b = Signal(2)                # step of a four-step shift of ``addr`` or ``data``
        to_addr = Signal()           # the bytes being fetched are ``addr``'s
        carry = Signal()             # ``addr`` increment: carry into the next byte
        final = Signal()             # the frame's own reply (not SPIKES) is being sent
        rsp_data = self.rsp.payload.data.as_unsigned()
        rsp_status = self.rsp.payload.status.as_value()
        # The response's status and whether its data is 0, registered (the response stays
        # offered until it is taken, so these follow it a cycle later).
        st, zero = Signal(2), Signal()
        m.d.sync += [st.eq(rsp_status), zero.eq(rsp_data == 0)]
        st_ok = st == cfgbus.Status.OK.value
        wop = w0[8:16]               # CMD: op; blocks: width
        width_ok = (wop == 1) | (wop == 2) | (wop == 4)
        wlast = s.wlast
        args_ok = (w0[24:] <= 2) & (w0[:8] <= 3)      # target, space
        limit = Mux(wop[0], max_block_count(1), Mux(wop[1], max_block_count(2),
                                                     max_block_count(4)))
        ridx = Signal(range(MAX_PAYLOAD + 1))   # the next payload byte to fetch
        last = Signal(2)             # the last byte of the value being fetched (registered)
        with m.If(~to_addr & is_(FrameType.WRITE_BLOCK)):
            m.d.sync += last.eq(wlast)
        with m.Elif(~to_addr & is_(FrameType.EVENTS)):
            m.d.sync += last.eq(2)
        with m.Else():
            m.d.sync += last.eq(3)
        ridx_clr, ridx_four, ridx_inc = Signal(), Signal(), Signal()
        with m.If(ridx_clr):
            m.d.sync += ridx.eq(Mux(ridx_four, 4, 0))
        with m.Elif(ridx_inc):
            m.d.sync += ridx.eq(ridx + 1)
        m.d.comb += rp.addr.eq(ridx)
        # Wide comparisons, registered: their operands settle at least a cycle before use.
        ridx_end, steps_done = Signal(), Signal()
        m.d.sync += [ridx_end.eq(ridx == flen), steps_done.eq(n == w0)]

        # The wide registers change in one place each, so that every bit stays one LUT deep.
        # ``addr`` and ``data`` shift right a byte a step, four steps a value: payload bytes
        # (least significant first, see the receiver) enter at the top; ``addr`` increments
        # byte-serially as it rotates; ``data`` sign-extends a short value with copies of its
        # top bit.
        n_clr, n_inc = Signal(), Signal()
        addr_load, addr_inc, data_shift, data_fill = Signal(), Signal(), Signal(), Signal()
        clear_cmd = Signal()         # addr = data = 0 (array register numbers are added below)
        n_inc_r = Signal()           # n counts a cycle late (nothing reads it sooner)
        m.d.sync += n_inc_r.eq(n_inc)
        with m.If(n_clr):
            m.d.sync += n.eq(0)
        with m.Elif(n_inc_r):
            m.d.sync += n.eq(n + 1)
        cin = carry | (b == 0)
        with m.If(clear_cmd):
            m.d.sync += addr.eq(0)
        with m.Elif(addr_load | addr_inc):
            m.d.sync += addr.eq(Cat(addr[8:], Mux(addr_inc, (addr[:8] + cin)[:8], rp.data)))
        with m.If(addr_inc):
            m.d.sync += carry.eq(cin & (addr[:8] == 0xFF))
        with m.If(clear_cmd):
            m.d.sync += data.eq(0)
        with m.Elif(data_shift):
            m.d.sync += data.eq(Cat(data[8:], Mux(data_fill, data[31].replicate(8), rp.data)))
        # RUN and CLEAR: an array register (< 4) and the value written (0 or 1).
        set_reg, reg_number, reg_value = Signal(), Signal(2), Signal()
        with m.If(set_reg):
            m.d.sync += [addr[:2].eq(reg_number), data[0].eq(reg_value)]

        def array_reg(m, number, value):
            m.d.comb += [set_reg.eq(1), reg_number.eq(number), reg_value.eq(value)]

        # The reply type: ERROR, SPIKES while a RUN is under way, else the frame's own
        # (registered: the transmitter sends it at least two cycles after it starts).
        with m.If(s.error != 0):
            m.d.sync += s.reply_code.eq(_ERROR_CODE)
        with m.Elif(~final):
            m.d.sync += s.reply_code.eq(_code(ReplyType.SPIKES))
        with m.Else():
            for ft, rt in _REPLY_TO.items():
                with m.If(is_(ft)):
                    m.d.sync += s.reply_code.eq(_code(rt))

        # The array command: fields from payload bytes 0-3 (``w0``) or fixed by the frame type,
        # registered (``w0`` and the type settle long before, ``poll`` a cycle before).
        cmdp = self.cmd.payload
        m.d.comb += [cmdp.cmd.addr.eq(addr), cmdp.cmd.data.eq(data)]
        with m.If(is_(FrameType.CMD, FrameType.WRITE_BLOCK, FrameType.READ_BLOCK)):
            m.d.sync += [cmdp.target.as_value().eq(w0[24:26]), cmdp.core.eq(w0[16:24]),
                         cmdp.cmd.space.as_value().eq(w0[:2]),
                         cmdp.cmd.op.as_value().eq(Mux(is_(FrameType.CMD), wop[0],
                                                       is_(FrameType.WRITE_BLOCK)))]
        with m.Elif(is_(FrameType.COUNTERS)):
            m.d.sync += [cmdp.target.eq(Target.CORE), cmdp.core.eq(w0[:8]),
                         cmdp.cmd.op.eq(cfgbus.Op.READ),
                         cmdp.cmd.space.eq(cfgbus.Space.COUNTER)]
        with m.Else():           # RUN, CLEAR: array registers
            m.d.sync += [cmdp.target.eq(Target.ARRAY), cmdp.core.eq(0),
                         cmdp.cmd.op.as_value().eq(~poll), cmdp.cmd.space.as_value().eq(0)]

        # Reply memory writes: one byte a cycle at ``rptr``, from the source ``wsel``.
        wen = Signal()
        wsel = Signal(3)
        W_RSP, W_N, W_STATUS, W_INFO, W_ERROR, W_SPIKE = range(6)
        wbyte = Signal(8)
        with m.Switch(wsel):
            with m.Case(W_RSP):
                m.d.comb += wbyte.eq(rsp_data.word_select(j, 8))
            with m.Case(W_N):
                m.d.comb += wbyte.eq(n.word_select(j, 8))
            with m.Case(W_STATUS):
                m.d.comb += wbyte.eq(status)
            with m.Case(W_INFO):
                with m.Switch(s.rptr[:3]):
                    for k, value in enumerate(MAGIC + bytes([VERSION, MAX_PAYLOAD])):
                        with m.Case(k):
                            m.d.comb += wbyte.eq(value)
            with m.Case(W_ERROR):
                m.d.comb += wbyte.eq(Mux(s.rptr[0], ftype, s.error))
            with m.Case(W_SPIKE):
                sp = self.spikes.payload
                m.d.comb += wbyte.eq(Mux(s.rptr[1], Mux(s.rptr[0], n[:8], sp.neuron[:8]),
                                         Mux(s.rptr[0], sp.neuron[8:], sp.core)))
        m.d.comb += [wp.addr.eq(s.rptr), wp.data.eq(wbyte), wp.en.eq(wen)]
        with m.If(wen):
            m.d.sync += s.rptr.eq(s.rptr + 1)

        def put(m, source):
            m.d.comb += [wen.eq(1), wsel.eq(source)]

        # Spike collection while running: 4 bytes a spike; a full frame goes out at once.
        with m.If(self.spikes.valid & ~s.tx_busy & ~s.rptr[-1]
                  & (running | (s.rptr[:2] != 0))):
            put(m, W_SPIKE)
            m.d.comb += self.spikes.ready.eq(s.rptr[:2] == 3)
        with m.If(running & (s.rptr == MAX_PAYLOAD) & ~s.tx_busy):
            m.d.comb += s.tx_start.eq(1)

        # The frame's checks, registered: they depend only on fields received long before
        # the frame is dispatched.  A length error comes before an argument error, except
        # that a WRITE_BLOCK's values are checked against its width only when that is valid.
        len_bad, arg_bad = Signal(), Signal()
        with m.If(is_(FrameType.PING, FrameType.CLEAR)):
            m.d.sync += len_bad.eq(flen != 0)
        with m.Elif(is_(FrameType.CMD)):
            m.d.sync += [len_bad.eq(flen != 12), arg_bad.eq(~args_ok | (wop > 1))]
        with m.Elif(is_(FrameType.WRITE_BLOCK)):
            ragged = (wop[1] & flen[0]) | (wop[2] & (flen[:2] != 0))   # LEN - 8 != n * w
            m.d.sync += [len_bad.eq((flen <= 8) | (flen > MAX_PAYLOAD) |
                                    (args_ok & width_ok & ragged)),
                         arg_bad.eq(~args_ok | ~width_ok)]
        with m.Elif(is_(FrameType.READ_BLOCK)):
            m.d.sync += [len_bad.eq(flen != 9),
                         arg_bad.eq(~args_ok | ~width_ok | (count == 0) | (count > limit))]
        with m.Elif(is_(FrameType.EVENTS)):
            # 3 to 63 (longer frames are refused on arrival) in steps of 3
            m.d.sync += len_bad.eq((flen == 0) | (s.mod3 != 0))
        with m.Elif(is_(FrameType.RUN)):
            m.d.sync += len_bad.eq(flen != 4)
        with m.Elif(is_(FrameType.COUNTERS)):
            m.d.sync += len_bad.eq(flen != 1)
        with m.If(~is_(FrameType.CMD, FrameType.WRITE_BLOCK, FrameType.READ_BLOCK)):
            m.d.sync += arg_bad.eq(0)
        verdict = Signal(3)          # the ErrorCode the frame earns, or 0
        with m.If(ftype[3:] != 0):
            m.d.sync += verdict.eq(ErrorCode.UNKNOWN)
        with m.Elif(len_bad):
            m.d.sync += verdict.eq(ErrorCode.BAD_LENGTH)
        with m.Elif(arg_bad):
            m.d.sync += verdict.eq(ErrorCode.BAD_ARG)
        with m.Else():
            m.d.sync += verdict.eq(0)

        # The executor's state machine is one-hot (a decoded state keeps its many transitions
        # shallow enough for the iCE40 clock).  ``with state(name)`` is its ``m.State``,
        # ``goto`` its ``m.next`` (the last one taken in a cycle wins, as with ``m.next``).
        # Each state computes its own next state, zero to stay; the register takes the OR of
        # them.  Only the current state's is non-zero, so no priority chain runs through the
        # states' conditions in the order they are written.  Every state has a block.
        exec_states = ("IDLE", "DISPATCH", "FETCH_A", "FETCH_B", "EVENT", "ISSUE", "CLEAR",
                       "POLL", "WAIT", "RESPONSE", "PUT_RSP", "INC", "RUN_STEP", "RUN_WAIT",
                       "RUN_NEXT", "RUN_END", "RUN_DRAIN", "RUN_FLUSH", "REPLY")
        exec_state = Signal(len(exec_states), init=1)
        exec_next = {}
        in_block = []

        def in_state(name):
            return exec_state[exec_states.index(name)]

        @contextlib.contextmanager
        def state(name):
            nxt = exec_next[name] = Signal(len(exec_states), name=f"exec_next_{name.lower()}")
            with m.If(in_state(name)):
                in_block.append(nxt)
                yield
                in_block.pop()

        def goto(name):
            m.d.comb += in_block[-1].eq(1 << exec_states.index(name))

        # Replies are written and sent by a second state machine, started with ``reply``.
        rstart, rkind, rdone = Signal(), Signal(2), Signal()
        R_N, R_STATUS, R_INFO, R_ERROR = range(4)

        def reply(m, kind):
            m.d.sync += [rstart.eq(1), rkind.eq(kind)]
            goto("REPLY")

        frame = Signal()             # a frame is held (registered)
        m.d.sync += frame.eq(s.frame & ~s.release)
        m.d.comb += [n_clr.eq(~frame), clear_cmd.eq(~frame)]
        cmd_valid = Signal()         # registered: the state is ISSUE
        m.d.comb += self.cmd.valid.eq(cmd_valid)

        def issue(m):
            m.d.sync += cmd_valid.eq(1)
            goto("ISSUE")

        def fail(m, code):
            m.d.sync += s.error.eq(code)
            reply(m, R_ERROR)

        with state("IDLE"):
            m.d.sync += [status.eq(cfgbus.Status.OK.value), poll.eq(0), b.eq(0)]
            with m.If(frame):
                goto("DISPATCH")
                with m.If(s.error != 0):
                    reply(m, R_ERROR)

        with state("DISPATCH"):
            m.d.comb += [ridx_clr.eq(1), ridx_four.eq(~is_(FrameType.EVENTS))]
            m.d.sync += to_addr.eq(~is_(FrameType.EVENTS))      # CMD, blocks: addr first
            with m.If(verdict != 0):
                m.d.sync += s.error.eq(verdict)
                reply(m, R_ERROR)
            with m.Else():
                with m.If(is_(FrameType.PING)):
                    reply(m, R_INFO)
                with m.Elif(is_(FrameType.CMD, FrameType.WRITE_BLOCK)):
                    goto("FETCH_A")
                with m.Elif(is_(FrameType.READ_BLOCK)):
                    goto("FETCH_A")
                with m.Elif(is_(FrameType.EVENTS)):
                    goto("FETCH_A")
                with m.Elif(is_(FrameType.RUN)):
                    m.d.sync += running.eq(1)
                    goto("RUN_STEP")
                with m.Elif(is_(FrameType.CLEAR)):
                    goto("CLEAR")
                with m.Elif(is_(FrameType.COUNTERS)):
                    issue(m)

        # Fetch a value from ``ridx`` on into ``addr`` (4 bytes) or ``data`` (4 bytes for
        # CMD, the width for WRITE_BLOCK, 3 for an event), one byte every two cycles (the
        # read port has one cycle of latency).
        with state("FETCH_A"):
            goto("FETCH_B")
        with state("FETCH_B"):
            m.d.comb += [addr_load.eq(to_addr), data_shift.eq(~to_addr),
                         data_fill.eq(b > last)]
            with m.If(b <= last):
                m.d.comb += ridx_inc.eq(1)
            m.d.sync += b.eq(b + 1)
            goto("FETCH_A")
            with m.If(b == 3):
                m.d.sync += to_addr.eq(0)
                with m.If(~to_addr | is_(FrameType.READ_BLOCK)):
                    with m.If(is_(FrameType.EVENTS)):
                        goto("EVENT")
                    with m.Else():
                        issue(m)
        with state("EVENT"):      # data: axon_lo axon_hi core (top to bottom)
            m.d.comb += [self.events.valid.eq(1), self.events.payload.core.eq(data[:8]),
                         self.events.payload.axon.eq(Cat(data[16:24], data[8:16]))]
            with m.If(self.events.ready):
                m.d.comb += n_inc.eq(1)
                goto("FETCH_A")
                with m.If(ridx_end):
                    reply(m, R_N)

        # One array command and its response, which is held until its bytes are written.
        with state("ISSUE"):
            with m.If(self.cmd.ready):
                m.d.sync += cmd_valid.eq(0)
                goto("WAIT")
        with state("CLEAR"):
            array_reg(m, ArrayReg.CLEAR, 1)
            issue(m)
        with state("POLL"):        # (the command's fields follow ``poll`` a cycle later)
            array_reg(m, ArrayReg.STATUS, 0)
            issue(m)
        with state("WAIT"):
            with m.If(self.rsp.valid):
                goto("RESPONSE")
        with state("RESPONSE"):    # the response is still offered, and held in st, zero
            with m.If(~st_ok & (status == cfgbus.Status.OK.value)):
                m.d.sync += status.eq(st)
            with m.If(is_(FrameType.CMD, FrameType.CLEAR, FrameType.COUNTERS)):
                m.d.sync += j.eq(3)
                goto("PUT_RSP")
            with m.Elif(is_(FrameType.READ_BLOCK)):
                with m.If(~st_ok):
                    m.d.comb += self.rsp.ready.eq(1)
                    reply(m, R_STATUS)
                with m.Else():
                    m.d.sync += j.eq(wlast)
                    goto("PUT_RSP")
            with m.Elif(is_(FrameType.WRITE_BLOCK)):
                m.d.comb += self.rsp.ready.eq(1)
                with m.If(~st_ok):
                    reply(m, R_N)
                with m.Elif(ridx_end):
                    m.d.comb += n_inc.eq(1)
                    reply(m, R_N)
                with m.Else():
                    m.d.comb += n_inc.eq(1)
                    goto("INC")
            with m.Elif(is_(FrameType.RUN)):
                m.d.comb += self.rsp.ready.eq(1)
                with m.If(~st_ok):
                    goto("RUN_END")
                with m.Elif(~poll):
                    m.d.sync += poll.eq(1)
                    goto("POLL")
                with m.Elif(zero):
                    m.d.comb += n_inc.eq(1)
                    m.d.sync += poll.eq(0)
                    goto("RUN_STEP")
                with m.Else():               # STATUS still non-zero: poll again
                    issue(m)
        with state("PUT_RSP"):     # write bytes j .. 0 of the response's data
            put(m, W_RSP)
            m.d.sync += j.eq(j - 1)
            with m.If(j == 0):
                m.d.comb += self.rsp.ready.eq(1)
                more = Signal()              # more values to read
                with m.If(is_(FrameType.READ_BLOCK)):
                    m.d.sync += count.eq(count - 1)
                    m.d.comb += more.eq(count != 1)
                with m.Elif(is_(FrameType.COUNTERS)):
                    m.d.comb += more.eq(addr[:3] != len(cfgbus.Counter) - 1)
                with m.If(more):
                    goto("INC")
                with m.Else():
                    reply(m, R_STATUS)
        with state("INC"):         # addr + 1, then the next value
            m.d.comb += addr_inc.eq(1)
            m.d.sync += b.eq(b + 1)
            with m.If(b == 3):
                with m.If(is_(FrameType.WRITE_BLOCK)):
                    goto("FETCH_A")
                with m.Else():
                    issue(m)

        # RUN: one timestep at a time; spikes are collected in the background.
        with state("RUN_STEP"):    # (steps_done follows n two cycles later)
            array_reg(m, ArrayReg.RUN, 1)
            goto("RUN_WAIT")
        with state("RUN_WAIT"):
            goto("RUN_NEXT")
        with state("RUN_NEXT"):
            with m.If(steps_done):
                goto("RUN_END")
            with m.Else():
                issue(m)
        # Stop taking spikes, send what was collected, then DONE.  ``quiet`` (registered):
        # no spike is being written and the transmitter is idle.
        quiet, pending = Signal(), Signal()
        m.d.sync += [quiet.eq(~running & ~s.tx_busy & (s.rptr[:2] == 0)),
                     pending.eq(s.rptr != 0)]
        with state("RUN_END"):
            m.d.sync += running.eq(0)
            goto("RUN_DRAIN")
        with state("RUN_DRAIN"):
            with m.If(quiet):
                with m.If(pending):
                    m.d.comb += s.tx_start.eq(1)
                    goto("RUN_FLUSH")
                with m.Else():
                    reply(m, R_N)
        with state("RUN_FLUSH"):       # (quiet follows the transmitter later)
            goto("RUN_DRAIN")

        with state("REPLY"):
            with m.If(rdone):
                goto("IDLE")
        # A state's bit stays set while the state names no next state; whether it leaves is
        # decided by its own conditions alone (no enable common to all the bits).
        exec_go = functools.reduce(operator.or_, exec_next.values())
        m.d.sync += exec_state.eq(exec_go | Cat(*(in_state(name) & ~exec_next[name].any()
                                                  for name in exec_states)))

        with m.FSM(name="reply"):
            with m.State("IDLE"):
                with m.If(rstart):
                    m.d.sync += [j.eq(3), rstart.eq(0)]
                    with m.Switch(rkind):
                        for kind, state in ((R_N, "N"), (R_STATUS, "STATUS"), (R_INFO, "INFO"),
                                            (R_ERROR, "ERROR")):
                            with m.Case(kind):
                                m.next = state
            with m.State("N"):           # n, big-endian, then the status
                put(m, W_N)
                m.d.sync += j.eq(j - 1)
                with m.If(j == 0):
                    m.next = "STATUS"
            with m.State("STATUS"):
                put(m, W_STATUS)
                m.next = "SEND"
            with m.State("INFO"):
                put(m, W_INFO)
                with m.If(s.rptr == 5):
                    m.next = "SEND"
            with m.State("ERROR"):
                put(m, W_ERROR)
                with m.If(s.rptr[0]):
                    m.next = "SEND"
            with m.State("SEND"):
                m.d.comb += [final.eq(1), s.tx_start.eq(1)]
                m.next = "SENDING"
            with m.State("SENDING"):
                m.d.comb += final.eq(1)
                with m.If(~s.tx_busy):
                    m.d.comb += [s.release.eq(1), rdone.eq(1)]
                    m.next = "IDLE"


_ERROR_CODE = 7
_REPLY_TO = {FrameType.PING: ReplyType.INFO, FrameType.CMD: ReplyType.RSP,
             FrameType.WRITE_BLOCK: ReplyType.RSP, FrameType.READ_BLOCK: ReplyType.DATA,
             FrameType.EVENTS: ReplyType.RSP, FrameType.RUN: ReplyType.DONE,
             FrameType.COUNTERS: ReplyType.COUNTERS, FrameType.CLEAR: ReplyType.RSP}


def _code(reply_type):
    """Return the 3-bit code the transmitter expands to ``reply_type`` (``0x80 | code``)."""
    assert reply_type == 0x80 | (reply_type & 7) and reply_type & 7 != _ERROR_CODE
    return reply_type & 7


assert ReplyType.ERROR == 0xFF and max(FrameType) < 8
assert max(ArrayReg.RUN, ArrayReg.STATUS, ArrayReg.CLEAR) < 4


class _Shared:
    """The state the receiver, the executor and the transmitter share."""

    def __init__(self, pmem, rmem, crc):
        self.pmem, self.rmem, self.crc = pmem, rmem, crc
        self.ftype = Signal(8)           # the frame's TYPE (0 until it arrives)
        self.flen = Signal(8)            # the frame's LEN
        self.kind = {ft: Signal(name=f"is_{ft.name.lower()}") for ft in FrameType}
        self.idx = Signal(8)             # payload bytes received
        self.mod3 = Signal(2)            # payload bytes received, modulo 3
        self.error = Signal(3)           # ErrorCode of the frame, 0 while it is good
        self.w0 = Signal(32)             # payload bytes 0-3 (or fewer), big-endian
        self.addr = Signal(32)           # the command's addr (payload bytes 4-7)
        self.data = Signal(32)           # the command's data
        self.wlast = Cat(self.w0[9] | self.w0[10], self.w0[10])   # blocks: width - 1
        self.count = Signal(8)           # READ_BLOCK: payload byte 8, values still to read
        self.frame = Signal()            # a received frame is held
        self.release = Signal()          # its reply is out: receive the next one
        self.rptr = Signal(range(MAX_PAYLOAD + 1))    # reply bytes written
        self.reply_code = Signal(3)
        self.tx_start = Signal()
        self.crc_start = Signal()
        self.crc_valid = Signal()
        self.crc_data = Signal(8)
        self.tx_busy = Signal()


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


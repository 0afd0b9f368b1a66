"""Host-side driver of the UART host link (the frame format is in :mod:`spikeforge.rtl.hostlink`).

:class:`HostLink` speaks the frames over any byte transport with ``write(bytes)`` and
``read(n) -> bytes`` (which may return fewer bytes when it times out): a :class:`serial.Serial`
(pass a port name and pyserial opens it), or a simulated UART in a cosimulation test.

    >>> link = HostLink("/dev/ttyUSB1", baud=1_000_000)        # doctest: +SKIP
    >>> link.load_network(network)                             # doctest: +SKIP
    >>> result = link.run(inputs)                              # doctest: +SKIP
    >>> result.host_spikes.shape                               # doctest: +SKIP
    (timesteps, outputs)

:func:`crc16` is the frames' CRC (CRC-16/IBM-3740), table-driven; the tests check it against
``amaranth.lib.crc``.
"""

import dataclasses

import numpy as np

from .golden_model import HOST, Network
from .rtl import cfgbus
from .rtl.array_bus import (ROUTE_POINTER, ArrayReg, Target, pack_route_entry,
                            pack_route_pointer)
from .rtl.hostlink import (MAGIC, MAX_EVENTS_PER_FRAME, MAX_PAYLOAD, SYNC_DEVICE, SYNC_HOST,
                           ErrorCode, FrameType, ReplyType, max_block_count)

__all__ = ["crc16", "HostLink", "HostLinkError", "DeviceError", "CommandError", "LinkTimeout",
           "HardwareRun", "encode_frame"]


def _make_table():
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _make_table()


def crc16(data, crc=0xFFFF):
    """Return CRC-16/IBM-3740 of ``data`` (poly 0x1021, init 0xFFFF, unreflected, no xorout)."""
    for byte in bytes(data):
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[(crc >> 8) ^ byte]
    return crc


def encode_frame(ftype, payload=b"", sync=SYNC_HOST):
    """Return the bytes of one frame: SYNC TYPE LEN PAYLOAD CRC."""
    payload = bytes(payload)
    if len(payload) > 255:
        raise ValueError(f"payload: expected at most 255 bytes, got {len(payload)}")
    body = bytes([int(ftype), len(payload)]) + payload
    return bytes([sync]) + body + crc16(body).to_bytes(2, "big")


class HostLinkError(Exception):
    """The link failed: no reply, a damaged reply, or a reply of the wrong type."""


class LinkTimeout(HostLinkError):
    pass


class DeviceError(HostLinkError):
    """The device refused a frame with an ``ERROR`` reply (nothing was changed)."""

    def __init__(self, code, frame_type):
        self.code, self.frame_type = code, frame_type
        try:
            name = ErrorCode(code).name
        except ValueError:
            name = f"code {code}"
        super().__init__(f"device refused frame type 0x{frame_type:02x}: {name}")


class CommandError(HostLinkError):
    """The array refused a command (``BAD_ADDR`` or ``BAD_VALUE``); nothing was written."""

    def __init__(self, status, what, done=None):
        self.status, self.done = cfgbus.Status(status), done
        extra = "" if done is None else f" after {done} values"
        super().__init__(f"{what}: array answered {self.status.name}{extra}")


def _s32(value):
    value = int(value)
    if not -(1 << 31) <= value < (1 << 32):
        raise ValueError(f"value: expected a 32-bit integer, got {value}")
    return value - (1 << 32) if value >= (1 << 31) else value


@dataclasses.dataclass
class HardwareRun:
    """What :meth:`HostLink.run` returns.

    Members
    -------
    host_spikes : bool array (timesteps, outputs)
        Columns in the order of the golden model's ``Simulator.host_outputs``.
    spikes : list of (timestep, core, neuron)
        Every spike frame entry, in arrival order.
    """

    host_spikes: np.ndarray
    spikes: list


class HostLink:
    """Drive a board's array through the UART host link.

    Parameters
    ----------
    port : str or transport
        A serial port name (opened with pyserial) or an object with ``write(bytes)`` and
        ``read(n) -> bytes``.
    baud : int
        Bit rate when ``port`` is a name (the bitstream's rate; boards default to 1,000,000,
        the OrangeCrab's header UART to 115,200).
    timeout : float
        Read timeout in seconds when ``port`` is a name.
    """

    def __init__(self, port, *, baud=1_000_000, timeout=2.0):
        if isinstance(port, str):
            import serial   # pyserial; only needed for real ports
            self._io = serial.Serial(port, baudrate=baud, timeout=timeout)
            self._owned = True
        else:
            if not (callable(getattr(port, "write", None))
                    and callable(getattr(port, "read", None))):
                raise TypeError(f"port: expected a port name or an object with write() and "
                                f"read(), not {port!r}")
            self._io, self._owned = port, False
        self.network = None

    def close(self):
        if self._owned:
            self._io.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- framing -------------------------------------------------------------------------------
    def send_raw(self, data):
        """Write raw bytes (tests use this to send damaged frames)."""
        self._io.write(bytes(data))

    def _read_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self._io.read(n - len(data))
            if not chunk:
                raise LinkTimeout(f"no reply: expected {n} more bytes, got {len(data)}")
            data += chunk
        return data

    def receive(self):
        """Return the next reply as ``(ReplyType, payload)``; an ``ERROR`` raises
        :class:`DeviceError`."""
        while True:
            byte = self._read_exact(1)[0]
            if byte == SYNC_DEVICE:
                break
        head = self._read_exact(2)
        payload = self._read_exact(head[1])
        crc = int.from_bytes(self._read_exact(2), "big")
        if crc16(head + payload) != crc:
            raise HostLinkError(f"reply type 0x{head[0]:02x}: CRC mismatch")
        try:
            rtype = ReplyType(head[0])
        except ValueError:
            raise HostLinkError(f"unknown reply type 0x{head[0]:02x}") from None
        if rtype == ReplyType.ERROR:
            raise DeviceError(payload[0], payload[1])
        return rtype, payload

    def request(self, ftype, payload=b"", expect=None):
        """Send one frame and return its reply ``(ReplyType, payload)``."""
        self._io.write(encode_frame(ftype, payload))
        rtype, reply = self.receive()
        if expect is not None and rtype != expect:
            raise HostLinkError(f"frame {FrameType(ftype).name}: expected a {expect.name} "
                                f"reply, got {rtype.name}")
        return rtype, reply

    @staticmethod
    def _rsp(payload):
        return int.from_bytes(payload[:4], "big", signed=True), cfgbus.Status(payload[4])

    # -- frames --------------------------------------------------------------------------------
    def ping(self):
        """Return ``{"version": .., "max_payload": ..}``; raise if the device is not a link."""
        _, p = self.request(FrameType.PING, expect=ReplyType.INFO)
        if p[:4] != MAGIC:
            raise HostLinkError(f"ping: expected magic {MAGIC!r}, got {p[:4]!r}")
        return {"version": p[4], "max_payload": p[5]}

    def command(self, target, core, op, space, addr, value=0):
        """Send one :class:`ArrayCommand`; return ``(Status, data)`` without raising."""
        payload = bytes([Target(target).value, core, cfgbus.Op(op).value,
                         cfgbus.Space(space).value]) \
            + int(addr).to_bytes(4, "big") + _s32(value).to_bytes(4, "big", signed=True)
        _, p = self.request(FrameType.CMD, payload, expect=ReplyType.RSP)
        data, status = self._rsp(p)
        return status, data

    def read(self, core, space, addr, *, target=Target.CORE):
        status, data = self.command(target, core, cfgbus.Op.READ, space, addr)
        if status != cfgbus.Status.OK:
            raise CommandError(status, f"read core {core} {cfgbus.Space(space).name} {addr}")
        return data

    def write(self, core, space, addr, value, *, target=Target.CORE):
        status, _ = self.command(target, core, cfgbus.Op.WRITE, space, addr, value)
        if status != cfgbus.Status.OK:
            raise CommandError(status, f"write core {core} {cfgbus.Space(space).name} "
                                       f"{addr} = {value}")

    def read_register(self, reg, core=0):
        return self.read(core, 0, ArrayReg(reg), target=Target.ARRAY)

    def write_register(self, reg, value, core=0):
        self.write(core, 0, ArrayReg(reg), value, target=Target.ARRAY)

    def write_block(self, target, core, space, addr, values, width=None):
        """Write ``values`` to consecutive addresses from ``addr`` in as few frames as fit."""
        values = [_s32(v) for v in values]
        if width is None:
            lo, hi = (min(values), max(values)) if values else (0, 0)
            width = 1 if -128 <= lo and hi < 128 else 2 if -32768 <= lo and hi < 32768 else 4
        if width not in (1, 2, 4):
            raise ValueError(f"width: expected 1, 2 or 4, not {width!r}")
        per = (MAX_PAYLOAD - 8) // width
        for i in range(0, len(values), per):
            chunk = values[i:i + per]
            payload = bytes([Target(target).value, core, width, cfgbus.Space(space).value]) \
                + int(addr + i).to_bytes(4, "big") \
                + b"".join(v.to_bytes(width, "big", signed=True) for v in chunk)
            _, p = self.request(FrameType.WRITE_BLOCK, payload, expect=ReplyType.RSP)
            done, status = self._rsp(p)
            if status != cfgbus.Status.OK:
                raise CommandError(status, f"write block at {addr + i + done}", done=i + done)

    def read_block(self, target, core, space, addr, count, width=4):
        """Read ``count`` consecutive addresses; values are truncated to ``width`` bytes."""
        if width not in (1, 2, 4):
            raise ValueError(f"width: expected 1, 2 or 4, not {width!r}")
        out, per = [], max_block_count(width)
        while len(out) < count:
            n = min(per, count - len(out))
            payload = bytes([Target(target).value, core, width, cfgbus.Space(space).value]) \
                + int(addr + len(out)).to_bytes(4, "big") + bytes([n])
            _, p = self.request(FrameType.READ_BLOCK, payload, expect=ReplyType.DATA)
            status = cfgbus.Status(p[-1])
            got = [int.from_bytes(p[j:j + width], "big", signed=True)
                   for j in range(0, len(p) - 1, width)]
            out += got
            if status != cfgbus.Status.OK:
                raise CommandError(status, f"read block at {addr + len(out)}", done=len(out))
        return out

    def inject(self, events):
        """Deliver input events ``[(core, axon), ...]`` into the open timestep."""
        events = list(events)
        for i in range(0, len(events), MAX_EVENTS_PER_FRAME):
            chunk = events[i:i + MAX_EVENTS_PER_FRAME]
            payload = b"".join(bytes([c]) + int(a).to_bytes(2, "big") for c, a in chunk)
            _, p = self.request(FrameType.EVENTS, payload, expect=ReplyType.RSP)
            n, status = self._rsp(p)
            if status != cfgbus.Status.OK or n != len(chunk):
                raise CommandError(status, f"events: {n} of {len(chunk)} taken")

    def run_timesteps(self, n):
        """Run ``n`` timesteps; return the host spikes as ``[(timestep, core, neuron), ...]``
        with timesteps counted from 0 at the start of this call.

        A ``RUN`` frame tags spikes with their timestep modulo 256, so runs longer than 256
        timesteps go out as several frames."""
        n = int(n)
        if n < 0:
            raise ValueError(f"n: expected timesteps >= 0, got {n}")
        spikes = []
        for base in range(0, n, 256):
            spikes += [(base + dt, c, x) for dt, c, x in self._run_frame(min(256, n - base))]
        return spikes

    def _run_frame(self, n):
        self._io.write(encode_frame(FrameType.RUN, n.to_bytes(4, "big")))
        spikes = []
        while True:
            rtype, p = self.receive()
            if rtype == ReplyType.SPIKES:
                for j in range(0, len(p), 4):
                    core, neuron, dt = p[j], int.from_bytes(p[j + 1:j + 3], "big"), p[j + 3]
                    spikes.append((dt, core, neuron))
            elif rtype == ReplyType.DONE:
                done, status = self._rsp(p)
                if status != cfgbus.Status.OK:
                    raise CommandError(status, f"run: stopped after {done} of {n} timesteps")
                if done != n:
                    raise HostLinkError(f"run: {done} of {n} timesteps done")
                return spikes
            else:
                raise HostLinkError(f"run: unexpected {rtype.name} reply")

    def counters(self, core):
        """Return a core's counters as ``{Counter name: value}`` (modulo 2**32)."""
        _, p = self.request(FrameType.COUNTERS, bytes([core]), expect=ReplyType.COUNTERS)
        if p[20] != cfgbus.Status.OK.value:
            raise CommandError(p[20], f"counters of core {core}")
        return {c.name.lower(): int.from_bytes(p[4 * c:4 * c + 4], "big") for c in cfgbus.Counter}

    def clear(self):
        """Clear every core's neuron state, accumulators and counters."""
        _, p = self.request(FrameType.CLEAR, expect=ReplyType.RSP)
        _, status = self._rsp(p)
        if status != cfgbus.Status.OK:
            raise CommandError(status, "clear")

    # -- networks ------------------------------------------------------------------------------
    def write_routes(self, core, routes, neurons):
        """Write a core's routing table (every neuron's pointer, then the entries)."""
        order = np.argsort(np.asarray(routes.source), kind="stable")
        src = np.asarray(routes.source)[order]
        counts = np.bincount(src, minlength=neurons) if len(src) else np.zeros(neurons, int)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        pointers = [pack_route_pointer(int(s), int(c)) for s, c in zip(starts, counts)]
        entries = [pack_route_entry(0, 0, host=True) if int(routes.core[e]) == HOST
                   else pack_route_entry(int(routes.core[e]), int(routes.axon[e]))
                   for e in order]
        self.write_block(Target.ROUTES, core, 0, ROUTE_POINTER, pointers, width=4)
        if entries:
            self.write_block(Target.ROUTES, core, 0, 0, entries, width=4)

    def load_network(self, network):
        """Write a :class:`Network` into the array: weights and bias rows, parameters,
        phases, routing tables; then clear state, counters and the timestep."""
        if not isinstance(network, Network):
            raise TypeError(f"network: expected a Network, not {network!r}")
        for c, (p, cfg) in enumerate(zip(network.cores, network.array.cores)):
            rows = np.concatenate([p.weights.reshape(-1), p.bias]).astype(np.int64)
            self.write_block(Target.CORE, c, cfgbus.Space.WEIGHT, 0, rows.tolist(),
                             width=1 if cfg.weight_bits <= 8 else 2)
            regs = {cfgbus.Param.THRESHOLD: p.threshold, cfgbus.Param.LEAK: p.leak,
                    cfgbus.Param.BIAS_SHIFT: p.bias_shift}
            if cfg.cuba:
                regs[cfgbus.Param.CURRENT_LEAK] = p.current_leak
            if cfg.refractory_bits:
                regs[cfgbus.Param.REFRACTORY] = p.refractory
            for reg, value in regs.items():
                self.write(c, cfgbus.Space.PARAM, reg, value)
            self.write_register(ArrayReg.PHASE, p.phase, core=c)
            self.write_routes(c, network.routes[c], cfg.neurons)
        self.clear()
        self.write_register(ArrayReg.TIMESTEP, 0)
        self.network = network

    def run(self, inputs):
        """Run ``inputs`` (a ``(timesteps, axons)`` array of event counts over the
        concatenated axons of all cores, as ``Simulator.run`` takes) on the loaded network;
        return a :class:`HardwareRun` whose ``host_spikes`` match the golden model's."""
        net = self.network
        if net is None:
            raise HostLinkError("run: load a network first (load_network)")
        cfgs = net.array.cores
        axon_offset = np.concatenate([[0], np.cumsum([c.axons for c in cfgs])])
        inputs = np.asarray(inputs)
        if inputs.ndim != 2 or inputs.shape[1] != axon_offset[-1]:
            raise ValueError(f"inputs: expected shape (timesteps, {axon_offset[-1]}), "
                             f"got {inputs.shape}")
        if (inputs < 0).any():
            raise ValueError("inputs: expected event counts >= 0")
        outputs = [(c, int(r.source[e])) for c, r in enumerate(net.routes)
                   for e in range(len(r)) if int(r.core[e]) == HOST]
        columns = {}
        for j, key in enumerate(outputs):
            columns.setdefault(key, []).append(j)
        timesteps = inputs.shape[0]
        raster = np.zeros((timesteps, len(outputs)), bool)
        spikes, t = [], 0
        while t < timesteps:
            events = []
            for g in np.flatnonzero(inputs[t]):
                core = int(np.searchsorted(axon_offset, g, side="right") - 1)
                events += [(core, int(g - axon_offset[core]))] * int(inputs[t, g])
            if events:
                self.inject(events)
            n = 1                  # run the quiet timesteps that follow in the same frame
            while t + n < timesteps and not inputs[t + n].any():
                n += 1
            for dt, core, neuron in self.run_timesteps(n):
                spikes.append((t + dt, core, neuron))
                for j in columns.get((core, neuron), ()):
                    raster[t + dt, j] = True
            t += n
        return HardwareRun(host_spikes=raster, spikes=spikes)

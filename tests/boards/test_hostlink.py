"""Host-link frames against the array stand-in (a test double), bytes fed straight in.

Good frames act; corrupted, truncated, unknown and malformed frames get an ERROR reply and
reach nothing (the stand-in counts every command that changed something and every event).
"""

import pytest
from amaranth import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikeforge.host import (CommandError, DeviceError, HostLink, LinkTimeout, encode_frame)
from spikeforge.rtl import cfgbus
from spikeforge.rtl.array_bus import (ROUTE_POINTER, ArrayCommand, ArrayReg, HostEvent,
                                      HostSpike, Target)
from spikeforge.rtl.hostlink import MAX_PAYLOAD, ErrorCode, FrameType

from .simlink import SimTransport

TIMEOUT = 200      # cycles of silence that end a truncated frame


@pytest.fixture
def link():
    transport = SimTransport(timeout=TIMEOUT, budget=20_000)
    yield HostLink(transport), transport
    transport.close()


def expect_error(h, code):
    with pytest.raises(DeviceError) as info:
        h.receive()
    assert info.value.code == code, info.value
    return info.value


def cmd_payload(target, core, op, space, addr, value):
    return bytes([target, core, op, space]) + addr.to_bytes(4, "big") \
        + value.to_bytes(4, "big", signed=True)


def test_ping_and_commands(link):
    h, t = link
    assert h.ping() == {"version": 1, "max_payload": MAX_PAYLOAD}
    h.write(1, cfgbus.Space.PARAM, cfgbus.Param.THRESHOLD, 42)
    assert h.read(1, cfgbus.Space.PARAM, cfgbus.Param.THRESHOLD) == 42
    assert h.command(Target.CORE, 0, cfgbus.Op.WRITE, cfgbus.Space.WEIGHT, 3, 9) == \
        (cfgbus.Status.BAD_VALUE, 0)
    assert h.command(Target.CORE, 5, cfgbus.Op.READ, cfgbus.Space.WEIGHT, 0)[0] == \
        cfgbus.Status.BAD_ADDR
    h.write_register(ArrayReg.PHASE, 3, core=1)
    assert h.read_register(ArrayReg.PHASE, core=1) == 3
    assert t.n_cmds == 2


def test_blocks(link):
    h, t = link
    weights = [-8, 7, 0, 3, -1, 2, 5, -6, 1, 1, 1, 1, -2, -3, -4, 4]
    h.write_block(Target.CORE, 1, cfgbus.Space.WEIGHT, 0, weights)
    assert h.read_block(Target.CORE, 1, cfgbus.Space.WEIGHT, 0, 16, width=1) == weights
    assert h.read_block(Target.CORE, 1, cfgbus.Space.WEIGHT, 0, 16, width=2) == weights
    words = [0x7FFF_FFFF, -1, 0x0102_0304, -(1 << 31)]
    h.write_block(Target.ROUTES, 0, 0, ROUTE_POINTER | 2, words, width=4)
    assert h.read_block(Target.ROUTES, 0, 0, ROUTE_POINTER | 2, 4) == words
    h.write_block(Target.ROUTES, 0, 0, 0, [300, -300], width=2)
    assert h.read_block(Target.ROUTES, 0, 0, 0, 2) == [300, -300]
    # A refused value stops the block: the values before it are written, none after.
    with pytest.raises(CommandError) as info:
        h.write_block(Target.CORE, 0, cfgbus.Space.WEIGHT, 0, [1, 2, 100, 3])
    assert info.value.status == cfgbus.Status.BAD_VALUE and info.value.done == 2
    assert h.read_block(Target.CORE, 0, cfgbus.Space.WEIGHT, 0, 4, width=1)[:2] == [1, 2]
    # A read past the end reports how far it got.
    with pytest.raises(CommandError) as info:
        h.read_block(Target.CORE, 0, cfgbus.Space.WEIGHT, 14, 4, width=1)
    assert info.value.status == cfgbus.Status.BAD_ADDR and info.value.done == 2


def test_events_run_counters_clear(link):
    h, t = link
    events = [(i % 2, 100 + i) for i in range(20)]       # 20 spikes: two SPIKES frames
    h.inject(events)
    assert t.n_events == 20
    h.write(0, cfgbus.Space.PARAM, cfgbus.Param.LEAK, 1)  # stand-in heartbeat: (0, 0xFFFF)
    spikes = h.run_timesteps(3)
    assert spikes[:20] == [(0, c, a) for c, a in events]
    assert spikes[20:] == [(0, 0, 0xFFFF), (1, 0, 0xFFFF), (2, 0, 0xFFFF)]
    assert h.counters(0) == {"events": 10, "sops": 0, "spikes": 0, "dropped": 0, "ticks": 3}
    assert h.read_register(ArrayReg.TIMESTEP) == 3
    assert h.run_timesteps(0) == []
    h.clear()
    assert h.counters(1)["ticks"] == 0
    assert h.counters(1)["events"] == 0


def test_run_refused(link):
    h, t = link
    with pytest.raises(CommandError):          # RUN with a refused command answers DONE
        h.counters(7)
    assert t.n_cmds == 0


# -- frames that must change nothing ---------------------------------------------------------
GOOD_WRITE = encode_frame(FrameType.CMD, cmd_payload(0, 0, 1, 2, 0, 77))


def assert_unchanged(h, t, before):
    assert (t.n_cmds, t.n_events) == before
    assert h.read(0, cfgbus.Space.PARAM, 0) == 0


@pytest.mark.parametrize("position", range(1, len(GOOD_WRITE)))
def test_corrupted_byte(link, position):
    """Any single flipped bit after SYNC: an error reply (or none), nothing written."""
    h, t = link
    bad = bytearray(GOOD_WRITE)
    bad[position] ^= 0x10
    h.send_raw(bad)
    t.step(3 * TIMEOUT)
    t.budget = 2 * TIMEOUT         # every reply is out by now: wait no longer for more
    replies = []
    while True:
        try:
            replies.append(h.receive())
        except DeviceError as exc:
            replies.append(exc.code)
        except LinkTimeout:
            break
    assert replies and all(r in (ErrorCode.BAD_CRC, ErrorCode.TIMEOUT, ErrorCode.BAD_LENGTH)
                           for r in replies), replies
    assert (t.n_cmds, t.n_events) == (0, 0)
    t.budget = 20_000
    h.send_raw(GOOD_WRITE)                    # the link recovers at the next frame
    assert h.receive()[0].name == "RSP"
    assert h.read(0, cfgbus.Space.PARAM, 0) == 77


def test_truncated_frames(link):
    h, t = link
    for cut in (1, 2, 3, 9, len(GOOD_WRITE) - 1):
        h.send_raw(GOOD_WRITE[:cut])
        t.step(2 * TIMEOUT)
        err = expect_error(h, ErrorCode.TIMEOUT)
        assert err.frame_type == (FrameType.CMD if cut > 1 else 0)
    assert_unchanged(h, t, (0, 0))


def test_events_frame_corrupted(link):
    h, t = link
    frame = bytearray(encode_frame(FrameType.EVENTS, bytes([0, 0, 1, 1, 0, 2])))
    frame[-3] ^= 1
    h.send_raw(frame)
    expect_error(h, ErrorCode.BAD_CRC)
    assert t.n_events == 0


@pytest.mark.parametrize("ftype, payload, code", [
    (0x42, b"", ErrorCode.UNKNOWN),
    (0x80, b"\x00", ErrorCode.UNKNOWN),
    (FrameType.CMD, cmd_payload(0, 0, 1, 2, 0, 77)[:11], ErrorCode.BAD_LENGTH),
    (FrameType.CMD, cmd_payload(3, 0, 1, 2, 0, 77), ErrorCode.BAD_ARG),
    (FrameType.CMD, cmd_payload(0, 0, 2, 2, 0, 77), ErrorCode.BAD_ARG),
    (FrameType.CMD, cmd_payload(0, 0, 1, 4, 0, 77), ErrorCode.BAD_ARG),
    (FrameType.PING, b"\x00", ErrorCode.BAD_LENGTH),
    (FrameType.CLEAR, b"\x00", ErrorCode.BAD_LENGTH),
    (FrameType.RUN, b"\x00\x00\x01", ErrorCode.BAD_LENGTH),
    (FrameType.COUNTERS, b"", ErrorCode.BAD_LENGTH),
    (FrameType.EVENTS, b"\x00\x01", ErrorCode.BAD_LENGTH),
    (FrameType.EVENTS, b"", ErrorCode.BAD_LENGTH),
    (FrameType.WRITE_BLOCK, bytes([0, 0, 3, 2, 0, 0, 0, 0, 1, 2, 3]), ErrorCode.BAD_ARG),
    (FrameType.WRITE_BLOCK, bytes([0, 0, 4, 2, 0, 0, 0, 0, 1, 2, 3]), ErrorCode.BAD_LENGTH),
    (FrameType.WRITE_BLOCK, bytes([0, 0, 1, 2, 0, 0, 0, 0]), ErrorCode.BAD_LENGTH),
    (FrameType.READ_BLOCK, bytes([0, 0, 4, 0, 0, 0, 0, 0, 16]), ErrorCode.BAD_ARG),
    (FrameType.READ_BLOCK, bytes([0, 0, 1, 0, 0, 0, 0, 0, 0]), ErrorCode.BAD_ARG),
    (FrameType.WRITE_BLOCK, bytes([0, 0, 1, 2, 0, 0, 0, 0]) + bytes(70), ErrorCode.BAD_LENGTH),
])
def test_malformed_frames(link, ftype, payload, code):
    h, t = link
    h.send_raw(encode_frame(ftype, payload))
    err = expect_error(h, code)
    assert err.frame_type == ftype
    assert_unchanged(h, t, (0, 0))


def test_garbage_between_frames(link):
    h, t = link
    h.send_raw(b"\x00\xff\x13\x37" + GOOD_WRITE + b"\x5a\x01")
    assert h.receive()[0].name == "RSP"
    assert h.read(0, cfgbus.Space.PARAM, 0) == 77


class EchoArray(wiring.Component):
    """Answers every command OK with its address as data."""

    cmd: In(stream.Signature(ArrayCommand))
    rsp: Out(stream.Signature(cfgbus.Response))
    events: In(stream.Signature(HostEvent))
    spikes: Out(stream.Signature(HostSpike))
    busy: Out(1)

    def elaborate(self, platform):
        m = Module()
        with m.If(self.rsp.ready):
            m.d.sync += self.rsp.valid.eq(0)
        m.d.comb += self.cmd.ready.eq(~self.rsp.valid)
        with m.If(self.cmd.valid & self.cmd.ready):
            m.d.sync += [self.rsp.valid.eq(1),
                         self.rsp.payload.data.eq(self.cmd.payload.cmd.addr)]
        return m


def test_block_addresses_carry():
    """The link steps a block's address a byte at a time: carries cross every byte."""
    transport = SimTransport(timeout=TIMEOUT, budget=20_000, array=EchoArray())
    h = HostLink(transport)
    try:
        space = cfgbus.Space.WEIGHT
        assert h.read_block(Target.CORE, 0, space, 0xFE, 3) == [0xFE, 0xFF, 0x100]
        assert h.read_block(Target.CORE, 0, space, 0x7FFF_FFFF, 2) == [0x7FFF_FFFF, -(1 << 31)]
        assert h.read_block(Target.CORE, 0, space, 0x00FF_FFFF, 2, width=2) == [-1, 0]
        assert h.read_block(Target.CORE, 0, space, 0xFFFF_FFFF, 2, width=1) == [-1, 0]
    finally:
        transport.close()

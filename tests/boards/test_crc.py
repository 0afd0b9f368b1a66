"""The driver's table-driven CRC is the hardware's CRC (amaranth.lib.crc catalogue entry)."""

import random

from amaranth.sim import Simulator

from spikeforge.host import crc16, encode_frame
from spikeforge.rtl.hostlink import CRC_ALGORITHM


def test_check_value():
    # The catalogue's check value of CRC-16/IBM-3740 over "123456789".
    assert crc16(b"123456789") == 0x29B1
    assert CRC_ALGORITHM(8).compute(b"123456789") == 0x29B1


def test_python_matches_amaranth_model():
    rng = random.Random(7)
    params = CRC_ALGORITHM(8)
    for n in list(range(0, 70)) + [255]:
        data = bytes(rng.choices(range(256), k=n))
        assert crc16(data) == params.compute(data), data.hex()


def test_python_matches_hardware_processor():
    """The gateware CRC (the Processor the host link uses) agrees byte for byte, and a
    frame body followed by its CRC leaves the residue (``match_detected``)."""
    rng = random.Random(3)
    frames = [bytes(rng.choices(range(256), k=n)) for n in (1, 5, 14, 66)]
    proc = CRC_ALGORITHM(8).create()
    seen, matched = [], []

    async def bench(ctx):
        for data in frames:
            ctx.set(proc.start, 1)
            await ctx.tick()
            ctx.set(proc.start, 0)
            ctx.set(proc.valid, 1)
            for byte in data:
                ctx.set(proc.data, byte)
                await ctx.tick()
            ctx.set(proc.valid, 0)
            seen.append(ctx.get(proc.crc))
            ctx.set(proc.valid, 1)                      # append the CRC, big-endian
            for byte in crc16(data).to_bytes(2, "big"):
                ctx.set(proc.data, byte)
                await ctx.tick()
            ctx.set(proc.valid, 0)
            matched.append(ctx.get(proc.match_detected))

    sim = Simulator(proc)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen == [crc16(f) for f in frames]
    assert matched == [1] * len(frames)


def test_frame_residue():
    frame = encode_frame(0x01, bytes(range(12)))
    assert frame[0] == 0xA5 and frame[1] == 0x01 and frame[2] == 12
    assert crc16(frame[1:]) == 0     # body + big-endian CRC leaves residue 0

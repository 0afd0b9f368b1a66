"""The SPRAM model against lib.memory, and LaneMemory (both kinds) against a Python model."""

import random

import pytest
from amaranth import Module, signed, unsigned
from amaranth.lib import memory
from amaranth.sim import Simulator

from spikeforge.rtl.memory import LaneMemory, bram_blocks, spram_blocks, spram_geometry
from spikeforge.rtl.spram import SPRAM, power_up_pattern


def test_spram_model_matches_lib_memory():
    """Reads and nibble-masked writes behave as a lib.memory with 4-bit granularity; reads
    hold without chip select; after a write the output is undefined (0xDEAD in the model);
    power-up contents are not zeros."""
    m = Module()
    m.submodules.spram = ram = SPRAM()
    m.submodules.ref = ref = memory.Memory(shape=16, depth=16384,
                                           init=power_up_pattern(16384))
    wp, rp = ref.write_port(granularity=4), ref.read_port()
    m.d.comb += [wp.addr.eq(ram.addr), wp.data.eq(ram.wdata),
                 wp.en.eq(ram.mask & (ram.cs & ram.we).replicate(4)),
                 rp.addr.eq(ram.addr), rp.en.eq(ram.cs & ~ram.we)]
    rng = random.Random(5)
    checked = []

    async def bench(ctx):
        assert ctx.get(ram.rdata) == 0
        addrs = [0, 1, 2, 16383, 8191]
        last_was_read = False
        for _ in range(400):
            op = rng.choice("rrwi")
            addr = rng.choice(addrs)
            ctx.set(ram.addr, addr)
            ctx.set(ram.cs, op != "i")
            ctx.set(ram.we, op == "w")
            ctx.set(ram.mask, rng.randrange(16))
            ctx.set(ram.wdata, rng.randrange(1 << 16))
            await ctx.tick()
            if op == "r" or (op == "i" and last_was_read):
                assert ctx.get(ram.rdata) == ctx.get(rp.data)
                checked.append(addr)
            elif op == "w":
                assert ctx.get(ram.rdata) == 0xDEAD
            last_was_read = op == "r" or (op == "i" and last_was_read)
        assert power_up_pattern(16384)[:4] != [0, 0, 0, 0]

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert len(checked) > 100


def _lane_values(rng, lanes, shape):
    lo, hi = (-(1 << (shape.width - 1)), (1 << (shape.width - 1)) - 1) if shape.signed \
        else (0, (1 << shape.width) - 1)
    return [rng.randint(lo, hi) for _ in range(lanes)]


@pytest.mark.parametrize("kind, lanes, shape, depth", [
    ("spram", 16, signed(4), 16384 + 64),   # the UP5K weight bank with the bias row spilled
    ("spram", 8, signed(6), 16384),          # 6-bit lanes padded to 8: 4 SPRAMs wide
    ("spram", 2, unsigned(8), 20000),        # one SPRAM wide, two banks deep
    ("bram", 16, signed(4), 96),
])
def test_lane_memory(kind, lanes, shape, depth):
    dut = LaneMemory(lanes=lanes, shape=shape, depth=depth, kind=kind)
    rng = random.Random(depth + lanes)
    model = {}
    addrs = sorted({0, 1, depth - 1, depth - 2, min(16383, depth - 1), min(16384, depth - 1),
                    rng.randrange(depth)})
    reads = 0

    async def bench(ctx):
        nonlocal reads
        ctx.set(dut.read.en, 0)
        for _ in range(300):
            addr = rng.choice(addrs)
            if rng.random() < 0.5:
                mask = rng.randrange(1, 1 << lanes)
                values = _lane_values(rng, lanes, shape)
                ctx.set(dut.write.addr, addr)
                ctx.set(dut.write.en, mask)
                for i, v in enumerate(values):
                    ctx.set(dut.write.data[i], v)
                await ctx.tick()
                ctx.set(dut.write.en, 0)
                row = model.setdefault(addr, [None] * lanes)
                for i in range(lanes):
                    if mask >> i & 1:
                        row[i] = values[i]
            else:
                ctx.set(dut.read.addr, addr)
                ctx.set(dut.read.en, 1)
                await ctx.tick()
                ctx.set(dut.read.en, 0)
                ctx.set(dut.read.addr, rng.choice(addrs))       # data must hold
                await ctx.tick()
                row = model.get(addr, [None] * lanes)
                for i in range(lanes):
                    if row[i] is not None:
                        assert ctx.get(dut.read.data[i]) == row[i], (addr, i)
                reads += 1

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert reads > 50


def test_block_counts():
    # iCE40: width drives the count; 64 rows x 64 bits still takes 4 blocks of 256 x 16.
    assert bram_blocks("ice40", 64, 64) == 4
    assert bram_blocks("ice40", 1024, 10) == 3      # 1024 x 4 mode, 3 wide
    assert bram_blocks("ice40", 16384, 64) == 256
    # ECP5: 18-kbit blocks.
    assert bram_blocks("ecp5", 512, 36) == 1
    assert bram_blocks("ecp5", 2048, 8) == 1
    # Lane memories of 8-bit lanes as Yosys 0.70 maps them (synth_ecp5 of a Memory with a
    # write granularity of 8): the aspect ratio trades blocks against read multiplexers.
    for depth, width, blocks in ((5632, 64, 24), (12672, 32, 26), (3104, 128, 28),
                                 (2560, 160, 25), (6144, 64, 24), (4096, 64, 16)):
        assert bram_blocks("ecp5", depth, width, 8) == blocks, (depth, width)
    assert bram_blocks("ecp5", 6464, 64) == 26       # 512 x 36: 13 deep x 2 wide
    # Nine 8-bit lanes (Yosys 0.70): a byte of their own each (a write enable per lane), or
    # packed (one write enable per row): 2048 x 72 -> 9 or 8 blocks; 1536 x 72 packed -> 6.
    assert bram_blocks("ecp5", 2048, 72, 8) == 9
    assert bram_blocks("ecp5", 2048, 72) == 8
    assert bram_blocks("ecp5", 1536, 72) == 6
    # The UP5K weight bank: 4 SPRAMs and the bias row (64 rows x 64 bits) spilled.
    assert spram_blocks(16, 4, 257 * 64) == (4, 64, 64)
    assert spram_geometry(16, 4, 257 * 64) == (4, 4, 1, 64)
    with pytest.raises(ValueError, match="at most 64"):
        spram_geometry(16, 5, 1024)

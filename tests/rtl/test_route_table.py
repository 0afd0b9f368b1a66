"""RouteTable: fan-out expansion against a reference, configuration errors change nothing."""

import random

import pytest
from amaranth.sim import Simulator

from spikeforge.golden_model import ArrayConfig, CoreConfig
from spikeforge.rtl.array_bus import ROUTE_POINTER, pack_route_entry, pack_route_pointer
from spikeforge.rtl.cfgbus import Op, Status
from spikeforge.rtl.route_table import RouteTable


def _array():
    return ArrayConfig((CoreConfig(neurons=8, axons=5), CoreConfig(neurons=4, axons=3)),
                       routes_per_core=16)


async def _command(ctx, dut, op, addr, value=0):
    ctx.set(dut.cfg.payload, {"op": op, "space": 0, "addr": addr, "data": value})
    ctx.set(dut.cfg.valid, 1)
    await ctx.tick().until(dut.cfg.ready)
    ctx.set(dut.cfg.valid, 0)
    ctx.set(dut.rsp.ready, 1)
    payload, = await ctx.tick().sample(dut.rsp.payload).until(dut.rsp.valid)
    ctx.set(dut.rsp.ready, 0)
    return Status(payload.status), payload.data


def ref_expand(pointers, entries, spikes):
    out = []
    for n in spikes:
        start, count = pointers.get(n, (0, 0))
        out += entries[start:start + count]
    return out


def rtl_expand(pointers, entries, spikes, stall_seed):
    arr = _array()
    dut = RouteTable(arr, 0)
    got, checks = [], []
    rng = random.Random(stall_seed)

    async def host(ctx):
        for e, (core, axon, host) in enumerate(entries):
            st, _ = await _command(ctx, dut, Op.WRITE, e, pack_route_entry(core, axon, host))
            assert st == Status.OK
        for n, (start, count) in pointers.items():
            st, _ = await _command(ctx, dut, Op.WRITE, ROUTE_POINTER | n,
                                   pack_route_pointer(start, count))
            assert st == Status.OK
        # Refused writes: an axon beyond core 1's three axons, a core that does not exist,
        # a pointer leaving the table, an address out of range.
        for addr, value, status in (
                (0, pack_route_entry(1, 3), Status.BAD_VALUE),
                (0, pack_route_entry(2, 0), Status.BAD_VALUE),
                (ROUTE_POINTER | 1, pack_route_pointer(10, 7), Status.BAD_VALUE),
                (16, pack_route_entry(0, 0), Status.BAD_ADDR),
                (ROUTE_POINTER | 8, 0, Status.BAD_ADDR)):
            st, _ = await _command(ctx, dut, Op.WRITE, addr, value)
            checks.append(st == status)
        # Read back: nothing changed.
        for e, (core, axon, host) in enumerate(entries):
            st, v = await _command(ctx, dut, Op.READ, e)
            checks.append(st == Status.OK and v == pack_route_entry(core, axon, host))
        for n, (start, count) in pointers.items():
            st, v = await _command(ctx, dut, Op.READ, ROUTE_POINTER | n)
            checks.append(st == Status.OK and v == pack_route_pointer(start, count))
        for n in spikes:
            ctx.set(dut.i.payload, n)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        while True:
            ready = rng.random() > 0.3
            ctx.set(dut.o.ready, ready)
            _, _, valid, p = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            if ready and valid:     # a transfer happens at this edge
                got.append((p.core, p.axon, bool(p.host)))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(host)
    sim.add_testbench(sink, background=True)
    sim.run_until(2e-3)
    assert all(checks)
    return got


@pytest.mark.parametrize("seed", range(3))
def test_fanout_matches_reference(seed):
    rng = random.Random(seed)
    entries = [(rng.randrange(2), 0, False) for _ in range(16)]
    entries = [(c, rng.randrange(5 if c == 0 else 3), False) for c, _, _ in entries]
    entries[3] = (0, 0, True)
    pointers, pos = {}, 0
    for n in range(8):
        count = rng.randrange(0, 4)
        if pos + count > 16:
            count = 0
        pointers[n] = (pos, count)
        pos += count
    spikes = [rng.randrange(8) for _ in range(20)]
    assert rtl_expand(pointers, entries, spikes, seed) == ref_expand(pointers, entries, spikes)


def test_entries_leave_one_per_cycle():
    """While ``o.ready`` stays high a spike's entries leave in consecutive cycles."""
    dut = RouteTable(_array(), 0)
    taken = []

    async def testbench(ctx):
        for e in range(16):
            st, _ = await _command(ctx, dut, Op.WRITE, e, pack_route_entry(e % 2, e % 3))
            assert st == Status.OK
        for n, (start, count) in {2: (3, 6), 5: (15, 1)}.items():
            st, _ = await _command(ctx, dut, Op.WRITE, ROUTE_POINTER | n,
                                   pack_route_pointer(start, count))
            assert st == Status.OK
        for n in (2, 5, 2):
            ctx.set(dut.i.payload, n)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)
        await ctx.tick().repeat(20)

    async def sink(ctx):
        ctx.set(dut.o.ready, 1)
        cycle = 0
        while True:
            _, _, valid, p = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            cycle += 1
            if valid:
                taken.append((cycle, p.core, p.axon))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.add_testbench(sink, background=True)
    sim.run()
    entries = [(e % 2, e % 3) for e in range(16)]
    assert [x[1:] for x in taken] == entries[3:9] + entries[15:16] + entries[3:9]
    cycles = [x[0] for x in taken]
    for run in (cycles[:6], cycles[7:]):       # each spike's entries back to back
        assert run == list(range(run[0], run[0] + 6))


def test_constructor_checks():
    with pytest.raises(ValueError, match="core: expected an integer in \\[0, 1\\], got 2"):
        RouteTable(_array(), 2)
    with pytest.raises(TypeError, match="array: expected an ArrayConfig"):
        RouteTable(CoreConfig(neurons=4, axons=4), 0)

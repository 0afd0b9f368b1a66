"""NeuromorphicArray control path in the Amaranth simulator: registers, refusals, CLEAR.

The data path (spikes, membranes, counters against the golden model) is covered by the cocotb
tests in ``tests/cosim``; here the command decoder's contract is checked directly, with the
response stream held ready (a response must still be offered, never skipped).
"""

import pytest
from amaranth.sim import Simulator

from spikeforge.golden_model import ArrayConfig, CoreConfig
from spikeforge.rtl.array import NeuromorphicArray
from spikeforge.rtl.array_bus import ArrayReg, Target, pack_array_command
from spikeforge.rtl.cfgbus import Op, Space, StateField, Status

CORE = CoreConfig(neurons=4, axons=4, weight_bits=4, lanes=2)
ARRAY = ArrayConfig((CORE, CORE), mesh=(1, 2), phases=2)


def run(testbench):
    dut = NeuromorphicArray(ARRAY)
    sim = Simulator(dut)
    sim.add_clock(1e-6)

    async def bench(ctx):
        await testbench(ctx, dut)
    sim.add_testbench(bench)
    sim.run()


async def command(ctx, dut, target, core, op, addr, value=0, space=Space.WEIGHT):
    # Built as raw bits, so a target value outside the enum (3) can be sent too.
    word = pack_array_command(Target.CORE, core, op, space, addr, value) | getattr(target, "value", target)
    ctx.set(dut.cmd.payload.as_value(), word)
    ctx.set(dut.cmd.valid, 1)
    ctx.set(dut.rsp.ready, 1)      # ready before the response exists: it must still come
    await ctx.tick().until(dut.cmd.ready)
    ctx.set(dut.cmd.valid, 0)
    payload, = await ctx.tick().sample(dut.rsp.payload).until(dut.rsp.valid)
    ctx.set(dut.rsp.ready, 0)
    return Status(payload.status), payload.data


def test_registers_and_refusals():
    async def tb(ctx, dut):
        A, W, R = Target.ARRAY, Op.WRITE, Op.READ
        assert await command(ctx, dut, A, 1, W, ArrayReg.PHASE, 1) == (Status.OK, 0)
        assert await command(ctx, dut, A, 1, R, ArrayReg.PHASE) == (Status.OK, 1)
        # Phase beyond the array's phases, a core that does not exist, a negative run count,
        # a register that does not exist, the unused target: refused, nothing changes.
        assert (await command(ctx, dut, A, 1, W, ArrayReg.PHASE, 2))[0] == Status.BAD_VALUE
        assert (await command(ctx, dut, A, 2, W, ArrayReg.PHASE, 0))[0] == Status.BAD_ADDR
        assert (await command(ctx, dut, A, 0, W, ArrayReg.RUN, -1))[0] == Status.BAD_VALUE
        assert (await command(ctx, dut, A, 0, R, 99))[0] == Status.BAD_ADDR
        assert (await command(ctx, dut, 3, 0, R, 0))[0] == Status.BAD_ADDR
        assert (await command(ctx, dut, Target.CORE, 5, R, 0))[0] == Status.BAD_ADDR
        assert await command(ctx, dut, A, 1, R, ArrayReg.PHASE) == (Status.OK, 1)
        assert await command(ctx, dut, A, 0, R, ArrayReg.RUN) == (Status.OK, 0)
    run(tb)


def test_clear_zeroes_state_and_answers():
    async def tb(ctx, dut):
        C = Target.CORE
        addr = int(StateField.MEMBRANE) * CORE.neurons + 3
        assert (await command(ctx, dut, C, 1, Op.WRITE, addr, -7, Space.STATE))[0] == Status.OK
        assert await command(ctx, dut, C, 1, Op.READ, addr, 0, Space.STATE) == (Status.OK, -7)
        assert await command(ctx, dut, Target.ARRAY, 0, Op.WRITE, ArrayReg.CLEAR, 1) == \
            (Status.OK, 0)
        assert await command(ctx, dut, C, 1, Op.READ, addr, 0, Space.STATE) == (Status.OK, 0)
    run(tb)


def test_a_command_after_a_host_event_sees_it_integrated():
    """A command taken right behind a host event reaches the core only once the event has
    crossed the mesh and been integrated: a read of the accumulator sees its weight."""
    async def tb(ctx, dut):
        C, N = Target.CORE, CORE.neurons
        assert (await command(ctx, dut, C, 1, Op.WRITE, 2 * N + 3, 5))[0] == Status.OK
        ctx.set(dut.events.payload, {"core": 1, "axon": 2})
        ctx.set(dut.events.valid, 1)
        await ctx.tick().until(dut.events.ready)
        ctx.set(dut.events.valid, 0)
        acc = int(StateField.ACC) * N + 3
        assert await command(ctx, dut, C, 1, Op.READ, acc, 0, Space.STATE) == (Status.OK, 5)
    run(tb)


def test_bad_host_events_are_counted_not_delivered():
    async def tb(ctx, dut):
        for core, axon in ((2, 0), (0, 4), (1, 3)):     # no core 2; core 0 has axons 0..3
            ctx.set(dut.events.payload, {"core": core, "axon": axon})
            ctx.set(dut.events.valid, 1)
            await ctx.tick().until(dut.events.ready)
        ctx.set(dut.events.valid, 0)
        assert await command(ctx, dut, Target.ARRAY, 0, Op.READ, ArrayReg.BAD_EVENTS) == \
            (Status.OK, 2)
    run(tb)


def test_constructor_refuses_a_core_config():
    with pytest.raises(TypeError, match="config: expected an ArrayConfig"):
        NeuromorphicArray(CORE)

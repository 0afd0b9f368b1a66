"""8N1 UART: divisor checks, tx -> rx loopback, glitch immunity and framing errors."""

import random

import pytest
from amaranth import Module
from amaranth.sim import Simulator

from spikeforge.rtl.uart import UART, UARTRx, uart_divisor


def test_divisor():
    assert uart_divisor(12e6, 1_000_000) == 12
    assert uart_divisor(25e6, 115_200) == 217
    with pytest.raises(ValueError, match="at least 4"):
        uart_divisor(12e6, 3_000_000 * 2)
    with pytest.raises(ValueError, match="off by"):
        uart_divisor(12e6, 2_500_000)          # 4.8 cycles per bit: 25 % off
    with pytest.raises(ValueError, match="positive"):
        uart_divisor(0, 9600)


@pytest.mark.parametrize("baud", [1_000_000, 2_000_000])
def test_loopback(baud):
    """Bytes sent by the transmitter come out of the receiver wired to its pin, in order."""
    dut = UART(clk_freq=8e6, baud=baud)
    m = Module()
    m.submodules.uart = dut
    m.d.comb += dut.rx.eq(dut.tx)
    data = [0x00, 0xFF, 0x55, 0xAA, 0xA5, 0x5A] + random.Random(1).choices(range(256), k=10)
    got = []

    async def send(ctx):
        for byte in data:
            ctx.set(dut.i.payload, byte)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)

    async def receive(ctx):
        ctx.set(dut.o.ready, 1)
        while len(got) < len(data):
            payload, err = await ctx.tick().sample(dut.o.payload,
                                                   dut.frame_error).until(dut.o.valid)
            got.append(payload)
            assert not err

    sim = Simulator(m)
    sim.add_clock(1 / 8e6)
    sim.add_testbench(send)
    sim.add_testbench(receive)
    sim.run_until(len(data) * 10 * 8 / baud * 1.5 + 1e-5)
    assert got == data


def _bits(byte, stop=1):
    return [0] + [(byte >> b) & 1 for b in range(8)] + [stop]


@pytest.mark.parametrize("glitch_at", range(8))
def test_rx_glitches_and_framing(glitch_at):
    """A one-cycle glitch anywhere in a bit does not flip it (majority vote); a short low
    pulse on the idle line is not a start bit; a low stop bit drops the byte."""
    d = 8
    dut = UARTRx(divisor=d)
    got, errors = [], []

    async def drive(ctx):
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(20)
        ctx.set(dut.rx, 0)                      # a 2-cycle spike on the idle line
        await ctx.tick().repeat(2)
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(30)
        for byte, stop in ((0x3C, 1), (0x81, 0), (0xC3, 1)):
            for bit in _bits(byte, stop):
                for cycle in range(d):
                    glitch = cycle == glitch_at    # flip one sample of every bit
                    ctx.set(dut.rx, bit ^ glitch)
                    await ctx.tick()
            ctx.set(dut.rx, 1)
            await ctx.tick().repeat(2 * d)

    async def watch(ctx):
        ctx.set(dut.o.ready, 1)
        async for _, _, valid, payload, err in ctx.tick().sample(dut.o.valid, dut.o.payload,
                                                                 dut.frame_error):
            if valid:
                got.append(payload)
            if err:
                errors.append(len(got))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(drive)
    sim.add_process(watch)
    sim.run()
    assert got == [0x3C, 0xC3]
    assert errors == [1]

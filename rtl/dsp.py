"""Two multiply-subtracts in one iCE40 DSP block (``SB_MAC16`` in its 8 x 8 mode).

Yosys maps a multiplication to ``SB_MAC16`` one product per block (16 x 16); the block also
holds two independent 8 x 8 multipliers, each followed by a 16-bit adder/subtractor and an
output register, which Yosys does not infer.  :class:`MulSubPair` instantiates the primitive
for those on iCE40 platforms and elaborates to the same arithmetic in logic elsewhere
(simulation, ``verilog.convert``, ECP5).  The primitive's configuration is
:data:`MAC16_PAIR_PARAMS`; ``tests/formal/test_dsp_pair.py`` proves it against Yosys's own
model of the block (``cells_sim.v``).

The LIF core uses it for the shift leak of two lanes (:func:`leak_blocks`): the membrane
decay ``v - (v >> k)`` is ``(v * 2**V + 2**V - 1 - v * 2**(V - k)) >> V``, a multiply-subtract
and a slice, so the block replaces the lane's barrel shifter, subtractor and pipeline register.
"""

from amaranth import Cat, ClockSignal, Instance, Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .spram import check_model, use_model

__all__ = ["MulSubPair", "MAC16_PAIR_PARAMS", "PAIR_MAX_BITS", "SINGLE_MAX_BITS",
           "leak_blocks", "leak_lanes", "MAC16_HIDDEN", "HIDE_MAC16", "SHOW_MAC16",
           "mac16_stub"]

#: ``SB_MAC16`` as two 8 x 8 multiply-subtracts, ``A`` signed, ``B`` unsigned: the top half
#: registers ``C - A[15:8] * B[15:8]`` on ``O[31:16]``, the bottom half ``D - A[7:0] * B[7:0]``
#: on ``O[15:0]`` (each adder's upper input is ``C``/``D``, its lower input the 8 x 8
#: product; with ``ADDSUBTOP``/``ADDSUBBOT`` high it subtracts the lower from the upper).
MAC16_PAIR_PARAMS = {
    "MODE_8x8": 1, "A_SIGNED": 1, "B_SIGNED": 0,
    "TOPOUTPUT_SELECT": 1, "BOTOUTPUT_SELECT": 1,
    "TOPADDSUB_LOWERINPUT": 1, "TOPADDSUB_UPPERINPUT": 1, "TOPADDSUB_CARRYSELECT": 0,
    "BOTADDSUB_LOWERINPUT": 1, "BOTADDSUB_UPPERINPUT": 1, "BOTADDSUB_CARRYSELECT": 0,
    "A_REG": 0, "B_REG": 0, "C_REG": 0, "D_REG": 0,
    "TOP_8x8_MULT_REG": 0, "BOT_8x8_MULT_REG": 0,
    "PIPELINE_16x16_MULT_REG1": 0, "PIPELINE_16x16_MULT_REG2": 0,
    "NEG_TRIGGER": 0,
}

#: Yosys's ``ice40_dsp`` pass (run by ``synth_ice40 -dsp``) takes every ``SB_MAC16`` it finds for
#: a multiplier it mapped itself and rewrites its configuration: a :class:`MulSubPair` block
#: would lose its 8 x 8 mode, its subtractors, its output registers and its clock (``CLK`` tied
#: low).  A synthesis script therefore hides the blocks under this cell type while
#: ``synth_ice40`` runs (:data:`HIDE_MAC16` after reading the design, :data:`SHOW_MAC16` after
#: synthesis), with :func:`mac16_stub` read first to declare it.
#: ``tests/formal/test_dsp_pair.py`` proves the netlist that comes out of this flow.
MAC16_HIDDEN = "spikeforge_mac16"
HIDE_MAC16 = f"chtype -map SB_MAC16 {MAC16_HIDDEN}"
SHOW_MAC16 = f"chtype -map {MAC16_HIDDEN} SB_MAC16"


def mac16_stub():
    """Return Verilog that declares :data:`MAC16_HIDDEN` as a black box with the ports and
    parameters of ``SB_MAC16``."""
    params = "".join(f"  parameter {k} = 0;\n" for k in MAC16_PAIR_PARAMS)
    return (f"(* blackbox *)\nmodule {MAC16_HIDDEN}(\n"
            "  input CLK, CE, input [15:0] C, A, B, D,\n"
            "  input AHOLD, BHOLD, CHOLD, DHOLD, IRSTTOP, IRSTBOT, ORSTTOP, ORSTBOT,\n"
            "  input OLOADTOP, OLOADBOT, ADDSUBTOP, ADDSUBBOT, OHOLDTOP, OHOLDBOT,\n"
            "  input CI, ACCUMCI, SIGNEXTIN,\n"
            "  output [31:0] O, output CO, ACCUMCO, SIGNEXTOUT);\n"
            f"{params}endmodule\n")


#: Widest membrane whose leak half a block computes (8-bit signed multiplier operand).
PAIR_MAX_BITS = 8
#: Widest membrane whose leak a whole block multiplies (16 x 16; the factor has V + 1 bits).
SINGLE_MAX_BITS = 15


def leak_blocks(cfg, lanes):
    """Return the DSP blocks ``lanes`` lanes of core ``cfg`` use for their membrane leak
    (``LIFCore(leak_multipliers=lanes)``): two lanes a block up to :data:`PAIR_MAX_BITS`-bit
    membranes (:class:`MulSubPair`), one a block beyond (a 16 x 16 multiplication)."""
    return -(-lanes // 2) if cfg.membrane_bits <= PAIR_MAX_BITS else lanes


def leak_lanes(cfg, blocks):
    """Return how many lanes of core ``cfg`` can leak through ``blocks`` DSP blocks (0 if
    its leak is not ``"shift"`` or its membrane too wide)."""
    if cfg.leak != "shift" or cfg.membrane_bits > SINGLE_MAX_BITS or blocks <= 0:
        return 0
    per = 2 if cfg.membrane_bits <= PAIR_MAX_BITS else 1
    return min(cfg.lanes, per * blocks)


class MulSubPair(wiring.Component):
    """``z0 = c0 - a0 * b0`` and ``z1 = c1 - a1 * b1`` modulo ``2**16``, registered: the
    results of the operands of cycle ``t`` appear in cycle ``t + 1`` (the register has no
    reset).  ``a`` signed 8-bit, ``b`` unsigned 8-bit, ``c`` and ``z`` 16-bit.

    Parameters
    ----------
    model : bool or None
        ``None`` (default): the primitive on iCE40 platforms, logic elsewhere; ``True``
        forces the logic.
    """

    a0: In(signed(8))
    b0: In(unsigned(8))
    c0: In(signed(16))
    a1: In(signed(8))
    b1: In(unsigned(8))
    c1: In(signed(16))
    z0: Out(signed(16))
    z1: Out(signed(16))

    def __init__(self, *, model=None):
        self._model = check_model(model)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        if use_model(self._model, platform):
            for a, b, c, z in ((self.a0, self.b0, self.c0, self.z0),
                               (self.a1, self.b1, self.c1, self.z1)):
                m.d.sync += z.eq(c - a * b)
            return m
        o = Signal(32)
        m.submodules.mac = Instance(
            "SB_MAC16", **{f"p_{k}": v for k, v in MAC16_PAIR_PARAMS.items()},
            i_CLK=ClockSignal("sync"), i_CE=1, i_A=Cat(self.a0, self.a1),
            i_B=Cat(self.b0, self.b1), i_C=self.c1, i_D=self.c0,
            i_AHOLD=0, i_BHOLD=0, i_CHOLD=0, i_DHOLD=0, i_IRSTTOP=0, i_IRSTBOT=0,
            i_ORSTTOP=0, i_ORSTBOT=0, i_OLOADTOP=0, i_OLOADBOT=0, i_ADDSUBTOP=1,
            i_ADDSUBBOT=1, i_OHOLDTOP=0, i_OHOLDBOT=0, i_CI=0, i_ACCUMCI=0, i_SIGNEXTIN=0,
            o_O=o)
        m.d.comb += [self.z0.eq(o[:16]), self.z1.eq(o[16:])]
        return m

"""Two 8 x 8 multipliers in one iCE40 DSP block (``SB_MAC16`` in its 8 x 8 mode).

Yosys maps a multiplication to ``SB_MAC16`` one product per block (16 x 16); the block also
holds two independent 8 x 8 multipliers, which Yosys does not infer.  :class:`MulPair`
instantiates the primitive for those on iCE40 platforms and elaborates to ``a * b`` elsewhere
(simulation, ``verilog.convert``, ECP5).  The primitive's configuration is
:data:`MAC16_PAIR_PARAMS`; ``tests/formal/test_dsp_pair.py`` proves it against Yosys's own
model of the block (``cells_sim.v``).
"""

from amaranth import Cat, Instance, Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .spram import is_ice40

__all__ = ["MulPair", "MAC16_PAIR_PARAMS", "PAIR_MAX_BITS", "SINGLE_MAX_BITS", "leak_lanes",
           "leak_blocks"]

#: ``SB_MAC16`` as two combinational 8 x 8 multipliers, ``A`` signed, ``B`` unsigned: the top
#: product ``A[15:8] * B[15:8]`` on ``O[31:16]``, the bottom one ``A[7:0] * B[7:0]`` on
#: ``O[15:0]``, no register anywhere.
MAC16_PAIR_PARAMS = {
    "MODE_8x8": 1, "A_SIGNED": 1, "B_SIGNED": 0,
    "TOPOUTPUT_SELECT": 2, "BOTOUTPUT_SELECT": 2,
    "A_REG": 0, "B_REG": 0, "C_REG": 0, "D_REG": 0,
    "TOP_8x8_MULT_REG": 0, "BOT_8x8_MULT_REG": 0,
    "PIPELINE_16x16_MULT_REG1": 0, "PIPELINE_16x16_MULT_REG2": 0,
    "TOPADDSUB_LOWERINPUT": 0, "TOPADDSUB_UPPERINPUT": 0, "TOPADDSUB_CARRYSELECT": 0,
    "BOTADDSUB_LOWERINPUT": 0, "BOTADDSUB_UPPERINPUT": 0, "BOTADDSUB_CARRYSELECT": 0,
    "NEG_TRIGGER": 0,
}


#: Widest membrane whose leak half a block multiplies (``MulPair``: 8-bit signed operand).
PAIR_MAX_BITS = 8
#: Widest membrane whose leak a whole block multiplies (16 x 16; the factor has V + 1 bits).
SINGLE_MAX_BITS = 15


def leak_blocks(cfg, lanes):
    """Return the DSP blocks ``lanes`` lanes of core ``cfg`` use to multiply their membrane
    leak (``LIFCore(leak_multipliers=lanes)``): two lanes a block up to
    :data:`PAIR_MAX_BITS`-bit membranes, one a block beyond."""
    return -(-lanes // 2) if cfg.membrane_bits <= PAIR_MAX_BITS else lanes


def leak_lanes(cfg, blocks):
    """Return how many lanes of core ``cfg`` can leak through ``blocks`` DSP blocks (0 if
    its leak is not ``"shift"`` or its membrane too wide)."""
    if cfg.leak != "shift" or cfg.membrane_bits > SINGLE_MAX_BITS or blocks <= 0:
        return 0
    per = 2 if cfg.membrane_bits <= PAIR_MAX_BITS else 1
    return min(cfg.lanes, per * blocks)


class MulPair(wiring.Component):
    """``p0 = a0 * b0`` and ``p1 = a1 * b1``, combinational: signed 8-bit ``a``, unsigned
    8-bit ``b``, signed 16-bit products (exact: the largest magnitude is 128 * 255).

    Parameters
    ----------
    model : bool or None
        ``None`` (default): the primitive on iCE40 platforms, ``a * b`` elsewhere; ``True``
        forces ``a * b``.
    """

    a0: In(signed(8))
    b0: In(unsigned(8))
    a1: In(signed(8))
    b1: In(unsigned(8))
    p0: Out(signed(16))
    p1: Out(signed(16))

    def __init__(self, *, model=None):
        if model not in (None, True, False):
            raise TypeError(f"model: expected None, True or False, not {model!r}")
        self._model = model
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        use_model = self._model if self._model is not None else not is_ice40(platform)
        if use_model:
            m.d.comb += [self.p0.eq(self.a0 * self.b0), self.p1.eq(self.a1 * self.b1)]
            return m
        o = Signal(32)
        m.submodules.mac = Instance(
            "SB_MAC16", **{f"p_{k}": v for k, v in MAC16_PAIR_PARAMS.items()},
            i_CLK=0, i_CE=0, i_A=Cat(self.a0, self.a1), i_B=Cat(self.b0, self.b1), i_C=0, i_D=0,
            i_AHOLD=0, i_BHOLD=0, i_CHOLD=0, i_DHOLD=0, i_IRSTTOP=0, i_IRSTBOT=0,
            i_ORSTTOP=0, i_ORSTBOT=0, i_OLOADTOP=0, i_OLOADBOT=0, i_ADDSUBTOP=0,
            i_ADDSUBBOT=0, i_OHOLDTOP=0, i_OHOLDBOT=0, i_CI=0, i_ACCUMCI=0, i_SIGNEXTIN=0,
            o_O=o)
        m.d.comb += [self.p0.eq(o[:16]), self.p1.eq(o[16:])]
        return m

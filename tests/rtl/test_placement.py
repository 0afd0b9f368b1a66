"""The placement plan lists exactly the memories the array's RTL builds, placed as planned.

``spikeforge fit`` counts blocks from the plan and ``spikeforge build`` builds from it; these
tests read the memories back out of the generated RTLIL (width, depth, ``ram_style``) and
compare them with the plan, so a memory added to the RTL but not to the plan fails here.
"""

import collections
import re

import pytest
from amaranth.back import rtlil

from spikeforge.golden_model import ArrayConfig, CoreConfig
from spikeforge.rtl.array import NeuromorphicArray
from spikeforge.rtl.memory import bram_tiling, weight_bank_depths
from spikeforge.rtl.placement import plan

STYLE = {"bram": "block", "lutram": "distributed", "regs": "logic"}


def rtl_memories(array, placement):
    """Return a Counter of (width, depth, ram_style) over every memory of the array's RTLIL."""
    lines = rtlil.convert(NeuromorphicArray(array, placement=placement)).splitlines()
    found = collections.Counter()
    for i, line in enumerate(lines):
        m = re.match(r"\s*memory width (\d+) size (\d+) ", line)
        if not m:
            continue
        style = None
        for prev in reversed(lines[max(0, i - 4):i]):
            s = re.match(r'\s*attribute \\ram_style "(\w+)"', prev)
            if s:
                style = s.group(1)
                break
        found[(int(m.group(1)), int(m.group(2)), style)] += 1
    return found


def planned(placement):
    return collections.Counter((u.width, u.depth, STYLE[u.kind]) for u in placement.memories)


CORE = CoreConfig(neurons=32, axons=6, weight_bits=8, membrane_bits=10, lanes=4,
                  refractory_bits=2)
CUBA = CoreConfig(neurons=24, axons=9, weight_bits=4, membrane_bits=12, lanes=3, cuba=True,
                  current_bits=7)


@pytest.mark.parametrize("family,brams", [("ecp5", 6), ("ecp5", None), ("ice40", None),
                                          (None, None)])
@pytest.mark.parametrize("cores", [(CORE,), (CORE, CUBA, CORE.replace(axons=9))],
                         ids=["one", "three"])
def test_plan_matches_rtl(family, brams, cores):
    array = ArrayConfig(cores=cores, phases=2 if len(cores) > 1 else 1, routes_per_core=40)
    place = plan(array, family, brams=brams)
    assert rtl_memories(array, place) == planned(place)
    if brams is not None:
        assert place.brams <= brams
        assert any(u.kind == "lutram" for u in place.memories)     # the budget ran out


def test_ecp5_weight_banks():
    """ECP5 weights that stack more than one block deep are banks of a block's depth, each a
    memory of its own in the RTL (read into its own register), counted bank by bank."""
    core = CoreConfig(neurons=64, axons=80, weight_bits=8, membrane_bits=10, lanes=1)
    array = ArrayConfig(cores=(core, CORE), phases=2, routes_per_core=40)
    place = plan(array, "ecp5")
    # 81 x 64 rows of 8 bits: 2048 x 9 blocks, three deep; CORE's weights fit one block.
    assert [c.weight_bank_rows for c in place.cores] == [2048, 0]
    banks = [u for u in place.memories if u.core == 0 and u.role == "weights"]
    assert [(u.depth, u.brams) for u in banks] == [(2048, 1), (2048, 1), (1088, 1)]
    assert [u.ffs for u in banks] == [0, 8, 8]      # the output registers past the first
    assert rtl_memories(array, place) == planned(place)
    assert plan(array, "ice40").cores[0].weight_bank_rows == 0
    assert plan(array, None).cores[0].weight_bank_rows == 0


def test_weight_bank_depths():
    """Rows past the full banks are one bank when their tiling is one row of blocks deep, and
    are split by powers of two while it stacks deeper; each bank starts on a multiple of its
    depth rounded up to a power of two."""
    assert weight_bank_depths(5184, 2048, 8, 8) == [2048, 2048, 1088]     # one 2048 x 9 block
    assert weight_bank_depths(5632, 2048, 64, 8) == [2048, 2048, 1024, 512]
    assert weight_bank_depths(5632, 2048, 72) == [2048, 2048, 1024, 512]  # packed, 9 lanes
    assert weight_bank_depths(3328, 2048, 64, 8) == [2048, 1024, 256]
    assert weight_bank_depths(3784, 2048, 64, 8) == [2048, 1736]          # one 2048 x 9 row
    assert weight_bank_depths(4096, 2048, 64, 8) == [2048, 2048]
    for depth in range(1, 6000, 37):
        banks = weight_bank_depths(depth, 2048, 64, 8)
        assert sum(banks) == depth
        for k, size in enumerate(banks):
            assert sum(banks[:k]) % (1 << (size - 1).bit_length()) == 0
            assert bram_tiling("ecp5", size, 64, 8)[1] >= size     # one row of blocks
    with pytest.raises(ValueError, match="bank: expected a power of two, not 1000"):
        weight_bank_depths(5000, 1000, 64, 8)


def test_ecp5_packed_weights():
    """Nine 8-bit lanes: written a row at a time, they share the blocks' 9-bit bytes (8 blocks
    of 2048 x 9 a bank instead of 9), so the plan packs them; eight lanes take as many blocks
    either way and keep a write enable per lane."""
    nine = CoreConfig(neurons=576, axons=87, weight_bits=8, membrane_bits=16, lanes=9)
    eight = CoreConfig(neurons=512, axons=87, weight_bits=8, membrane_bits=16, lanes=8)
    array = ArrayConfig(cores=(nine, eight), phases=2, routes_per_core=576)
    place = plan(array, "ecp5")
    assert [c.packed_weights for c in place.cores] == [True, False]
    assert [c.weight_bank_rows for c in place.cores] == [2048, 2048]
    # The 1,536 rows past the two full banks would stack three 512 x 36 blocks deep: they
    # are banks of 1,024 (1024 x 18) and 512 rows, one row of blocks each.
    for core, blocks in ((0, [8, 8, 4, 2]), (1, [8, 8, 4, 2])):
        banks = [u for u in place.memories if u.core == core and u.role == "weights"]
        assert [u.brams for u in banks] == blocks
    assert rtl_memories(array, place) == planned(place)
    assert not any(c.packed_weights for c in plan(array, "ice40").cores)
    assert not any(c.packed_weights for c in plan(array, None).cores)


def test_ice40_spram_weights():
    core = CoreConfig(neurons=1024, axons=255, weight_bits=4, membrane_bits=8, acc_bits=8,
                      lanes=16)
    place = plan(ArrayConfig(cores=(core, core), phases=1, routes_per_core=255), "ice40",
                 sprams=4)
    kinds = [c.kinds["weights"] for c in place.cores]
    assert kinds == ["spram", "bram"]            # the bank holds one core's weights
    assert place.sprams == 4
    assert [c.pipeline for c in place.cores] == ["compact", "compact"]


def test_bad_arguments():
    with pytest.raises(TypeError, match="array: expected an ArrayConfig"):
        plan({"cores": 1}, "ecp5")
    with pytest.raises(ValueError, match="family: expected 'ice40', 'ecp5' or None, not 'xc7'"):
        plan(ArrayConfig(cores=(CORE,), phases=1), "xc7")


def test_ice40_dsp_leak():
    """iCE40 DSP blocks multiply the shift leak of as many lanes as they cover (two lanes a
    block up to 8-bit membranes, one up to 15 bits), after the mult-leak cores took theirs."""
    def lanes(*cores, dsps=8, family="ice40"):
        p = plan(ArrayConfig(tuple(cores), phases=1), family, dsps=dsps)
        return [(c.leak_multipliers, c.leak_dsps) for c in p.cores]
    v8 = CoreConfig(neurons=64, axons=4, weight_bits=4, membrane_bits=8, lanes=16)
    assert lanes(v8) == [(16, 8)]
    assert lanes(v8.replace(lanes=8), v8.replace(lanes=8), v8) == [(8, 4), (8, 4), (0, 0)]
    assert lanes(v8.replace(membrane_bits=12)) == [(8, 8)]
    assert lanes(v8.replace(membrane_bits=16)) == [(0, 0)]
    mult = v8.replace(lanes=4, leak="mult")
    assert lanes(mult, v8) == [(0, 0), (8, 4)]
    assert lanes(v8, family="ecp5") == [(0, 0)]
    assert lanes(v8, dsps=0) == [(0, 0)]


def test_ice40_dsp_leak_rtl():
    """The array built for the iCEBreaker instantiates the DSP blocks its plan counts."""
    from amaranth_boards.icebreaker import ICEBreakerPlatform
    core = CoreConfig(neurons=64, axons=4, weight_bits=4, membrane_bits=8, lanes=8)
    array = ArrayConfig((core, core.replace(lanes=4)), phases=1)
    place = plan(array, "ice40", dsps=5, sprams=4)
    assert [c.leak_dsps for c in place.cores] == [4, 1]
    text = rtlil.convert(NeuromorphicArray(array, placement=place),
                         platform=ICEBreakerPlatform())
    assert len(re.findall(r"^\s*cell \\SB_MAC16 ", text, re.M)) == place.leak_dsps == 5

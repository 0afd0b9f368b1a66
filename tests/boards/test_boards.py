"""Board registry, default arrays, and every platform rendering its toolchain files."""

import pytest

from spikeforge.boards import BOARDS, BoardTop, get_board
from spikeforge.fit import fit
from spikeforge.golden_model import ArrayConfig, CoreConfig
from spikeforge.rtl.dsp import HIDE_MAC16, MAC16_HIDDEN, SHOW_MAC16, mac16_stub


def test_registry():
    assert set(BOARDS) == {"icebreaker", "ulx3s-12f", "ulx3s-25f", "ulx3s-45f", "ulx3s-85f",
                           "orangecrab-25f"}
    with pytest.raises(ValueError, match="icebreaker, orangecrab-25f, ulx3s-12f"):
        get_board("icestick")


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_board_attributes(name):
    board = get_board(name)
    assert board.name == name
    assert board.family in ("ice40", "ecp5")
    assert board.device and board.package and board.clk_freq > 0
    assert board.capacity.luts > 0 and board.capacity.brams > 0
    assert fit(board).fits, fit(board).table()


def test_icebreaker_default_fills_the_spram():
    """1,024 neurons x 256 axons, 8 lanes: the weights fill the four SPRAMs exactly and the
    bias row spills into block RAM."""
    arr = get_board("icebreaker").default_array()
    core, = arr.cores
    assert arr.neurons == 1024 and core.lanes == 8 and core.weight_bits == 4
    assert core.axons * core.rows * core.lanes * core.weight_bits == 4 * 256 * 1024
    assert arr.synapses == 262_144
    report = fit("icebreaker")
    weights, = [m for m in report.memories if m[0] == "core 0 weights"]
    assert weights[3] == "spram x4 + block RAM x2 (spill)"
    assert report["SPRAM"].required == 4 and report.fits


def test_ulx3s_85f_default():
    """Eight cores of 512 neurons; as many 8-bit synapses as the block RAM holds beside the
    routing tables and spike FIFOs; every core as wide as the logic allows."""
    arr = get_board("ulx3s-85f").default_array()
    assert arr.n_cores >= 8 and arr.neurons >= 4096
    assert all(c.weight_bits == 8 for c in arr.cores)
    report = fit("ulx3s-85f")
    assert report.fits and report["block RAM"].required >= 200
    # As many axons as the fit check allows: one more a core is refused.
    bigger = arr.cores[0].replace(axons=arr.cores[0].axons + 1)
    assert not fit("ulx3s-85f", type(arr).uniform(bigger, arr.n_cores, phases=arr.phases,
                                                 routes_per_core=arr.routes_per_core)).fits


def test_ulx3s_85f_packed_array_fits():
    """The 400,896-synapse array of docs/boards.md (8 cores x 576 neurons x 87 axons, nine
    packed lanes; placed and routed at 73.93 MHz) fits the block RAM the 8-lane default fills,
    and the fit check refuses it with more axons."""
    board = get_board("ulx3s-85f")
    core = CoreConfig(neurons=576, axons=87, weight_bits=8, membrane_bits=16, lanes=9)
    arr = ArrayConfig.uniform(core, 8, phases=4, routes_per_core=576)
    assert arr.neurons == 4608 and arr.synapses == 400_896
    assert all(c.packed_weights for c in board.placement(arr).cores)
    report = fit(board, arr)
    assert report.fits and report["block RAM"].required == 208
    more = ArrayConfig.uniform(core.replace(axons=95), 8, phases=4, routes_per_core=576)
    assert not fit(board, more).fits


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_platform_renders(name, tmp_path):
    """The board top (host link + link-check array) renders every toolchain file."""
    board = get_board(name)
    plan = board.build(BoardTop(board), build_dir=str(tmp_path), do_build=False)
    files = plan.files
    assert "top.il" in files
    if board.family == "ice40":
        assert "top.pcf" in files
        # The cores' own DSP blocks are hidden from the multiplier mapping while it runs.
        ys = files["top.ys"]
        stub = f"{MAC16_HIDDEN}.v"        # read (read_verilog) before the design
        assert files[f"{MAC16_HIDDEN}.v"] == mac16_stub()
        assert (ys.index(stub) < ys.index("read_rtlil top.il") < ys.index(HIDE_MAC16)
                < ys.index("synth_ice40 -dsp") < ys.index(SHOW_MAC16) < ys.index("write_json"))
    else:
        assert "top.lpf" in files
    # The UART pins are in the constraints.
    constraints = files["top.pcf"] if board.family == "ice40" else files["top.lpf"]
    assert "uart_0__tx" in constraints and "uart_0__rx" in constraints


def test_orangecrab_uart_on_feather_pins(tmp_path):
    board = get_board("orangecrab-25f")
    plan = board.build(BoardTop(board), build_dir=str(tmp_path), do_build=False)
    lpf = plan.files["top.lpf"]
    assert 'LOCATE COMP "uart_0__rx__io" SITE "N17"' in lpf
    assert 'LOCATE COMP "uart_0__tx__io" SITE "M18"' in lpf


def test_board_top_takes_any_array(tmp_path):
    from .standin import ArrayStandIn
    board = get_board("icebreaker")
    plan = board.build(BoardTop(board, ArrayStandIn()), build_dir=str(tmp_path),
                       do_build=False)
    assert "top.il" in plan.files


NEXTPNR_LOG = """\
Info: Device utilisation:
Info: 	         ICESTORM_LC:    3906/   5280    73%
Info: 	        ICESTORM_RAM:      29/     30    96%
Info: 	      ICESTORM_SPRAM:       4/      4   100%
Info: Max frequency for clock 'array.clk': 31.02 MHz (FAIL at 36.00 MHz)
Info: Routing..
Info: Max frequency for clock 'array.clk': 33.50 MHz (FAIL at 36.00 MHz)
Info: Max frequency for clock 'link.clk': 80.00 MHz (PASS at 36.00 MHz)
"""


def test_read_nextpnr_log():
    """Fmax is the slowest clock of the final report; utilization is (used, total) per cell."""
    from spikeforge.boards.base import read_nextpnr_log
    fmax, util = read_nextpnr_log(NEXTPNR_LOG)
    assert fmax == 33.5
    assert util["ICESTORM_LC"] == (3906, 5280) and util["ICESTORM_SPRAM"] == (4, 4)


YOSYS_LOG = """\
=== design hierarchy ===
       12   SB_DFF
        3   SB_LUT4
3.50. Executing ABC pass.
=== top ===
      245   SB_DFF
=== design hierarchy ===
      653   SB_CARRY
      245   SB_DFF
       62   SB_DFFE
      980   SB_DFFESR
      511   SB_DFFSR
     3450   SB_LUT4
"""


def test_read_yosys_ffs():
    """The FFs of an iCE40 build are the SB_DFF* cells of the last design statistics."""
    from spikeforge.boards.base import read_yosys_ffs
    assert read_yosys_ffs(YOSYS_LOG) == 245 + 62 + 980 + 511
    assert read_yosys_ffs("no statistics here") is None


def test_build_report_fields():
    from spikeforge.boards.base import read_nextpnr_log
    from spikeforge.boards.commands import build_report
    board = get_board("icebreaker")
    fmax, util = read_nextpnr_log(NEXTPNR_LOG)
    r = build_report(board, board.default_array(), fmax, util, 36, "out", 1.0)
    for key in ("board", "device", "cores", "neurons", "synapses", "weight_bits", "lanes",
                "logic_cells", "ffs", "brams", "sprams", "dsps", "fmax_mhz", "target_mhz",
                "peak_gsop_per_s", "oscillator_mhz", "clock_mhz", "timing_met", "bitstream"):
        assert key in r
    assert (r["oscillator_mhz"], r["clock_mhz"], r["timing_met"]) == (12.0, 33.0, True)
    assert build_report(board, None, 26.5, util, 36, "out", 1.0)["timing_met"] is False
    assert (r["logic_cells"], r["brams"], r["sprams"], r["lanes"]) == (3906, 29, 4, 8)
    assert r["peak_gsop_per_s"] == round(8 * 33.5 / 1000, 3)
    assert r["bitstream"].endswith("top.bin")
    assert r["ffs"] is None         # no Yosys report in "out"


def test_timing_constraint_leaves_the_link_clock(tmp_path):
    """A build timed for the target constrains the PLL output there; the oscillator keeps its
    own rate and the UART divisor comes from the PLL's (the design runs from it)."""
    board = get_board("icebreaker")
    top = BoardTop(board)
    board.build(top, build_dir=str(tmp_path), do_build=False)
    pcf = (tmp_path / "top.pcf").read_text()
    assert "set_frequency clocking.pll_clk 36.0" in pcf
    assert "set_frequency clk12_0__io 12.0" in pcf
    assert "--timing-allow-fail" in (tmp_path / "build_top.sh").read_text()
    assert board.clk_freq == 12e6 and top.clock_hz == 33e6


def test_timing_constraint_without_a_pll(tmp_path):
    """Clocked from the oscillator, the oscillator is constrained at the target."""
    board = get_board("icebreaker")
    board.build(BoardTop(board, clock_mhz=12), build_dir=str(tmp_path), do_build=False)
    assert "set_frequency clk12_0__io 36.0" in (tmp_path / "top.pcf").read_text()


@pytest.mark.parametrize("name", ["icebreaker", "ulx3s-12f"])
def test_seed_reaches_nextpnr(name, tmp_path):
    """``spikeforge build --seed N`` places with nextpnr's seed N; no seed, nextpnr's own."""
    board = get_board(name)
    script = "build_top.sh"
    seeded = board.build(BoardTop(board), build_dir=str(tmp_path / "a"), do_build=False, seed=7)
    assert "--seed 7" in seeded.files[script]
    assert "--timing-allow-fail" in seeded.files[script]        # the other options stay
    plain = board.build(BoardTop(board), build_dir=str(tmp_path / "b"), do_build=False)
    assert "--seed" not in plain.files[script]


@pytest.mark.parametrize("seed", [-1, True, 1.5, "3"])
def test_bad_seed_is_refused(seed, tmp_path):
    """Refused before anything is elaborated or written (so no top is needed)."""
    board = get_board("icebreaker")
    with pytest.raises(ValueError, match=r"seed: expected a non-negative integer, not "):
        board.build(None, build_dir=str(tmp_path / "out"), do_build=False, seed=seed)
    assert not (tmp_path / "out").exists()

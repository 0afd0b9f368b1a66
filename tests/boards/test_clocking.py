# amaranth: UnusedElaboratable=no
"""PLL solvers against the datasheet formulas (not against themselves), the clocking the board
tops render, and what ``spikeforge build`` does with a clock place and route misses."""

import json
import re
from fractions import Fraction
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeforge.boards import BOARDS, BoardTop, get_board
from spikeforge.boards.clocking import (ECP5PLL, ICE40PLL, ecp5_pll, ice40_pll, solve_pll)
from spikeforge.rtl.uart import uart_divisor

MHZ = 1_000_000


# -- iCE40: F_out = F_ref (DIVF+1) / ((DIVR+1) 2^DIVQ); PFD 10..133, VCO 533..1066, out 16..275.

def ice40_ok(f_in, divr, divf, divq):
    """The output of one setting, or None when the datasheet forbids it."""
    pfd = Fraction(f_in) / (divr + 1)
    vco = pfd * (divf + 1)
    out = vco / 2**divq
    if 10 * MHZ <= pfd <= 133 * MHZ and 533 * MHZ <= vco <= 1066 * MHZ \
            and 16 * MHZ <= out <= 275 * MHZ:
        return out
    return None


def ice40_best(f_in, f_req):
    """Every setting, by brute force: the highest output at or below the request."""
    outs = [ice40_ok(f_in, r, f, q) for r in range(16) for f in range(128) for q in range(1, 7)]
    return max((o for o in outs if o is not None and o <= f_req), default=None)


def check_ice40(p, f_in, f_req):
    assert isinstance(p, ICE40PLL)
    assert 0 <= p.divr <= 15 and 0 <= p.divf <= 127 and 1 <= p.divq <= 6
    assert p.f_out == Fraction(f_in) * (p.divf + 1) / ((p.divr + 1) * 2**p.divq)
    assert ice40_ok(f_in, p.divr, p.divf, p.divq) == p.f_out
    assert p.f_out <= f_req
    pfd_mhz = Fraction(f_in) / (p.divr + 1) / MHZ
    # FILTER_RANGE by PFD, as icepll sets it: <17, <26, <44, <66, <101 MHz, else 6.
    assert p.filter_range == 1 + sum(pfd_mhz >= b for b in (17, 26, 44, 66, 101))


@settings(max_examples=40, deadline=None)
@given(f_in=st.sampled_from([10e6, 12e6, 16e6, 25e6, 27e6, 48e6, 100e6, 133e6]),
       f_req=st.integers(16 * MHZ, 275 * MHZ))
def test_ice40_pll_is_the_best_setting_at_or_below(f_in, f_req):
    best = ice40_best(f_in, f_req)
    if best is None:
        with pytest.raises(ValueError, match="f_out: expected"):
            ice40_pll(f_in, f_req)
        return
    p = ice40_pll(f_in, f_req)
    check_ice40(p, f_in, f_req)
    assert p.f_out == best


@pytest.mark.parametrize("f_in, f_out, divr, divf, divq, filter_range", [
    (12, 96, 0, 63, 3, 1),      # icepll -i 12 -o 96 (VCO 768)
    (16, 50, 0, 49, 4, 1),      # icepll -i 16 -o 50 (VCO 800)
    (96, 20, 2, 19, 5, 3),      # icepll -i 96 -o 20 (PFD 32 MHz)
    (48, 24, 0, 15, 5, 4),      # icepll -i 48 -o 24 (PFD 48 MHz)
    (12, 27, 0, 71, 5, 1),      # 12 x 72 / 32 (VCO 864)
    (12, 33, 0, 87, 5, 1),      # the iCEBreaker's clock: 12 x 88 / 32 (VCO 1056), the only one
])
def test_ice40_pll_known_settings(f_in, f_out, divr, divf, divq, filter_range):
    p = ice40_pll(f_in * MHZ, f_out * MHZ)
    assert (p.divr, p.divf, p.divq, p.filter_range) == (divr, divf, divq, filter_range)
    assert p.f_out == f_out * MHZ


def test_ice40_pll_rounds_down():
    # 12 MHz x 79 / 32 = 29.625 MHz is the closest at or below 29.7 (x 80 / 32 = 30 is above).
    assert ice40_pll(12e6, 29.7e6).f_out == Fraction(29_625_000)


# -- ECP5 EHXPLLL, CLKOP feedback: F_out = F_in CLKFB_DIV / CLKI_DIV, VCO = F_out CLKOP_DIV.

def ecp5_ok(f_in, clki_div, clkfb_div, clkop_div):
    pfd = Fraction(f_in) / clki_div
    out = pfd * clkfb_div
    vco = out * clkop_div
    if Fraction(3125, 1000) * MHZ <= pfd <= 400 * MHZ and 400 * MHZ <= vco <= 800 * MHZ \
            and Fraction(3125, 1000) * MHZ <= out <= 400 * MHZ:
        return out
    return None


def ecp5_best(f_in, f_req):
    best = None
    for i in range(1, 129):
        for fb in range(1, 81):
            out = Fraction(f_in) * fb / i
            if out > f_req or (best is not None and out <= best):
                continue
            # Some CLKOP_DIV in 1..128 puts the VCO in 400..800 MHz.
            if any(ecp5_ok(f_in, i, fb, d) for d in range(max(1, int(400 * MHZ / out)),
                                                            min(128, int(800 * MHZ / out)) + 1)):
                best = out
    return best


@settings(max_examples=25, deadline=None)
@given(f_in=st.sampled_from([12e6, 25e6, 48e6, 100e6]),
       f_req=st.integers(4 * MHZ, 400 * MHZ))
def test_ecp5_pll_is_the_best_setting_at_or_below(f_in, f_req):
    p = ecp5_pll(f_in, f_req)
    assert isinstance(p, ECP5PLL)
    assert 1 <= p.clki_div <= 128 and 1 <= p.clkfb_div <= 80 and 1 <= p.clkop_div <= 128
    assert p.f_out == Fraction(f_in) * p.clkfb_div / p.clki_div
    assert ecp5_ok(f_in, p.clki_div, p.clkfb_div, p.clkop_div) == p.f_out
    assert p.f_out <= f_req
    assert p.f_out == ecp5_best(f_in, f_req)


@pytest.mark.parametrize("f_in, f_out, clki, clkfb, clkop", [
    (12, 48, 1, 4, 12),         # Lattice's tools, as ecppll records them (VCO 576)
    (12, 60, 1, 5, 10),         # VCO 600
    (43, 86, 1, 2, 7),          # VCO 602
    (25, 75, 1, 3, 8),          # the ULX3S-12F's clock (VCO 600)
    (25, 50, 1, 2, 12),         # the other ULX3S boards' clock (VCO 600)
])
def test_ecp5_pll_known_settings(f_in, f_out, clki, clkfb, clkop):
    p = ecp5_pll(f_in * MHZ, f_out * MHZ)
    assert (p.clki_div, p.clkfb_div, p.clkop_div) == (clki, clkfb, clkop)
    assert p.f_out == f_out * MHZ and p.f_vco == f_out * clkop * MHZ


@pytest.mark.parametrize("solve, f_in, f_out, message", [
    (ice40_pll, 5e6, 30e6, r"f_in: expected 10 MHz \.\. 133 MHz .*not 5 MHz"),
    (ice40_pll, 12e6, 300e6, r"f_out: expected 16 MHz \.\. 275 MHz .*not 300 MHz"),
    (ice40_pll, 12e6, 10e6, r"f_out: expected 16 MHz \.\. 275 MHz .*not 10 MHz"),
    # 16 MHz is in range, but from 12 MHz the nearest settings are 15.94 and 16.88 MHz.
    (ice40_pll, 12e6, 16e6, r"f_out: expected .* in 16 MHz \.\. 16 MHz .*not 16 MHz"),
    (ice40_pll, 12e6, "27", r"f_out: expected .*not '27'"),
    (ecp5_pll, 4e6, 50e6, r"f_in: expected 8 MHz \.\. 400 MHz .*not 4 MHz"),
    (ecp5_pll, 25e6, 500e6, r"f_out: expected 3.125 MHz \.\. 400 MHz .*not 500 MHz"),
])
def test_impossible_requests_name_the_field(solve, f_in, f_out, message):
    with pytest.raises(ValueError, match=message):
        solve(f_in, f_out)


def test_solve_pll_family():
    assert solve_pll("ice40", 12e6, 27e6) == ice40_pll(12e6, 27e6)
    with pytest.raises(ValueError, match="family: expected one of ice40, ecp5, not 'gowin'"):
        solve_pll("gowin", 12e6, 27e6)


# -- Boards: one clock feeds the PLL, the UART divisor and the report.

@pytest.mark.parametrize("name", sorted(BOARDS))
def test_board_clock(name):
    board = get_board(name)
    clock = board.clock_hz()
    pll = board.pll()
    assert clock == (float(pll.f_out) if pll else board.clk_freq)
    assert clock <= (board.clock_mhz or clock / 1e6) * 1e6
    # Exact or within the UART's tolerance at the board's baud.
    divisor = uart_divisor(clock, board.baud)
    assert abs(clock / divisor - board.baud) / board.baud <= 0.02
    top = BoardTop(board)
    assert top.clock_hz == clock and top.timing_mhz == max(board.target_mhz, clock / 1e6)


def test_default_clocks():
    assert get_board("icebreaker").clock_hz() == 33e6
    assert uart_divisor(33e6, 1_000_000) == 33
    assert all(get_board(n).clock_hz() == 75e6
               for n in ("ulx3s-12f", "ulx3s-25f", "ulx3s-45f", "ulx3s-85f"))
    assert uart_divisor(75e6, 1_000_000) == 75
    assert get_board("orangecrab-25f").clock_hz() == 90e6
    assert uart_divisor(90e6, 115_200) == 781


def test_clock_at_the_oscillator_needs_no_pll():
    board = get_board("icebreaker")
    assert board.pll(12) is None and board.clock_hz(12) == 12e6
    assert board.pll(27) == ice40_pll(12e6, 27e6)
    # ECP5: 50 MHz from 48 MHz is 48 MHz at best, so no PLL either.
    assert get_board("orangecrab-25f").pll(50) is None


def test_bad_clock_is_refused_before_elaboration():
    board = get_board("icebreaker")
    with pytest.raises(ValueError, match="f_out: expected 16 MHz"):
        BoardTop(board, clock_mhz=8)
    with pytest.raises(ValueError, match="clock_mhz: expected a positive rate"):
        board.pll(-5)


def test_icebreaker_renders_the_pll(tmp_path):
    """SB_PLL40_PAD on the clock pin with the solver's settings; the PLL output constrained at
    the target, the pin at the oscillator's rate."""
    board = get_board("icebreaker")
    plan = board.build(BoardTop(board), build_dir=str(tmp_path), do_build=False)
    il = plan.files["top.il"]
    cell = re.search(r"cell \\SB_PLL40_PAD \\pll\n(.*?)\n  end", il, re.S).group(1)
    params = dict(re.findall(r"parameter \\(\w+) (\S+)", cell))
    p = board.pll()
    assert (int(params["DIVR"]), int(params["DIVF"]), int(params["DIVQ"]),
            int(params["FILTER_RANGE"])) == (p.divr, p.divf, p.divq, p.filter_range)
    assert params["FEEDBACK_PATH"] == '"SIMPLE"'
    assert re.search(r"connect \\PACKAGEPIN \\clk12_0__io", cell)
    pcf = plan.files["top.pcf"]
    assert "set_frequency clocking.pll_clk 36.0" in pcf
    assert "set_frequency clk12_0__io 12.0" in pcf
    assert "--timing-allow-fail" in plan.files["build_top.sh"]


def test_ulx3s_renders_the_pll(tmp_path):
    board = get_board("ulx3s-12f")
    top = BoardTop(board, clock_mhz=100)        # above the target: timed for the clock
    plan = board.build(top, build_dir=str(tmp_path), do_build=False)
    il = plan.files["top.il"]
    cell = re.search(r"cell \\EHXPLLL \\pll\n(.*?)\n  end", il, re.S).group(1)
    params = dict(re.findall(r"parameter \\(\w+) (\S+)", cell))
    p = ecp5_pll(25e6, 100e6)
    assert (int(params["CLKI_DIV"]), int(params["CLKFB_DIV"]), int(params["CLKOP_DIV"])) == \
        (p.clki_div, p.clkfb_div, p.clkop_div) and p.f_out == 100 * MHZ
    assert params["FEEDBK_PATH"] == '"CLKOP"'
    assert "SGSR" in il                         # held in GSR until lock
    lpf = plan.files["top.lpf"]
    assert 'FREQUENCY NET "clocking.pll_clk" 100000000.0 HZ;' in lpf
    assert 'FREQUENCY PORT "clk25_0__io" 25000000.0 HZ;' in lpf


def test_oscillator_clock_is_timed_at_the_target(tmp_path):
    board = get_board("orangecrab-25f")
    plan = board.build(BoardTop(board, clock_mhz=48), build_dir=str(tmp_path), do_build=False)
    assert "EHXPLLL" not in plan.files["top.il"]
    assert 'FREQUENCY PORT "clk_0__io" 90000000.0 HZ;' in plan.files["top.lpf"]


def test_timing_must_agree_with_the_top(tmp_path):
    board = get_board("icebreaker")
    with pytest.raises(ValueError, match="timing_mhz: expected 36"):
        board.build(BoardTop(board), build_dir=str(tmp_path), do_build=False, timing_mhz=40)


# -- spikeforge build / boards.

TIM = """\
Info: Device utilisation:
Info: 	         ICESTORM_LC:    4000/   5280    75%
Info: 	        ICESTORM_RAM:      23/     30    76%
Info: 	      ICESTORM_SPRAM:       4/      4   100%
Info: Max frequency for clock 'pll_clk': {fmax} MHz (FAIL at 36.00 MHz)
"""


def run_build(tmp_path, capsys, fmax, *extra):
    from spikeforge.boards.base import Board
    from spikeforge.cli import main
    render = Board.build

    def fake_build(self, top, *, build_dir, do_build=True, **kwargs):
        """Render the files, and write the log place and route would have written."""
        render(self, top, build_dir=build_dir, do_build=False, **kwargs)
        (tmp_path / "top.tim").write_text(TIM.format(fmax=fmax))
    with mock.patch("spikeforge.boards.base.Board.build", fake_build):
        rc = main(["build", "--board", "icebreaker", "--link-check", "--json",
                   "--build-dir", str(tmp_path), *extra])
    out = capsys.readouterr()
    return rc, json.loads(out.out), out.err


def test_build_reports_the_clock(tmp_path, capsys):
    rc, r, _ = run_build(tmp_path, capsys, 34.5)
    assert rc == 0
    assert (r["oscillator_mhz"], r["clock_mhz"], r["target_mhz"]) == (12.0, 33.0, 36)
    assert r["fmax_mhz"] == 34.5 and r["timing_met"] is True


def test_build_refuses_a_missed_clock(tmp_path, capsys):
    rc, r, err = run_build(tmp_path, capsys, 31.2)
    assert rc == 1
    assert r["timing_met"] is False and r["fmax_mhz"] == 31.2
    assert "31.2 MHz" in err and "33 MHz" in err and "--clock-mhz" in err
    rc, r, _ = run_build(tmp_path, capsys, 31.2, "--clock-mhz", "30")
    assert rc == 0 and r["clock_mhz"] == 30.0 and r["timing_met"] is True


def test_build_names_an_impossible_clock(tmp_path, capsys):
    from spikeforge.cli import main
    rc = main(["build", "--board", "icebreaker", "--link-check", "--clock-mhz", "300",
               "--build-dir", str(tmp_path), "--no-run"])
    assert rc == 2
    assert "f_out: expected 16 MHz .. 275 MHz" in capsys.readouterr().err


def test_boards_lists_the_clock(capsys):
    from spikeforge.cli import main
    assert main(["boards", "--json"]) == 0
    rows = {r["board"]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows["icebreaker"]["oscillator_mhz"], rows["icebreaker"]["clock_mhz"]) == (12, 33)
    assert rows["ulx3s-12f"]["clock_mhz"] == 75

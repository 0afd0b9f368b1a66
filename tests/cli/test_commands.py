"""The user's commands, run as a user runs them: ``spikeforge demo``, ``plot``, ``verilog``."""

import json
import subprocess
import sys

import pytest


def spikeforge(*args, cwd):
    return subprocess.run([sys.executable, "-m", "spikeforge.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=1800)


@pytest.mark.cosim
def test_demo_reaches_its_targets(tmp_path):
    pytest.importorskip("sklearn")
    r = spikeforge("demo", "--json", "--cosim-samples", "3", "--out-dir", str(tmp_path / "out"),
                   cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    fig = json.loads(r.stdout)
    assert fig["accuracy_8bit"] >= fig["float_accuracy"] - 0.01
    assert fig["accuracy_4bit"] >= fig["float_accuracy"] - 0.03
    assert fig["cosim_samples"] == 3 and fig["cosim_mismatches"] == 0
    assert fig["cosim_timestep_mismatches"] == 0
    assert fig["fits"]
    assert (tmp_path / "out" / "digits_array.v").read_text().count("module ") >= 1


def test_plot_writes_pictures(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    r = spikeforge("plot", "--out-dir", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("raster.png", "membrane.png", "accuracy_vs_bits.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_verilog_of_a_board_array(tmp_path):
    r = spikeforge("verilog", "--board", "ulx3s-12f", "-o", str(tmp_path / "top.v"),
                   cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    text = (tmp_path / "top.v").read_text()
    assert "module spikeforge_array" in text and "cmd__valid" in text


def test_bad_input_gets_a_named_error(tmp_path):
    r = spikeforge("verilog", "--board", "nope", cwd=tmp_path)
    assert r.returncode == 2
    assert "board: expected one of" in r.stderr and "'nope'" in r.stderr
    r = spikeforge("demo", "--cosim-samples", "-1", cwd=tmp_path)
    assert r.returncode == 2 and "--cosim-samples" in r.stderr

"""The simulation plumbing of :mod:`spikeforge.sim` on a tiny design.

Verilator (the default simulator) must be found and must never skip; Icarus runs only when
``iverilog`` is on ``PATH``.  Also checked: the build cache (a second build of the same Verilog
is reused), parameters and results crossing the process boundary, a failing cocotb test
becoming a clear pytest failure, and line coverage from a ``--coverage-line`` build.
"""

import os
from pathlib import Path

import pytest
from amaranth import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikeforge.sim import (CosimFailure, build, find_verilator, icarus_available,
                            verilator_environment)
from spikeforge.sim.coverage import line_coverage, read_coverage

HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.cosim


class Increment(wiring.Component):
    """``o.payload = i.payload + 1`` through one register stage (full throughput)."""

    i: In(stream.Signature(8))
    o: Out(stream.Signature(8))

    def elaborate(self, platform):
        m = Module()
        with m.If(self.o.ready | ~self.o.valid):
            m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(self.i.payload + 1)]
        m.d.comb += self.i.ready.eq(self.o.ready | ~self.o.valid)
        return m


def test_verilator_is_found():
    install = find_verilator()
    assert install.version >= (5, 36)
    with verilator_environment() as inst:
        assert os.environ["VERILATOR_ROOT"] == str(inst.root)
        assert os.environ["PATH"].split(os.pathsep)[0] == str(inst.bin_dir)


def test_verilator_build_run_and_cache(cosim_build_root, record_property):
    first = build(Increment(), root=cosim_build_root, label="plumbing increment")
    again = build(Increment(), root=cosim_build_root)
    assert again.reused and again.build_dir == first.build_dir
    result = again.run("plumbing_tb", {"seed": 7, "items": 150}, name="agents",
                       testcase="stream_agents", pythonpath=[HERE])
    assert result.results["items"] == 600
    record_property("cycles", result.results["cycles"])


def test_failing_cocotb_test_fails_clearly(cosim_build_root):
    b = build(Increment(), root=cosim_build_root)
    with pytest.raises(CosimFailure, match="deliberately_failing"):
        b.run("plumbing_tb", {"fail": True}, name="failing", testcase="deliberately_failing",
              pythonpath=[HERE])


def test_coverage_build(cosim_build_root):
    b = build(Increment(), root=cosim_build_root, coverage=True)
    result = b.run("plumbing_tb", {"items": 50}, name="coverage", testcase="stream_agents",
                   pythonpath=[HERE])
    report = line_coverage(read_coverage(result.coverage_file))
    assert report.points > 0 and report.percent > 50, report.summary()


@pytest.mark.skipif(not icarus_available(), reason="Icarus Verilog (iverilog) not on PATH")
def test_icarus_build_and_run(cosim_build_root):
    b = build(Increment(), root=cosim_build_root, simulator="icarus")
    result = b.run("plumbing_tb", {"seed": 3, "items": 100}, name="agents",
                   testcase="stream_agents", pythonpath=[HERE])
    assert result.results["items"] == 400

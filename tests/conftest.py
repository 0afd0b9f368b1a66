"""Shared pytest fixtures and reporting for the spikeforge tests.

Markers (cosim, synth, formal, slow) are declared in ``pyproject.toml``; nothing is registered
here.  Cosimulation tests report what they simulated through ``record_property`` (``cycles``,
``coverage_file``), which pytest-xdist carries back to the controller; the terminal summary adds
the totals: simulated clock cycles, and with ``SPIKEFORGE_COVERAGE=1`` the merged line coverage
of the core.
"""

import os
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def cosim_build_root():
    """The build root of cosimulation runs: ``SPIKEFORGE_BUILD_ROOT`` or ``build/cosim``."""
    root = Path(os.environ.get("SPIKEFORGE_BUILD_ROOT") or REPO / "build" / "cosim")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _properties(terminalreporter, name):
    for report in terminalreporter.stats.get("passed", []) + \
            terminalreporter.stats.get("failed", []):
        if getattr(report, "when", "call") != "call":
            continue
        for key, value in getattr(report, "user_properties", ()):
            if key == name:
                yield report.nodeid, value


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    cycles = list(_properties(terminalreporter, "cycles"))
    if cycles:
        total = sum(int(v) for _, v in cycles)
        seconds = sum(float(v) for _, v in _properties(terminalreporter, "sim_seconds"))
        terminalreporter.write_sep("-", "cosimulation")
        terminalreporter.write_line(f"simulated clock cycles: {total:,} in {len(cycles)} runs "
                                    f"({seconds:.0f} s of simulator time)")
    files = [Path(v) for _, v in _properties(terminalreporter, "coverage_file")]
    if files:
        from spikeforge.sim.coverage import line_coverage, merge_coverage
        report = line_coverage(merge_coverage([f for f in files if f.exists()]))
        terminalreporter.write_line(f"line coverage of the core ({len(files)} runs merged): "
                                    f"{report.summary()}")
        out = REPO / "build" / "cosim" / "coverage-missed.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(time.strftime("# %Y-%m-%d %H:%M:%S\n") + "".join(
            f"{Path(p.file).name}:{p.line} {p.kind} {p.comment} {p.hierarchy}\n"
            for p in report.missed))
        terminalreporter.write_line(f"points never hit: {out}")

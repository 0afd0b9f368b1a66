"""Build an Amaranth component into a simulator once, then run cocotb test modules on it.

:func:`build` converts a component to Verilog (:func:`to_verilog`), hashes the text together
with everything else that changes the binary (simulator, waveform and coverage switches, extra
arguments, simulator version) and builds it with :mod:`cocotb_tools.runner` into
``<build_root>/<hash>`` -- one directory per parameter set.  A directory that already holds a
finished build (its ``build.ok`` stamp) is reused, so every seed and every test of a
configuration shares one Verilator compile; a file lock makes concurrent pytest-xdist workers
wait for each other instead of compiling the same thing twice.

:meth:`Build.run` runs one cocotb test module against a build, in its own run directory, with
its parameters in a JSON file (see :mod:`spikeforge.sim.params`).  A failing cocotb test raises
:class:`CosimFailure` (an ``AssertionError``, so pytest reports a plain failure) naming the
failed tests and quoting the end of the simulator log, instead of the runner's bare
``SystemExit``.

Environment switches (all opt-in):

``SPIKEFORGE_SIM``
    ``verilator`` (default) or ``icarus``: the simulator when the caller does not name one.
``SPIKEFORGE_WAVES=1``
    record waveforms (``dump.vcd`` for Verilator, ``dump.fst`` for Icarus in the run directory).
``SPIKEFORGE_COVERAGE=1``
    build Verilator with ``--coverage-line``; every run leaves ``coverage.dat`` in its run
    directory (see :mod:`spikeforge.sim.coverage`).
``SPIKEFORGE_BUILD_ROOT``
    where builds go (default ``build/cosim`` under the current directory).
"""

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from .params import PARAMS_ENV, RESULTS_ENV
from .verilator import SimulatorNotFound, find_verilator, icarus_available, verilator_environment

__all__ = ["SIMULATORS", "Build", "RunResult", "CosimFailure", "to_verilog", "build",
           "default_simulator", "env_flag", "build_root"]

SIMULATORS = ("verilator", "icarus")
TIMESCALE = ("1ns", "1ps")
# Amaranth's Verilog trips width-extension lint warnings that are harmless by construction.
VERILATOR_ARGS = ("-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-O3")
_STAMP = "build.ok"


class CosimFailure(AssertionError):
    """A cocotb test failed (or the simulator crashed)."""


def env_flag(name, default=False):
    """Return the boolean value of environment variable ``name`` (1/true/yes/on)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def default_simulator():
    """Return the simulator named by ``SPIKEFORGE_SIM``, ``"verilator"`` by default."""
    sim = os.environ.get("SPIKEFORGE_SIM", "verilator").strip().lower() or "verilator"
    if sim not in SIMULATORS:
        raise ValueError(f"SPIKEFORGE_SIM: expected one of {SIMULATORS}, got {sim!r}")
    return sim


def build_root():
    """Return the directory that holds every build (``SPIKEFORGE_BUILD_ROOT``)."""
    return Path(os.environ.get("SPIKEFORGE_BUILD_ROOT") or Path.cwd() / "build" / "cosim")


def to_verilog(component, name="top"):
    """Return the Verilog text of an Amaranth ``wiring.Component`` with top module ``name``.

    Interface members flatten with ``__`` (``events__payload``); ``clk`` and ``rst`` are added.
    """
    from amaranth.back import verilog
    return verilog.convert(component, name=name)


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What one :meth:`Build.run` left behind.

    Members
    -------
    run_dir : Path
        The run's working directory (results XML, log, ``coverage.dat``, waveforms).
    results : dict
        What the cocotb module passed to :func:`spikeforge.sim.params.write_results`.
    seconds : float
        Wall time of the run.
    """

    run_dir: Path
    results: dict
    seconds: float

    @property
    def coverage_file(self):
        path = self.run_dir / "coverage.dat"
        return path if path.exists() else None

    @property
    def log_file(self):
        return self.run_dir / "sim.log"


@dataclasses.dataclass(frozen=True)
class Build:
    """A compiled simulation of one Verilog top module.

    Members
    -------
    simulator : str
        ``"verilator"`` or ``"icarus"``.
    toplevel : str
        Top module name.
    build_dir : Path
        The build directory (``<build_root>/<hash>``).
    verilog : Path
        The Verilog source that was built.
    waves, coverage : bool
        Whether the build records waveforms / line coverage.
    reused : bool
        Whether the build came from the cache.
    """

    simulator: str
    toplevel: str
    build_dir: Path
    verilog: Path
    waves: bool
    coverage: bool
    reused: bool

    def _runner(self):
        from cocotb_tools.runner import get_runner
        return get_runner(self.simulator)

    def run(self, test_module, params=None, *, name="run", testcase=None, pythonpath=(),
            extra_env=None, seed=None):
        """Run cocotb ``test_module`` on this build and return a :class:`RunResult`.

        ``params`` (JSON-serializable) reach the module through
        :func:`spikeforge.sim.params.load_params`.  ``pythonpath`` lists directories that must
        be importable in the simulator (e.g. the directory of ``test_module``).  The run
        directory ``<build_dir>/runs/<name>`` is emptied first.  Raise :class:`CosimFailure`
        when a test fails.
        """
        run_dir = self.build_dir / "runs" / _safe(name)
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        params_file = run_dir / "params.json"
        params_file.write_text(json.dumps(params or {}, indent=1, sort_keys=True))
        results_file = run_dir / "results.json"
        results_xml = run_dir / "results.xml"
        log_file = run_dir / "sim.log"
        env = {PARAMS_ENV: str(params_file), RESULTS_ENV: str(results_file),
               "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "INFO")}
        env.update(extra_env or {})
        runner = self._runner()
        start = time.monotonic()
        with _environment(self.simulator), _sys_path(pythonpath):
            try:
                runner.test(test_module=test_module, hdl_toplevel=self.toplevel,
                            hdl_toplevel_lang="verilog", build_dir=self.build_dir,
                            test_dir=run_dir, results_xml=str(results_xml), waves=self.waves,
                            testcase=testcase, seed=seed, extra_env=env, log_file=log_file,
                            timescale=TIMESCALE if self.simulator == "icarus" else None)
            except SystemExit as exc:
                raise CosimFailure(_failure_message(test_module, run_dir, exc)) from None
        failed = _failed_tests(results_xml)
        if failed or not results_xml.exists():
            raise CosimFailure(_failure_message(test_module, run_dir, None))
        results = json.loads(results_file.read_text()) if results_file.exists() else {}
        return RunResult(run_dir, results, time.monotonic() - start)


def build(component_or_verilog, *, toplevel="top", simulator=None, root=None, waves=None,
          coverage=None, extra_args=(), label=None):
    """Build a component (or Verilog text) for ``simulator`` and return the :class:`Build`.

    ``simulator`` defaults to :func:`default_simulator`; ``waves`` and ``coverage`` default to
    the ``SPIKEFORGE_WAVES`` and ``SPIKEFORGE_COVERAGE`` switches (coverage needs Verilator).
    ``label`` is written next to the build (``label.txt``) to say what it holds.  A cached
    build with the same key is reused.  Raise :class:`SimulatorNotFound` for a missing
    simulator.
    """
    simulator = simulator or default_simulator()
    if simulator not in SIMULATORS:
        raise ValueError(f"simulator: expected one of {SIMULATORS}, got {simulator!r}")
    if simulator == "icarus" and not icarus_available():
        raise SimulatorNotFound("Icarus Verilog (iverilog, vvp) is not on PATH")
    waves = env_flag("SPIKEFORGE_WAVES") if waves is None else bool(waves)
    coverage = env_flag("SPIKEFORGE_COVERAGE") if coverage is None else bool(coverage)
    if coverage and simulator != "verilator":
        raise ValueError(f"coverage: only Verilator collects coverage, not {simulator}")
    if isinstance(component_or_verilog, str):
        text = component_or_verilog
    else:
        text = to_verilog(component_or_verilog, name=toplevel)
    args = list(extra_args)
    if simulator == "verilator":
        args = [*VERILATOR_ARGS, *(["--coverage-line"] if coverage else []), *args]
        tool = "verilator-{}.{}".format(*find_verilator().version)
    else:
        tool = "icarus"
    key = hashlib.sha256(json.dumps([text, simulator, tool, toplevel, waves, coverage, args])
                         .encode()).hexdigest()[:16]
    root = Path(root) if root is not None else build_root()
    build_dir = (root / f"{simulator}-{key}").resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    source = build_dir / f"{toplevel}.v"
    result = Build(simulator, toplevel, build_dir, source, waves, coverage, reused=True)
    with _lock(build_dir / "build.lock"):
        if (build_dir / _STAMP).exists():
            return result
        source.write_text(text)
        if label:
            (build_dir / "label.txt").write_text(f"{label}\n")
        from cocotb_tools.runner import get_runner
        runner = get_runner(simulator)
        log_file = build_dir / "build.log"
        with _environment(simulator):
            try:
                runner.build(sources=[source], hdl_toplevel=toplevel, build_dir=build_dir,
                             build_args=args, waves=waves, always=True, log_file=log_file,
                             timescale=TIMESCALE)
            except (RuntimeError, SystemExit) as exc:
                raise RuntimeError(f"{simulator} build of {source} failed ({exc}); log:\n"
                                   + _tail(log_file, 40)) from None
        (build_dir / _STAMP).write_text(time.strftime("%Y-%m-%dT%H:%M:%S\n"))
    return dataclasses.replace(result, reused=False)


# -- helpers ---------------------------------------------------------------------------------
@contextlib.contextmanager
def _environment(simulator):
    if simulator == "verilator":
        with verilator_environment() as install:
            yield install
    else:
        yield None


@contextlib.contextmanager
def _sys_path(paths):
    # The runner hands ``sys.path`` to the simulator as PYTHONPATH.
    added = [str(Path(p).resolve()) for p in paths if str(Path(p).resolve()) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for p in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(p)


@contextlib.contextmanager
def _lock(path):
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _safe(name):
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", str(name))[:120] or "run"


def _failed_tests(results_xml):
    if not results_xml.exists():
        return []
    failed = []
    for case in ET.parse(results_xml).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(case.get("name"))
    return failed


def _tail(path, lines):
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:])


def _failure_message(test_module, run_dir, exc):
    failed = _failed_tests(run_dir / "results.xml")
    what = f"failed cocotb tests: {', '.join(failed)}" if failed else \
        "the simulation ended without results (crash or missing simulator)"
    log = run_dir / "sim.log"
    # Quote the lines around the first failure, then the end of the log.
    text = log.read_text(errors="replace").splitlines() if log.exists() else []
    first = next((i for i, line in enumerate(text)
                  if " FAIL " in line or "Error" in line or "Traceback" in line), None)
    excerpt = text[max(0, first - 5):first + 40] if first is not None else []
    msg = [f"{test_module}: {what} (exit {getattr(exc, 'code', None)}); run dir {run_dir}"]
    if excerpt:
        msg += ["--- first failure in sim.log ---", *excerpt]
    msg += ["--- end of sim.log ---", _tail(log, 25)]
    return "\n".join(msg)

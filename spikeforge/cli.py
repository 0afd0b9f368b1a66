"""The ``spikeforge`` command line.

Each subcommand lives in its own module and registers itself through ``add_parser(sub)``; the
module's ``run(args)`` returns the process exit code.
"""

import argparse
import importlib
import sys

# (command, module, help); a bench target is ``spikeforge bench <target>``.
COMMANDS = [
    ("demo", "spikeforge.demo", "run the built-in end-to-end job on the default network"),
    ("map", "spikeforge.mapper",
     "quantize a NIR network, place it on cores, print placement and utilization"),
    ("plot", "spikeforge.plot", "spike rasters, membrane traces and accuracy against bits (PNG)"),
    ("verilog", "spikeforge.verilog", "write plain Verilog of a neuromorphic array"),
    ("boards", "spikeforge.boards.cli_boards",
     "list the supported boards and their built-in arrays"),
    ("fit", "spikeforge.boards.cli_fit", "predict block RAM, SPRAM, logic and DSP use on a board"),
    ("build", "spikeforge.boards.cli_build",
     "build a board bitstream (host link + array) with the YoWASP tools"),
]
BENCH_TARGETS = [
    ("golden", "spikeforge.bench.golden", "golden model throughput, side by side with snnTorch"),
    ("core", "spikeforge.bench.core", "LIF core cycles per event and tick; with --synth, Fmax"),
    ("fabric", "spikeforge.bench.fabric", "AER mesh throughput and latency under traffic"),
    ("boards", "spikeforge.bench.boards",
     "board builds swept over lanes, cores and weight bits: resources, Fmax, GSOP/s, plot"),
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="spikeforge",
        description="Open FPGA neuromorphic hardware design kit: LIF cores in Amaranth, a "
                    "bit-exact golden model, cocotb testbenches, open FPGA boards.")
    from . import __version__
    parser.add_argument("--version", action="version", version=f"spikeforge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module, help_ in COMMANDS:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(module=module)
        _lazy(module).add_arguments(p)
    bench = sub.add_parser("bench", help="measure throughput and cost, side by side",
                           description="Measure throughput and cost; print a table or JSON.")
    bsub = bench.add_subparsers(dest="target", metavar="TARGET", required=True)
    for name, module, help_ in BENCH_TARGETS:
        p = bsub.add_parser(name, help=help_, description=help_)
        p.set_defaults(module=module)
        _lazy(module).add_arguments(p)
    return parser


def _lazy(module):
    return importlib.import_module(module)


def main(argv=None):
    args = build_parser().parse_args(argv)
    from .golden_model import ConfigError
    try:
        return _lazy(args.module).run(args) or 0
    except ConfigError as exc:
        print(f"spikeforge: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

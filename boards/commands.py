"""``spikeforge boards``, ``spikeforge fit`` and ``spikeforge build``: each subcommand is a
``(add_arguments, run)`` pair for :mod:`spikeforge.cli` (see the registration lines there)."""

import json
import os
import pathlib
import subprocess

from ..golden_model import ArrayConfig, ConfigError


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
                         "oscillator_mhz": b.clk_freq / 1e6, "clock_mhz": b.clock_hz() / 1e6,
                         "target_mhz": b.target_mhz, "baud": b.baud, "cores": arr.n_cores,
                         "neurons": arr.neurons, "synapses": arr.synapses, "notes": b.notes})
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            for r in rows:
                clock = f"{r['clock_mhz']:g} MHz ({r['oscillator_mhz']:g} osc.)"
                print(f"{r['board']:<16}{r['device']:<11}{r['package']:<7}{clock:>18}"
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
        p.add_argument("--clock-mhz", type=float,
                       help="rate the design runs at, made by a PLL from the oscillator "
                            "(default: the board's clock_mhz; the closest rate at or below); "
                            "the build fails if place and route does not meet it")
        p.add_argument("--timing-mhz", type=float,
                       help="clock rate place and route is timed for (default: the board's "
                            "target; never below the clock)")
        p.add_argument("--build-dir", default="build/board")
        p.add_argument("--seed", type=int,
                       help="nextpnr placement seed (default: nextpnr's); the Fmax moves by "
                            "several MHz from seed to seed")
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
        if args.seed is not None and args.seed < 0:
            raise ConfigError(f"--seed: expected a non-negative integer, not {args.seed}")
        use_yowasp()
        console = Console(stderr=True)
        array, cfg = None, None
        if not args.link_check:
            from ..rtl.array import NeuromorphicArray
            cfg = _array(args, board)
            if not args.skip_fit:
                check_fit(board, cfg)
            array = NeuromorphicArray(cfg, placement=board.placement(cfg))
        try:
            top = BoardTop(board, array, baud=args.baud, clock_mhz=args.clock_mhz,
                           timing_mhz=args.timing_mhz)
        except ValueError as e:         # no PLL setting, or a clock the UART cannot divide
            raise ConfigError(f"{board.name}: clock {args.clock_mhz or board.clock_mhz} MHz: "
                              f"{e}") from None
        clock, timing = top.clock_hz / 1e6, top.timing_mhz
        start = time.monotonic()
        error = None
        with console.status(f"{board.name}: Yosys, nextpnr and the bitstream packer "
                            f"(clock {clock:g} MHz, timed for {timing:g} MHz)..."):
            try:
                board.build(top, build_dir=args.build_dir, do_build=not args.no_run,
                            seed=args.seed)
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
                              time.monotonic() - start, clock_mhz=clock, seed=args.seed)
        if error:
            report.update(bitstream=None, error=error)
        elif not report["timing_met"]:
            # The bitstream is written, but at this clock it would not run reliably.
            error = (f"timing not met: place and route reached {fmax} MHz, below the "
                     f"{clock:g} MHz clock the design runs at; lower it with "
                     f"--clock-mhz (at most {fmax})")
            report["error"] = error
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            for k, v in report.items():
                print(f"{k:<18}{v}")
        if error:
            console.print(f"[bold red]error:[/] {board.name}: {error}")
        return 1 if error else 0


def build_report(board, cfg, fmax, util, timing, build_dir, seconds, *, clock_mhz=None,
                 seed=None):
    """Return the ``spikeforge build --json`` object from nextpnr's utilization.

    ``timing`` is the rate nextpnr was timed for (``target_mhz``), ``clock_mhz`` the rate the
    design runs at (default: the board's); ``timing_met`` is ``fmax >= clock_mhz`` (``None``
    without an Fmax); ``seed`` the nextpnr seed (None: nextpnr's default)."""
    clock_mhz = board.clock_hz() / 1e6 if clock_mhz is None else clock_mhz
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
        # nextpnr-ice40 counts logic cells, FF or not: the FFs come from Yosys's report.
        from .base import read_yosys_ffs
        rpt = os.path.join(build_dir, "top.rpt")
        report["ffs"] = (read_yosys_ffs(pathlib.Path(rpt).read_text())
                         if os.path.exists(rpt) else None)
        report["brams"], report["sprams"] = used("ICESTORM_RAM"), used("ICESTORM_SPRAM")
        report["dsps"] = used("ICESTORM_DSP")
    else:
        report["luts"] = used("TRELLIS_COMB")
        report["ffs"] = used("TRELLIS_FF")
        report["brams"], report["sprams"] = used("DP16KD"), 0
        report["dsps"] = used("MULT18X18D")
    report.update({"fmax_mhz": fmax, "target_mhz": timing,
                   "peak_gsop_per_s": round(lanes * fmax / 1000, 3) if fmax else None,
                   "oscillator_mhz": board.clk_freq / 1e6, "clock_mhz": clock_mhz,
                   "timing_met": None if fmax is None else fmax >= clock_mhz,
                   "bitstream": os.path.join(build_dir, "top.bin" if ice40 else "top.bit"),
                   "seed": seed, "seconds": round(seconds)})
    return report

"""``spikeforge bench boards``: resources, Fmax and peak GSOP/s of real board builds, swept.

Each point is a complete ``spikeforge build`` (array + host link + the board's PLL, Yosys +
nextpnr through the YoWASP tools, timed for the board's target clock) of a uniform array on one
board per family:
the iCEBreaker (iCE40 UP5K) and the ULX3S-85F (ECP5).  The sweep varies lanes, cores and weight
bits one at a time around a base point; every figure comes from nextpnr's report, and the
fit check's prediction is printed beside it (``fit_luts``, ``fit_brams``, ``fits``), so the
sweep also shows how far the fit model is from place and route.  Every point is built, also
one the fit check refuses (as ``spikeforge build --skip-fit`` would): the sweep measures
where the real limit lies, and a point the fit check accepts that place and route then
rejects would show a broken promise of the fit check.  A point place and route rejects is
reported with its ``error``; a point below the board's clock with ``timing_met`` false (the
sweep measures Fmax; it does not refuse a point for it).

Output: a table (or ``--json``: a list of objects with the ``spikeforge build --json`` fields
plus ``sweep``, ``fit_luts``, ``fit_brams``), and a PNG (``--plot``, default
``build/plots/bench_boards.png``): logic, block RAM and peak GSOP/s against the swept value.
Builds take minutes each; ``--quick`` sweeps two points per family; ``--save FILE`` keeps the
points measured so far (JSON, and the plot) after every point.
"""

import json
import os
import tempfile
import time

from ..golden_model import ArrayConfig, CoreConfig

#: Base point and sweeps per board: small arrays that build in minutes.
SWEEPS = {
    "icebreaker": {
        "base": dict(cores=1, neurons=256, axons=64, lanes=4, weight_bits=4),
        "lanes": (2, 4, 8, 16), "cores": (1, 2), "weight_bits": (2, 4, 8),
    },
    "ulx3s-85f": {
        "base": dict(cores=2, neurons=256, axons=64, lanes=8, weight_bits=8),
        "lanes": (4, 8, 16, 32), "cores": (1, 2, 4, 8), "weight_bits": (4, 8),
    },
}
QUICK = {"icebreaker": [("lanes", 2), ("lanes", 4)],
         "ulx3s-85f": [("lanes", 8), ("cores", 4)]}


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.add_argument("--board", action="append", choices=sorted(SWEEPS),
                        help="board to sweep, repeatable (default: both)")
    parser.add_argument("--quick", action="store_true", help="two points per board")
    parser.add_argument("--plot", default="build/plots/bench_boards.png",
                        help="PNG to write ('' for none)")
    parser.add_argument("--keep", metavar="DIR", help="keep the build directories in DIR")
    parser.add_argument("--save", metavar="FILE",
                        help="write the points measured so far to FILE (JSON) after every "
                             "point, and the plot with them: a sweep stopped part-way keeps "
                             "what it measured")


def array_for(board, sweep, value):
    """Return the :class:`ArrayConfig` of the point that sets ``sweep`` to ``value``."""
    p = dict(SWEEPS[board]["base"])
    p[sweep] = value
    acc = p["weight_bits"] + 7
    core = CoreConfig(neurons=p["neurons"], axons=p["axons"], weight_bits=p["weight_bits"],
                      membrane_bits=8 if board == "icebreaker" else 16, acc_bits=acc,
                      lanes=p["lanes"])
    return ArrayConfig.uniform(core, p["cores"], phases=1, routes_per_core=p["neurons"])


def points(boards, quick):
    for board in boards:
        if quick:
            yield from ((board, s, v) for s, v in QUICK[board])
            continue
        seen = set()
        for sweep in ("lanes", "cores", "weight_bits"):
            for v in SWEEPS[board][sweep]:
                key = tuple(sorted({**SWEEPS[board]["base"], sweep: v}.items()))
                if key not in seen:
                    seen.add(key)
                    yield board, sweep, v


def build_point(board_name, array, build_dir):
    """Build ``array`` on the board; return the ``spikeforge build --json`` object."""
    from ..boards import BoardTop, get_board
    from ..boards.base import read_nextpnr_log, use_yowasp
    from ..boards.commands import build_report
    from ..rtl.array import NeuromorphicArray
    use_yowasp()
    board = get_board(board_name)
    start = time.monotonic()
    top = BoardTop(board, NeuromorphicArray(array, placement=board.placement(array)))
    clock = top.clock_hz / 1e6
    try:
        board.build(top, build_dir=build_dir)       # timed for top.timing_mhz
    except Exception as e:            # place and route refused it: report, go on
        with open(os.path.join(build_dir, "top.tim")) as f:
            _, util = read_nextpnr_log(f.read())
        r = build_report(board, array, None, util, top.timing_mhz, build_dir,
                         time.monotonic() - start, clock_mhz=clock)
        r["error"] = f"{type(e).__name__}: place and route failed"
        return r
    with open(os.path.join(build_dir, "top.tim")) as f:
        fmax, util = read_nextpnr_log(f.read())
    return build_report(board, array, fmax, util, top.timing_mhz, build_dir,
                        time.monotonic() - start, clock_mhz=clock)


def run(args):
    from rich.console import Console
    from ..fit import fit
    console = Console(stderr=True)
    boards = args.board or sorted(SWEEPS)
    rows = []
    with tempfile.TemporaryDirectory(prefix="spikeforge-bench-boards-") as tmp:
        root = args.keep or tmp
        for board, sweep, value in points(boards, args.quick):
            array = array_for(board, sweep, value)
            report = fit(board, array)
            label = f"{board} {sweep}={value}"
            row = {"sweep": sweep, "value": value,
                   "fit_luts": report["logic (LUT4)"].required,
                   "fit_brams": report["block RAM"].required, "fits": report.fits}
            if not report.fits:
                console.log(f"{label}: refused by the fit check "
                            f"({'; '.join(report.problems())}); built to measure it")
            with console.status(f"{label}: building..."):
                r = build_point(board, array, os.path.join(root, f"{board}-{sweep}-{value}"))
            rows.append({**r, **row})
            if args.save:
                _save(rows, args.save, args.plot)
            console.log(f"{label}: {r.get('fmax_mhz')} MHz (clock {r['clock_mhz']:g}), "
                        f"{_logic(r)} logic, {r['brams']} BRAM, "
                        f"{r.get('peak_gsop_per_s')} GSOP/s ({r['seconds']} s)")
    if args.plot:
        plot(rows, args.plot)
        console.log(f"plot: {args.plot}")
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'board':<12}{'sweep':<13}{'value':>6}{'logic':>8}{'fit':>8}{'BRAM':>6}"
              f"{'fit':>5}{'fits':>5}{'Fmax':>8}{'clock':>7}{'GSOP/s':>8}  error")
        for r in rows:
            logic = _logic(r)
            met = {True: "", False: "!", None: ""}[r.get("timing_met")]   # ! below the clock
            print(f"{r['board']:<12}{r['sweep']:<13}{r['value']:>6}{logic or '-':>8}"
                  f"{r['fit_luts']:>8}{r.get('brams', '-'):>6}{r['fit_brams']:>5}"
                  f"{'yes' if r['fits'] else 'NO':>5}"
                  f"{(r.get('fmax_mhz') or '-'):>7}{met:1}{r.get('clock_mhz') or '-':>7}"
                  f"{r.get('peak_gsop_per_s') or '-':>8}  {r.get('error', '')}")
    return 0


def _save(rows, path, plot_path):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(rows, f, indent=2)
    os.replace(path + ".tmp", path)       # never a half-written file
    if plot_path:
        plot(rows, plot_path)


def _logic(row):
    """The logic a build used: iCE40 logic cells or ECP5 LUT4s (``None`` if it failed)."""
    return row.get("logic_cells", row.get("luts"))


def plot(rows, path):
    """Write logic, block RAM and peak GSOP/s against each swept value, one row per board: a
    line per sweep (through the base point, which every sweep shares), a cross for a point
    place and route rejected, and the device's capacity dashed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ..boards import get_board
    boards = sorted({r["board"] for r in rows})
    fig, axes = plt.subplots(len(boards), 3, figsize=(12, 3.2 * len(boards)), squeeze=False)
    for i, board in enumerate(boards):
        mine = [r for r in rows if r["board"] == board and "brams" in r]
        base = SWEEPS.get(board, {}).get("base", {})
        # The base point is built once, under the first sweep that contains its value.
        base_row = next((r for s in ("lanes", "cores", "weight_bits") if s in base
                         for r in mine if (r["sweep"], r["value"]) == (s, base[s])), None)
        cap = get_board(board).capacity
        for j, (key, title, limit) in enumerate((("logic", "logic (LC / LUT4)", cap.luts),
                                                 ("brams", "block RAM", cap.brams),
                                                 ("peak_gsop_per_s", "peak GSOP/s", None))):
            ax = axes[i][j]
            for k, sweep in enumerate(("lanes", "cores", "weight_bits")):
                series = [r for r in mine if r["sweep"] == sweep]
                if not series:
                    continue
                if base_row is not None and base_row not in series and sweep in base:
                    series.append({**base_row, "value": base[sweep]})
                pts = sorted(((r["value"], _logic(r) if key == "logic"
                               else r.get(key), "error" in r) for r in series),
                             key=lambda p: p[0])
                good = [(x, y) for x, y, err in pts if y is not None and not err]
                bad = [(x, y) for x, y, err in pts if y is not None and err]
                if good:
                    ax.plot(*zip(*good), marker="o", color=f"C{k}", label=sweep)
                if bad:
                    ax.plot(*zip(*bad), linestyle="none", marker="x", markersize=9,
                            color=f"C{k}", label=f"{sweep}: place and route fails")
            if limit:
                ax.axhline(limit, color="grey", linestyle="--", linewidth=1, label="device")
            ax.set_title(f"{board}: {title}")
            ax.set_xlabel("swept value")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize="small")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)

"""``spikeforge demo``: a trained network from NIR to checked hardware, end to end.

1. Load the shipped network trained on scikit-learn's digits (``spikeforge/models/digits.nir``:
   64 rate-coded pixels -> 128 LIF -> 10 LI readouts, 20 timesteps) and measure its float
   accuracy on the test split.
2. Quantize it to 8 and 4 bits and map each onto cores.
3. Run the whole test split on the golden model at both widths.
4. Run a subset on the RTL of the array in Verilator (``Device("cosim")``, loaded through the
   array's command stream) and compare it with the golden model spike for spike and membrane
   value for membrane value.
5. Check the mapped array against the board's resources and write its Verilog.

``--json`` prints the figures as one object.  Needs the ``demo`` extra (scikit-learn for the
dataset; cocotb and Verilator for step 4).
"""

import json
import time
from pathlib import Path

import numpy as np

BOARD = "ulx3s-85f"
COSIM_SAMPLES = 8


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--board", default=BOARD, help=f"board to fit (default {BOARD})")
    parser.add_argument("--cosim-samples", type=int, default=COSIM_SAMPLES,
                        help="test samples to run on the RTL (0 skips cosimulation)")
    parser.add_argument("--out-dir", default="build/demo", help="where the Verilog goes")


def _accuracy(pred, labels):
    return float((np.asarray(pred) == labels).mean())


def run(args):
    from rich.console import Console

    from . import Device, load_nir, map_network, quantize
    from .boards import get_board
    from .fit import fit
    from .golden_model import ConfigError
    from .models import DIGITS_NIR
    from .models.train_digits import SEED, encode, load_split

    console = Console(stderr=True, quiet=args.json)
    board = get_board(args.board)
    if args.cosim_samples < 0:
        raise ConfigError(f"--cosim-samples: expected an integer >= 0, got {args.cosim_samples}")
    try:
        x_train, _, x_test, y_test = load_split()
    except ImportError as exc:
        raise ConfigError("the demo needs scikit-learn for the digits dataset: "
                          "pip install 'spikeforge[demo]'") from exc
    spikes = encode(x_test, seed=SEED + 7)
    calib = encode(x_train[:200], seed=SEED + 9)
    net = load_nir(DIGITS_NIR)
    fig = {"board": board.name, "test_samples": int(len(y_test)),
           "timesteps": int(spikes.shape[1])}
    fig["float_accuracy"] = _accuracy(net.simulate(spikes).membrane.sum(1).argmax(1), y_test)
    console.print(f"float network: {fig['float_accuracy']:.2%} on {len(y_test)} test digits")

    mapped = {}
    for bits in (8, 4):
        q = quantize(net, bits, 16, leak="shift", calibration=calib)
        mapped[bits] = m = map_network(q, lanes=2)
        dev = Device("golden").load(m)
        t0 = time.perf_counter()
        results = dev.run_many(list(spikes))
        fig[f"golden_seconds_{bits}bit"] = time.perf_counter() - t0
        fig[f"accuracy_{bits}bit"] = _accuracy([r.membrane_raw.sum(0).argmax() for r in results],
                                               y_test)
        fig[f"weight_rel_rms_{bits}bit"] = max(r.weight_rel_rms for r in q.report)
        fig[f"clipped_fraction_{bits}bit"] = max(r.clipped_fraction for r in q.report)
        console.print(f"{bits}-bit on the golden model: {fig[f'accuracy_{bits}bit']:.2%} "
                      f"({len(y_test)} samples in {fig[f'golden_seconds_{bits}bit']:.1f} s)")

    m8 = mapped[8]
    arr = m8.network.array
    fig.update(cores=arr.n_cores, neurons=arr.neurons, synapses=arr.synapses)
    report = fit(board, arr)
    fig["fits"] = report.fits
    fig["resources"] = {r.name: {"required": r.required, "available": r.available,
                                 "exact": r.exact} for r in report.resources}

    fig["cosim_samples"] = 0
    fig["cosim_mismatches"] = None
    if args.cosim_samples:
        fig.update(_cosim(m8, spikes[:args.cosim_samples], console))

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from amaranth.back import verilog

    from .rtl.array import NeuromorphicArray
    vfile = out / "digits_array.v"
    vfile.write_text(verilog.convert(NeuromorphicArray(arr), name="spikeforge_array"))
    (out / "digits_array.json").write_text(arr.to_json())
    m8.network.save(out / "digits_8bit.npz")
    fig["verilog"] = str(vfile)

    if args.json:
        print(json.dumps(fig, indent=2))
    else:
        _print(fig, report)
    bad = fig["cosim_mismatches"] or 0
    return 1 if bad else 0


def _cosim(mapped, samples, console):
    """Run ``samples`` on the array RTL and on the golden model; count differing samples."""
    try:
        from .device import Device
        from .sim.verilator import SimulatorNotFound, find_verilator
        find_verilator()
        import cocotb  # noqa: F401
    except (ImportError, SimulatorNotFound) as exc:
        console.print(f"cosimulation skipped: {exc} (pip install 'spikeforge[demo]')")
        return {"cosim_skipped": str(exc)}
    console.print(f"building the array RTL and running {len(samples)} samples in Verilator ...")
    golden = Device("golden").load(mapped).run_many(list(samples), record_membrane=True)
    dev = Device("cosim").load(mapped)
    t0 = time.perf_counter()
    cosim = dev.run_many(list(samples), record_membrane=True)
    seconds = time.perf_counter() - t0
    differ = sum(not (np.array_equal(g.spikes, c.spikes)
                      and np.array_equal(g.membrane_raw, c.membrane_raw)
                      and np.array_equal(g.spike_counts, c.spike_counts))
                 for g, c in zip(golden, cosim))
    return {"cosim_samples": len(samples), "cosim_mismatches": differ,
            "cosim_timestep_mismatches": len(dev.mismatches),
            "cosim_cycles": getattr(dev._impl, "cycles", None), "cosim_seconds": seconds}


def _print(fig, report):
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="spikeforge demo: digits, NIR -> quantized cores -> RTL")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("float accuracy", f"{fig['float_accuracy']:.2%}")
    table.add_row("8-bit accuracy (golden model)", f"{fig['accuracy_8bit']:.2%}")
    table.add_row("4-bit accuracy (golden model)", f"{fig['accuracy_4bit']:.2%}")
    if fig["cosim_samples"]:
        ok = "identical" if fig["cosim_mismatches"] == 0 else "MISMATCH"
        table.add_row("RTL vs golden (Verilator)",
                      f"{ok}: {fig['cosim_samples'] - fig['cosim_mismatches']}/"
                      f"{fig['cosim_samples']} samples, {fig['cosim_cycles']:,} cycles")
    else:
        table.add_row("RTL vs golden (Verilator)", "skipped")
    table.add_row("array (8-bit)", f"{fig['cores']} cores, {fig['neurons']} neurons, "
                                   f"{fig['synapses']:,} synapses")
    table.add_row(f"fits {fig['board']}", "yes" if fig["fits"] else "NO")
    for r in report.resources:
        table.add_row(f"  {r.name}", f"{r.required:,} / {r.available:,}"
                                     f"{'' if r.exact else ' (estimate)'}")
    table.add_row("Verilog", fig["verilog"])
    console.print(table)

"""``spikeforge plot``: pictures of the shipped digits network on the hardware model.

Writes PNGs into ``--out-dir``:

* ``raster.png`` -- one spike raster per layer for one test digit (golden model);
* ``membrane.png`` -- the readout membranes of that digit, golden model and, with ``--cosim``,
  the array RTL in Verilator drawn over it (they must coincide);
* ``accuracy_vs_bits.png`` -- test accuracy on the golden model against weight bits (2 to 8),
  with the float accuracy as a line.

Needs matplotlib and scikit-learn (the ``demo`` extra).  Cosimulation waveforms are recorded
with ``SPIKEFORGE_WAVES=1`` (a ``dump.vcd`` in the run directory under ``build/cosim``).
"""

from pathlib import Path

import numpy as np


def add_arguments(parser):
    parser.add_argument("--out-dir", default="build/plots")
    parser.add_argument("--sample", type=int, default=0, help="test digit to draw")
    parser.add_argument("--cosim", action="store_true", help="overlay the RTL (Verilator)")


def run(args):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import Device, load_nir, map_network, quantize
    from .golden_model import Simulator
    from .golden_model import ConfigError
    from .models import DIGITS_NIR
    from .models.train_digits import SEED, encode, load_split

    _, _, x_test, y_test = load_split()
    if not 0 <= args.sample < len(y_test):
        raise ConfigError(f"--sample: expected an integer in [0, {len(y_test) - 1}], "
                          f"got {args.sample}")
    spikes = encode(x_test, seed=SEED + 7)
    net = load_nir(DIGITS_NIR)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    mapped = map_network(quantize(net, 8, 16, leak="shift"), lanes=2)
    x = spikes[args.sample]
    # Raster per layer: the golden model's spikes of every neuron, grouped by layer.
    sim = Simulator(mapped.network)
    counts = x.astype(np.int64) @ _fanout(mapped)
    res = sim.run(counts, record=True)
    layers = {}
    for p in mapped.placements:
        cols = sim.neuron_offset[p.core] + np.arange(len(p.neurons))
        layers.setdefault(p.layer, []).append(res.spikes[:, cols])
    fig, axes = plt.subplots(len(layers) + 1, 1, figsize=(8, 2.2 * (len(layers) + 1)),
                             sharex=True)
    t_in, n_in = np.nonzero(x)
    axes[0].scatter(t_in, n_in, s=4, marker="|")
    axes[0].set_ylabel("input pixel")
    for ax, (name, parts) in zip(axes[1:], layers.items()):
        r = np.concatenate(parts, axis=1)
        t, n = np.nonzero(r)
        ax.scatter(t, n, s=4, marker="|")
        ax.set_ylabel(f"{name}")
    axes[-1].set_xlabel("timestep")
    fig.suptitle(f"spikes for test digit {args.sample} (label {y_test[args.sample]})")
    fig.savefig(out / "raster.png", dpi=120, bbox_inches="tight")
    plt.close(fig)

    # Readout membranes: golden, and the RTL on top.
    golden = Device("golden").load(mapped).run(x, record_membrane=True)
    fig, ax = plt.subplots(figsize=(8, 4))
    for j in range(golden.membrane_raw.shape[1]):
        ax.plot(golden.membrane_raw[:, j], lw=2, alpha=0.5, label=f"{j}" if j < 10 else None)
    if args.cosim:
        dev = Device("cosim").load(mapped)
        rtl = dev.run(x, record_membrane=True)
        for j in range(rtl.membrane_raw.shape[1]):
            ax.plot(rtl.membrane_raw[:, j], "k:", lw=1)
        ax.set_title(f"readout membranes: golden (colour) and RTL (dotted), "
                     f"{len(dev.mismatches)} mismatches")
    else:
        ax.set_title("readout membranes (golden model)")
    ax.set_xlabel("timestep")
    ax.set_ylabel("membrane (integer)")
    ax.legend(title="class", ncol=5, fontsize=7)
    fig.savefig(out / "membrane.png", dpi=120, bbox_inches="tight")
    plt.close(fig)

    # Accuracy against weight bits on the golden model.
    float_acc = float((net.simulate(spikes).membrane.sum(1).argmax(1) == y_test).mean())
    bits = list(range(2, 9))
    acc = []
    for w in bits:
        m = map_network(quantize(net, w, 16, leak="shift"))
        results = Device("golden").load(m).run_many(list(spikes))
        acc.append(float(np.mean([r.membrane_raw.sum(0).argmax() == y
                                  for r, y in zip(results, y_test)])))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(bits, acc, "o-", label="golden model (quantized)")
    ax.axhline(float_acc, color="gray", ls="--", label="float")
    ax.set_xlabel("weight bits")
    ax.set_ylabel("test accuracy")
    ax.legend()
    fig.savefig(out / "accuracy_vs_bits.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    for name in ("raster.png", "membrane.png", "accuracy_vs_bits.png"):
        print(out / name)
    return 0


def _fanout(mapped):
    n_axons = sum(c.axons for c in mapped.network.array.cores)
    f = np.zeros((mapped.n_inputs, n_axons), np.int64)
    f[mapped.input_columns, mapped.input_axons] = 1
    return f

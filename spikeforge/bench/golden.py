"""``spikeforge bench golden``: golden-model throughput side by side with snnTorch.

Workload: ``cores`` independent cores of ``neurons`` x ``axons`` 8-bit synapses, ``timesteps``
timesteps of Poisson (Bernoulli per timestep) host input at the given activity, every spike
routed to the host.  The same network and the same input run in snnTorch as one ``nn.Linear``
followed by ``snn.Leaky`` per core (torch on the CPU).  Both sides count synaptic operations with
the same formula, events x neurons of the target core, and both run on one CPU thread, so the
ratio compares the algorithms, not the thread counts.  Repetitions alternate between the two
sides and the median time is reported.
"""

import json
import os
import statistics
import time

import numpy as np

from ..golden_model import ArrayConfig, CoreConfig, CoreParams, Network, Routes, Simulator

# The workload of the published figures.
DEFAULTS = dict(cores=16, neurons=1024, axons=1024, timesteps=100, activities=(0.05, 0.01))
LEAK_SHIFT = 4        # beta = 1 - 2**-4 = 0.9375
THRESHOLD = 256


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--cores", type=int, default=DEFAULTS["cores"])
    parser.add_argument("--neurons", type=int, default=DEFAULTS["neurons"])
    parser.add_argument("--axons", type=int, default=DEFAULTS["axons"])
    parser.add_argument("--timesteps", type=int, default=DEFAULTS["timesteps"])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per side (median)")
    parser.add_argument("--no-snntorch", action="store_true", help="skip the snnTorch side")
    parser.add_argument("--seed", type=int, default=0)


def build_network(cores, neurons, axons, seed=0):
    """Return the benchmark network: 8-bit weights, shift leak, every spike to the host."""
    cfg = CoreConfig(neurons=neurons, axons=axons, weight_bits=8, membrane_bits=16,
                     leak="shift", reset="zero")
    rng = np.random.default_rng(seed)
    params = [CoreParams(cfg, rng.integers(-128, 128, (axons, neurons), dtype=np.int8),
                         threshold=THRESHOLD, leak=LEAK_SHIFT) for _ in range(cores)]
    arr = ArrayConfig.uniform(cfg, cores, phases=1)
    return Network(arr, params, [Routes.to_host(neurons)] * cores)


def poisson_input(cores, axons, timesteps, activity, seed=0):
    rng = np.random.default_rng(seed + 1)
    return rng.random((timesteps, cores * axons)) < activity


def time_golden(net, inputs):
    sim = Simulator(net)
    sim.run(inputs[:5])      # warm-up: buffers allocated, pages touched
    sim.reset()
    t0 = time.perf_counter()
    res = sim.run(inputs)
    dt = time.perf_counter() - t0
    return dt, int(res.sops.sum()), res


def time_snntorch(net, inputs):
    import torch
    import snntorch as snn

    torch.set_num_threads(1)
    cores = net.array.n_cores
    axons, neurons = net.array.cores[0].axons, net.array.cores[0].neurons
    beta = 1.0 - 2.0 ** -LEAK_SHIFT
    layers = []
    for p in net.cores:
        fc = torch.nn.Linear(axons, neurons, bias=False)
        with torch.no_grad():
            fc.weight.copy_(torch.from_numpy(p.weights.T.astype(np.float32)))
        layers.append((fc, snn.Leaky(beta=beta, threshold=float(THRESHOLD),
                                     reset_mechanism="zero")))
    x = torch.from_numpy(inputs.astype(np.float32)).reshape(len(inputs), cores, axons)
    with torch.no_grad():
        for t in range(min(5, len(inputs))):   # warm-up, as for the golden model
            for c, (fc, lif) in enumerate(layers):
                lif(fc(x[t, c]), lif.init_leaky())
        mems = [lif.init_leaky() for _, lif in layers]
        t0 = time.perf_counter()
        for t in range(len(inputs)):
            for c, (fc, lif) in enumerate(layers):
                _, mems[c] = lif(fc(x[t, c]), mems[c])
        dt = time.perf_counter() - t0
    sops = int(inputs.sum()) * neurons   # same formula: events x neurons of the target core
    return dt, sops


def measure(cores, neurons, axons, timesteps, activity, repeat=3, snntorch=True, seed=0):
    """Return a dict of throughput figures for one activity level."""
    net = build_network(cores, neurons, axons, seed)
    inputs = poisson_input(cores, axons, timesteps, activity, seed)
    golden, torch_times = [], []
    sops = None
    for _ in range(repeat):   # alternate the two sides so drift hits both alike
        dt, sops, _ = time_golden(net, inputs)
        golden.append(dt)
        if snntorch:
            dt_t, sops_t = time_snntorch(net, inputs)
            assert sops_t == sops
            torch_times.append(dt_t)
    out = {"golden_s": statistics.median(golden), "sops": sops,
           "golden_sop_per_s": sops / statistics.median(golden)}
    if snntorch:
        out["snntorch_s"] = statistics.median(torch_times)
        out["snntorch_sop_per_s"] = sops / out["snntorch_s"]
        out["ratio_vs_snntorch"] = out["golden_sop_per_s"] / out["snntorch_sop_per_s"]
    return out


def snntorch_available():
    try:
        import snntorch  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def run(args):
    snntorch = not args.no_snntorch and snntorch_available()
    a5, a1 = DEFAULTS["activities"]
    kw = dict(cores=args.cores, neurons=args.neurons, axons=args.axons,
              timesteps=args.timesteps, repeat=args.repeat, snntorch=snntorch, seed=args.seed)
    m5 = measure(activity=a5, **kw)
    m1 = measure(activity=a1, **kw)
    result = {
        "neurons": args.cores * args.neurons,
        "synapses": args.cores * args.neurons * args.axons,
        "cores": args.cores,
        "timesteps": args.timesteps,
        "activity": a5,
        "sops": m5["sops"],
        "golden_sop_per_s": m5["golden_sop_per_s"],
        "snntorch_sop_per_s": m5.get("snntorch_sop_per_s"),
        "ratio_vs_snntorch": m5.get("ratio_vs_snntorch"),
        "activity_1pct": a1,
        "golden_sop_per_s_1pct": m1["golden_sop_per_s"],
        "snntorch_sop_per_s_1pct": m1.get("snntorch_sop_per_s"),
        "ratio_vs_snntorch_1pct": m1.get("ratio_vs_snntorch"),
        "threads": 1,
        "snntorch": "measured" if snntorch else "not installed (pip install 'spikeforge[train]')",
        "cpu_count": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"golden model vs snnTorch: {result['neurons']} neurons, "
                        f"{result['synapses']:,} synapses, {args.timesteps} timesteps, 1 thread")
    for col in ("activity", "golden SOP/s", "snnTorch SOP/s", "ratio"):
        table.add_column(col, justify="right")
    for act, m in ((a5, m5), (a1, m1)):
        table.add_row(f"{act:.0%}", f"{m['golden_sop_per_s']:.3g}",
                      f"{m['snntorch_sop_per_s']:.3g}" if snntorch else "-",
                      f"{m['ratio_vs_snntorch']:.1f}x" if snntorch else "-")
    Console().print(table)
    return 0

"""``spikeforge demo``: the kit's main job on its built-in default network.

The default network is a three-layer feed-forward stack with a recurrent hidden layer, spread
over four cores in three phases: 64 inputs -> 128 hidden (two cores, recurrent) -> 64 -> 10
outputs to the host.  The demo validates it and runs it on the golden model; when the
simulation extra is installed, it also runs the first timesteps on the RTL of the whole array
in Verilator (loaded through the array's command stream, as a host would) and compares every
host spike, every neuron's membrane and every counter with the golden model.
"""

import json
import time

import numpy as np

from .golden_model import (HOST, ArrayConfig, CoreConfig, CoreParams, Network, Routes,
                           Simulator, assign_phases)

TIMESTEPS = 100
COSIM_TIMESTEPS = 20
SEED = 2026


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--timesteps", type=int, default=TIMESTEPS)
    parser.add_argument("--no-cosim", action="store_true", help="skip the RTL cosimulation")
    parser.add_argument("--seed", type=int, default=SEED)


def default_network(seed=SEED):
    """Return the built-in default :class:`Network` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    hidden = CoreConfig(neurons=64, axons=128, weight_bits=8, membrane_bits=16, lanes=4,
                        leak="shift", reset="subtract", refractory_bits=2)
    mid = CoreConfig(neurons=64, axons=128, weight_bits=4, membrane_bits=12, lanes=4,
                     cuba=True, current_bits=12, leak="mult", reset="zero")
    out = CoreConfig(neurons=16, axons=64, weight_bits=4, membrane_bits=12, lanes=4,
                     leak="shift", compare="gt")
    cfgs = (hidden, hidden, mid, out)
    arr = ArrayConfig(cfgs, mesh=(2, 2), phases=4)

    # Routes: input layer (host) -> cores 0, 1 on axons 0..63; hidden -> recurrent axons
    # 64..127 of both hidden cores and feed-forward to core 2; core 2 -> core 3; core 3 -> host.
    routes = []
    for c in (0, 1):
        r = [(n, 2, c * 64 + n) for n in range(64)]
        r += [(n, d, 64 + (n + 7 * c) % 64) for n in range(0, 64, 4) for d in (0, 1)]
        routes.append(r)
    routes.append([(n, 3, n) for n in range(64)])
    routes.append([(n, HOST, 0) for n in range(10)])
    routes = [Routes.from_list(r) for r in routes]
    # Hidden cores talk to each other: both in one phase, so that edge is recurrent.
    phases = assign_phases(4, [routes[0], Routes.empty(), routes[2], routes[3]])

    def weights(cfg, scale):
        lo, hi = cfg.weight_range
        w = np.rint(rng.normal(0, scale * hi, (cfg.axons, cfg.neurons)))
        return np.clip(w, lo, hi).astype(np.int64)

    params = [
        CoreParams(hidden, weights(hidden, 0.5), threshold=300, leak=3, refractory=2,
                   phase=phases[0]),
        CoreParams(hidden, weights(hidden, 0.5), threshold=300, leak=3, refractory=2,
                   phase=phases[0]),
        CoreParams(mid, weights(mid, 0.6), bias=rng.integers(-2, 3, 64), bias_shift=2,
                   threshold=40, leak=200, current_leak=160, phase=phases[2]),
        CoreParams(out, weights(out, 0.7), threshold=20, leak=2, phase=phases[3]),
    ]
    return Network(arr, params, routes)


def default_input(net, timesteps, seed=SEED):
    """Poisson input at 20% on the 64 host-driven axons of cores 0 and 1."""
    rng = np.random.default_rng(seed + 1)
    sim_axons = int(sum(c.axons for c in net.array.cores))
    x = np.zeros((timesteps, sim_axons), bool)
    x[:, 0:64] = rng.random((timesteps, 64)) < 0.2
    x[:, 128:192] = x[:, 0:64]
    return x


def run(args):
    net = default_network(args.seed)
    x = default_input(net, args.timesteps, args.seed)
    sim = Simulator(net)
    t0 = time.perf_counter()
    res = sim.run(x, record=True)
    dt = time.perf_counter() - t0
    figures = {
        "cores": net.array.n_cores,
        "neurons": net.array.neurons,
        "synapses": net.array.synapses,
        "timesteps": args.timesteps,
        "phases": [int(p.phase) for p in net.cores],
        "events": [int(e) for e in res.events],
        "spikes": [int(s) for s in res.spike_counts],
        "host_output_spikes": int(res.host_spikes.sum()),
        "golden_sops": int(res.sops.sum()),
        "golden_seconds": dt,
    }
    cosim = None
    if not args.no_cosim:
        cosim = _cosim(net, x)
        if cosim is not None:
            figures.update(cosim)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        _print(net, res, figures, cosim)
    return 1 if cosim and cosim.get("cosim_mismatches") else 0


def _cosim(net, x, timesteps=COSIM_TIMESTEPS):
    """Run the first timesteps on the array RTL in Verilator; None if it is not installed."""
    try:
        from .sim.array_cosim import run_network
        from .sim.verilator import SimulatorNotFound, find_verilator
        find_verilator()
    except (ImportError, SimulatorNotFound):
        return None
    run = run_network(net, x[:timesteps], spike_ready="p10", event_gaps="random", seed=1,
                      name="demo")
    return {"cosim_timesteps": timesteps, "cosim_cycles": run.cycles,
            "cosim_mismatches": len(run.mismatches),
            "cosim_host_spikes": sum(map(len, run.host_spikes)),
            "cosim_seconds": run.seconds, "cosim_first_mismatch": (run.mismatches or [None])[0]}


def _print(net, res, fig, cosim):
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"spikeforge demo: {fig['cores']} cores, {fig['neurons']} neurons, "
                        f"{fig['synapses']:,} synapses, {fig['timesteps']} timesteps")
    for col in ("core", "neurons x axons", "W", "V", "mode", "phase", "events", "spikes"):
        table.add_column(col, justify="right")
    for c, cfg in enumerate(net.array.cores):
        mode = f"{'CUBA' if cfg.cuba else 'LIF'} {cfg.leak}/{cfg.reset}/{cfg.compare}"
        table.add_row(str(c), f"{cfg.neurons} x {cfg.axons}", str(cfg.weight_bits),
                      str(cfg.membrane_bits), mode, str(fig["phases"][c]),
                      str(fig["events"][c]), str(fig["spikes"][c]))
    console.print(table)
    console.print(f"golden model: {fig['golden_sops']:,} synaptic operations in "
                  f"{fig['golden_seconds'] * 1e3:.1f} ms; {fig['host_output_spikes']} spikes "
                  f"reached the host")
    if cosim is None:
        console.print("RTL cosimulation skipped (install the simulation extra: "
                      "pip install 'spikeforge\\[sim]')")
    else:
        ok = "[green]identical[/green]" if not cosim["cosim_mismatches"] else "[red]MISMATCH[/red]"
        console.print(f"RTL array (Verilator) vs golden model over {cosim['cosim_timesteps']} "
                      f"timesteps, {cosim['cosim_cycles']:,} cycles, "
                      f"{cosim['cosim_host_spikes']} host spikes: {ok} "
                      f"({cosim['cosim_mismatches']} mismatches)")
        if cosim["cosim_first_mismatch"]:
            console.print(f"first mismatch: {cosim['cosim_first_mismatch']}")

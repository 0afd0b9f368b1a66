"""``NeuromorphicArray`` against the golden model in cocotb on Verilator.

Each network is built here, saved, loaded into the RTL through the command stream by
``spikeforge.sim.array_check`` and run timestep by timestep with every spike, membrane and counter compared.
Networks: a feed-forward stack whose first layer is split over two cores, a recurrent pair
(including self-loops), one neuron fanning out to every core, an all-to-one hotspot, a 4x4
mesh of small cores with random routes, and a core whose host-bound burst backs the mesh up
into its injection registers.  The host output sees the backpressure matrix (none,
3-in-4 pause, 10 % and 50 % random stalls, bursty, one stall longer than twice the deepest
FIFO), crossed with the input side (no gaps, random gaps, bursty).
"""

import dataclasses

import numpy as np
import pytest

from spikeforge.golden_model import (HOST, ArrayConfig, CoreConfig, CoreParams, Network,
                                     Routes)
from spikeforge.sim import icarus_available
from spikeforge.sim.array_cosim import run_network

FIFO_DEPTH = 8

pytestmark = pytest.mark.cosim


def _params(cfg, rng, phase, threshold=None):
    lo, hi = cfg.weight_range
    w = rng.integers(lo, hi + 1, (cfg.axons, cfg.neurons))
    w[rng.random(w.shape) < 0.5] = 0
    return CoreParams(cfg, w, bias=rng.integers(lo, hi + 1, cfg.neurons) * (rng.random() < 0.5),
                      bias_shift=int(rng.integers(0, 2)),
                      threshold=threshold or int(rng.integers(2, 3 * hi + 3)),
                      leak=int(rng.integers(0, cfg.max_leak + 1)),
                      current_leak=int(rng.integers(0, cfg.max_current_leak + 1)),
                      refractory=int(rng.integers(0, cfg.max_refractory + 1)), phase=phase)


def _with_host(routes, neurons):
    """Add a host route for every neuron so every spike is observable."""
    extra = [(n, HOST, 0) for n in range(neurons)]
    return Routes.from_list(list(zip(routes.source, routes.core, routes.axon)) + extra)


def feedforward(rng):
    """Layer 1 (32 neurons) split over cores 0 and 1, then core 2, then core 3."""
    a = CoreConfig(neurons=16, axons=8, weight_bits=4, membrane_bits=10, lanes=4,
                   reset="subtract", acc_bits=12)
    b = CoreConfig(neurons=8, axons=32, weight_bits=4, membrane_bits=10, lanes=2, cuba=True,
                   current_bits=9, leak="mult", decay_frac_bits=4, acc_bits=12)
    c = CoreConfig(neurons=4, axons=8, weight_bits=8, membrane_bits=12, lanes=4,
                   compare="gt", refractory_bits=2, acc_bits=14)
    arr = ArrayConfig((a, a, b, c), mesh=(2, 2), phases=3, routes_per_core=64)
    routes = [Routes.from_list([(n, 2, 16 * k + n) for n in range(16)]) for k in (0, 1)]
    routes += [Routes.from_list([(n, 3, n) for n in range(8)]), Routes.empty()]
    routes = [_with_host(r, cfg.neurons) for r, cfg in zip(routes, arr.cores)]
    params = [_params(cfg, rng, ph) for cfg, ph in zip(arr.cores, (0, 0, 1, 2))]
    return Network(arr, params, routes)


def recurrent(rng):
    """Two cores in one phase, each feeding itself and the other (all next-timestep)."""
    a = CoreConfig(neurons=8, axons=16, weight_bits=4, membrane_bits=10, lanes=2,
                   refractory_bits=1, acc_bits=12)
    arr = ArrayConfig((a, a), mesh=(1, 2), phases=1, routes_per_core=32)
    routes = [Routes.from_list([(n, d, (n + 8 * (d != c)) % 16) for n in range(8)
                                for d in (0, 1)]) for c in (0, 1)]
    routes = [_with_host(r, 8) for r in routes]
    return Network(arr, [_params(a, rng, 0) for _ in range(2)], routes)


def fanout(rng):
    """Neuron 0 of core 0 reaches every core (and its own), in a 2x2 mesh."""
    a = CoreConfig(neurons=4, axons=4, weight_bits=8, membrane_bits=12, lanes=1, acc_bits=14)
    arr = ArrayConfig((a,) * 4, mesh=(2, 2), phases=2, routes_per_core=16)
    routes = [Routes.from_list([(0, d, 1) for d in range(4)] + [(n, HOST, 0) for n in range(4)])]
    routes += [Routes.to_host(4) for _ in range(3)]
    params = [_params(a, rng, 0, threshold=60)] + [_params(a, rng, 1) for _ in range(3)]
    return Network(arr, params, routes)


def hotspot(rng):
    """Every neuron of cores 1-3 targets core 0 (all-to-one), 2x2 mesh."""
    src = CoreConfig(neurons=8, axons=4, weight_bits=4, membrane_bits=8, lanes=8, acc_bits=10)
    dst = CoreConfig(neurons=4, axons=24, weight_bits=4, membrane_bits=12, lanes=4, acc_bits=12)
    arr = ArrayConfig((dst, src, src, src), mesh=(2, 2), phases=2, routes_per_core=32)
    routes = [Routes.to_host(4)]
    routes += [_with_host(Routes.from_list([(n, 0, 8 * (k - 1) + n) for n in range(8)]), 8)
               for k in (1, 2, 3)]
    params = [_params(dst, rng, 1)] + [_params(src, rng, 0, threshold=4) for _ in range(3)]
    return Network(arr, params, routes)


def mesh4x4(rng):
    """16 small cores on a 4x4 mesh, random routes (some recurrent), random phases."""
    a = CoreConfig(neurons=4, axons=8, weight_bits=4, membrane_bits=10, lanes=2, acc_bits=14)
    arr = ArrayConfig((a,) * 16, mesh=(4, 4), phases=3, routes_per_core=16)
    routes = []
    for c in range(16):
        entries = [(n, int(rng.integers(16)), int(rng.integers(8)))
                   for n in range(4) for _ in range(int(rng.integers(0, 3)))]
        routes.append(_with_host(Routes.from_list(entries), 4))
    params = [_params(a, rng, int(rng.integers(3)), threshold=6) for _ in range(16)]
    return Network(arr, params, routes)


def hostburst(rng):
    """One core whose 32 neurons fire often, each to the host and to the core: a stalled host
    backs the mesh up into the injection registers (packets from distinct sources, so a lost
    or doubled one shows)."""
    a = CoreConfig(neurons=32, axons=32, weight_bits=4, membrane_bits=8, lanes=4, acc_bits=12)
    arr = ArrayConfig((a,), mesh=(1, 1), phases=1, routes_per_core=64)
    routes = _with_host(Routes.from_list([(n, 0, n) for n in range(32)]), 32)
    return Network(arr, [_params(a, rng, 0, threshold=2)], [routes])


NETWORKS = {"feedforward": feedforward, "recurrent": recurrent, "fanout": fanout,
            "hotspot": hotspot, "mesh4x4": mesh4x4, "hostburst": hostburst}


@dataclasses.dataclass(frozen=True)
class Case:
    network: str
    spike_ready: str
    event_gaps: str
    seed: int = 1
    timesteps: int = 12
    activity: float = 0.4

    @property
    def id(self):
        return f"{self.network}-{self.spike_ready}-{self.event_gaps}-s{self.seed}"


CASES = [
    Case("feedforward", "none", "none"),
    Case("feedforward", "pause34", "random", seed=2),
    Case("feedforward", "long", "bursty", seed=3),
    Case("recurrent", "p10", "none"),
    Case("recurrent", "p50", "random", seed=2),
    Case("fanout", "bursty", "random"),
    Case("fanout", "long", "none", seed=2),
    Case("hotspot", "none", "bursty"),
    Case("hotspot", "p50", "none", seed=2),
    Case("mesh4x4", "p10", "random", timesteps=8),
    Case("mesh4x4", "pause34", "bursty", seed=2, timesteps=8),
    Case("hostburst", "long", "none", timesteps=8),
]

@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_array_matches_golden(case, cosim_build_root, record_property):
    rng = np.random.default_rng(case.seed)
    net = NETWORKS[case.network](rng)
    total_axons = sum(c.axons for c in net.array.cores)
    inputs = (rng.random((case.timesteps, total_axons)) < case.activity).astype(np.int64)
    run = run_network(net, inputs, spike_ready=case.spike_ready, event_gaps=case.event_gaps,
                      seed=case.seed, strict=True, fifo_depth=FIFO_DEPTH,
                      root=cosim_build_root, name=case.id)
    record_property("cycles", run.cycles)
    record_property("sim_seconds", round(run.seconds, 2))
    print(f"{case.id}: {run.cycles:,} cycles, {len(run.host_spikes)} timesteps, "
          f"{sum(map(len, run.host_spikes))} host spikes, {run.seconds:.1f} s")
    assert run.mismatches == []
    assert len(run.host_spikes) == case.timesteps


@pytest.mark.skipif(not icarus_available(), reason="Icarus Verilog (iverilog) is not installed; "
                                                   "the Verilator runs above cover the array")
def test_icarus_gives_the_same_spikes(cosim_build_root):
    rng = np.random.default_rng(7)
    net = feedforward(rng)
    inputs = (rng.random((6, sum(c.axons for c in net.array.cores))) < 0.4).astype(np.int64)
    runs = [run_network(net, inputs, seed=7, strict=True, fifo_depth=FIFO_DEPTH,
                        root=cosim_build_root, name=f"icarus-check-{sim}", simulator=sim)
            for sim in ("verilator", "icarus")]
    assert runs[0].host_spikes == runs[1].host_spikes
    assert runs[1].mismatches == []

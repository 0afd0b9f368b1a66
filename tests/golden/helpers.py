"""Shared builders and Hypothesis strategies for the golden-model tests."""

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from spikeforge.golden_model import (HOST, ArrayConfig, CoreConfig, CoreParams, Network,
                                     Routes, Simulator)
from spikeforge.golden_model.reference import ReferenceSimulator

#: Settings for every property: modest and deterministic in time (no deadline), so CI does not
#: flake on a slow runner.
PROPERTY = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SIMULATORS = (Simulator, ReferenceSimulator)


def single(axons=1, neurons=1, weights=None, routes=None, cfg=None, **params):
    """Return a one-core network; ``cfg`` holds CoreConfig fields, ``params`` CoreParams ones."""
    config = CoreConfig(neurons=neurons, axons=axons, **(cfg or {}))
    if weights is None:
        weights = np.zeros((axons, neurons), np.int64)
    p = CoreParams(config, np.asarray(weights).reshape(axons, neurons), **params)
    return Network(ArrayConfig((config,), phases=1), (p,),
                   (routes if routes is not None else Routes.to_host(neurons),))


def chain(phases, weight=10, threshold=10, routes=None, n_phases=None):
    """Return cores of one neuron and one axon; ``routes[c]`` lists ``(source, core, axon)``."""
    cfg = CoreConfig(neurons=1, axons=1, acc_bits=12)
    n = len(phases)
    arr = ArrayConfig((cfg,) * n, phases=n_phases or max(phases) + 1)
    cores = tuple(CoreParams(cfg, [[weight]], threshold=threshold, phase=p) for p in phases)
    if routes is None:   # c -> c + 1, the last to the host
        routes = [[(0, c + 1, 0)] for c in range(n - 1)] + [[(0, HOST, 0)]]
    return Network(arr, cores, tuple(Routes.from_list(r) for r in routes))


def pulses(steps, axons, at):
    """Return an input array with ``at[t] = [axon, ...]`` events (repeats allowed)."""
    inp = np.zeros((steps, axons), np.int64)
    for t, lst in at.items():
        for a in lst:
            inp[t, a] += 1
    return inp


# -- Hypothesis strategies ----------------------------------------------------------------------

@st.composite
def core_configs(draw, max_neurons=5, max_axons=4):
    """A small CoreConfig over every mode, biased towards narrow widths so saturation happens."""
    w = draw(st.integers(1, 8))
    lo = max(2, w)
    lanes = draw(st.sampled_from([1, 1, 1, 2]))
    neurons = lanes * draw(st.integers(1, max(1, max_neurons // lanes)))
    return CoreConfig(
        neurons=neurons,
        axons=draw(st.integers(1, max_axons)),
        weight_bits=w,
        membrane_bits=draw(st.one_of(st.integers(lo, lo + 6), st.integers(lo, 32))),
        acc_bits=draw(st.one_of(st.none(), st.integers(lo, min(32, w + 8)),
                                st.integers(min(32, w + 4), min(32, w + 8)))),
        cuba=draw(st.booleans()),
        current_bits=draw(st.one_of(st.integers(2, 10), st.just(32))),
        leak=draw(st.sampled_from(["shift", "mult"])),
        decay_frac_bits=draw(st.sampled_from([1, 2, 4, 8, 16])),
        reset=draw(st.sampled_from(["zero", "subtract"])),
        compare=draw(st.sampled_from(["ge", "gt"])),
        refractory_bits=draw(st.integers(0, 3)),
        lanes=lanes,
    )


@st.composite
def core_params(draw, cfg, phases=1):
    wlo, whi = cfg.weight_range
    vhi = cfg.membrane_range[1]
    weights = draw(st.lists(st.integers(wlo, whi), min_size=cfg.axons * cfg.neurons,
                            max_size=cfg.axons * cfg.neurons))
    bias = draw(st.lists(st.integers(wlo, whi), min_size=cfg.neurons, max_size=cfg.neurons))
    return CoreParams(
        cfg, np.array(weights, np.int64).reshape(cfg.axons, cfg.neurons),
        bias=np.array(bias, np.int64),
        bias_shift=draw(st.integers(0, cfg.max_bias_shift)),
        threshold=draw(st.one_of(st.integers(1, max(1, min(vhi, 2 * whi))), st.integers(1, vhi))),
        leak=draw(st.integers(0, cfg.max_leak)),
        current_leak=draw(st.integers(0, cfg.max_current_leak)),
        refractory=draw(st.integers(0, cfg.max_refractory)),
        phase=draw(st.integers(0, phases - 1)),
    )


@st.composite
def networks(draw, max_cores=4, max_routes=8):
    """A random multi-core network: any phases, routes forward, back, to self and to HOST."""
    n = draw(st.integers(1, max_cores))
    cfgs = tuple(draw(core_configs()) for _ in range(n))
    phases = draw(st.integers(1, 4))
    arr = ArrayConfig(cfgs, phases=phases,
                      routes_per_core=draw(st.integers(max_routes, 2 * max_routes)))
    cores = tuple(draw(core_params(cfg, phases)) for cfg in cfgs)
    routes = []
    for cfg in cfgs:
        entries = []
        for _ in range(draw(st.integers(0, max_routes))):
            src = draw(st.integers(0, cfg.neurons - 1))
            dst = draw(st.integers(HOST, n - 1))
            axon = 0 if dst == HOST else draw(st.integers(0, cfgs[dst].axons - 1))
            entries.append((src, dst, axon))
        routes.append(Routes.from_list(entries))
    return Network(arr, cores, tuple(routes))


@st.composite
def inputs_for(draw, net, max_steps=8):
    axons = sum(c.axons for c in net.array.cores)
    max_count = draw(st.sampled_from([1, 1, 2]))   # bursts of two sometimes pass max_events
    steps = draw(st.integers(0, max_steps))
    flat = draw(st.lists(st.integers(0, max_count), min_size=steps * axons,
                         max_size=steps * axons))
    return np.array(flat, np.int64).reshape(steps, axons)

"""Delivery of many events at once: the layouts of Simulator._accumulate and the run plan.

The Hypothesis networks are tiny, so these cases exercise what they rarely reach: blocks of
many cores and events, sums of more rows than int16 holds, cores of different widths, an
internal core order that differs from the core numbering, and the ``max_events`` check of
timesteps prepared up front.  Every case is compared with :class:`ReferenceSimulator`.
"""

import numpy as np
import pytest

from spikeforge.golden_model import (HOST, ArrayConfig, CoreConfig, CoreParams, Network, Routes,
                                     SimulationError, Simulator)
from spikeforge.golden_model.reference import ReferenceSimulator

FIELDS = ("spikes", "host_spikes", "membrane", "current", "refractory", "events", "sops",
          "spike_counts")

# Bytes of padding per reduction that make Simulator._accumulate pick its layout: 0 reduces
# the cores one by one whenever a block would need padding, a huge budget always pads.
PAD_BUDGETS = [0, Simulator._pad_budget, 1 << 40]


def make_network(cfgs, seed, phases=None, routes=None, **params):
    rng = np.random.default_rng(seed)
    phases = phases or [0] * len(cfgs)
    cores = []
    for cfg, phase in zip(cfgs, phases):
        lo, hi = cfg.weight_range
        weights = rng.integers(lo, hi + 1, (cfg.axons, cfg.neurons))
        cores.append(CoreParams(cfg, weights, phase=phase, **params))
    if routes is None:
        routes = [Routes.to_host(cfg.neurons) for cfg in cfgs]
    return Network(ArrayConfig(tuple(cfgs), phases=max(phases) + 1), tuple(cores),
                   tuple(routes))


def poisson(net, steps, activity, seed, max_count=1):
    rng = np.random.default_rng(seed)
    axons = int(sum(c.axons for c in net.array.cores))
    return rng.integers(1, max_count + 1, (steps, axons)) * (rng.random((steps, axons))
                                                             < activity)


def assert_matches_reference(net, inputs, pad_budget=None, runs=2):
    sim = Simulator(net)
    if pad_budget is not None:
        sim._pad_budget = pad_budget
    ref = ReferenceSimulator(net)
    for _ in range(runs):     # state and queued events carry over between runs
        res, expected = sim.run(inputs, record=True), ref.run(inputs, record=True)
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(res, name), getattr(expected, name),
                                          err_msg=name)
    return res


@pytest.mark.parametrize("pad_budget", PAD_BUDGETS)
def test_uniform_cores(pad_budget):
    cfg = CoreConfig(neurons=24, axons=40, weight_bits=8, membrane_bits=16, acc_bits=16)
    net = make_network([cfg] * 4, seed=1, threshold=150, leak=2)
    inputs = poisson(net, 12, 0.3, seed=2, max_count=2)
    inputs[3, 80:120] = 0              # core 2 silent
    inputs[4, 40:] = 0                 # only core 0
    inputs[5, :40] = 2                 # core 0 far ahead of the others
    inputs[6] = 0                      # no events
    res = assert_matches_reference(net, inputs, pad_budget)
    assert res.spike_counts.min() > 0


@pytest.mark.parametrize("pad_budget", PAD_BUDGETS)
def test_cores_of_different_widths(pad_budget):
    cfgs = [CoreConfig(neurons=n, axons=a, weight_bits=w, membrane_bits=14, acc_bits=w + 8)
            for n, a, w in [(16, 30, 8), (5, 12, 3), (24, 20, 6), (9, 33, 8)]]
    net = make_network(cfgs, seed=3, threshold=60, leak=3)
    inputs = poisson(net, 10, 0.35, seed=4, max_count=2)
    inputs[2, :30] = 0                 # core 0 silent
    assert_matches_reference(net, inputs, pad_budget)


@pytest.mark.parametrize("pad_budget", PAD_BUDGETS)
def test_internal_order_differs_from_core_order(pad_budget):
    # phases 2, 0, 1 and different thresholds: the cores tick (and accumulate) in another
    # order than their numbers; routes between them and to the host
    cfg = CoreConfig(neurons=12, axons=12, weight_bits=8, membrane_bits=16, acc_bits=16)
    rng = np.random.default_rng(5)
    routes = []
    for _ in range(3):
        entries = []
        for n in range(12):
            for dst in rng.integers(HOST, 3, 2).tolist():
                entries.append((n, dst, 0 if dst == HOST else int(rng.integers(0, 12))))
        routes.append(Routes.from_list(entries))
    net = make_network([cfg] * 3, seed=6, phases=[2, 0, 1], routes=routes, threshold=90,
                       leak=1)
    assert not Simulator(net)._identity
    inputs = poisson(net, 15, 0.4, seed=7)
    res = assert_matches_reference(net, inputs, pad_budget)
    assert res.events.sum() > inputs.sum()     # routed events were delivered


@pytest.mark.parametrize("pad_budget", PAD_BUDGETS)
def test_sums_wider_than_int16(pad_budget):
    # 300 (then 600) events of weight -128 or 127 per core: sums beyond int16, exact in int32
    cfg = CoreConfig(neurons=3, axons=300, weight_bits=8, membrane_bits=32, acc_bits=18)
    cores = (CoreParams(cfg, np.full((300, 3), -128), threshold=1 << 30),
             CoreParams(cfg, np.full((300, 3), 127), threshold=1 << 30))
    net = Network(ArrayConfig((cfg, cfg)), cores, (Routes.to_host(3),) * 2)
    inputs = np.ones((2, 600), np.int64)
    inputs[1] = 2
    sim = Simulator(net)
    sim._pad_budget = pad_budget
    res = sim.run(inputs, record=True)
    assert res.membrane[0].tolist() == [-128 * 300] * 3 + [127 * 300] * 3
    assert res.membrane[1].tolist() == [-128 * 900] * 3 + [127 * 900] * 3
    assert_matches_reference(net, inputs[:1], pad_budget, runs=1)


@pytest.mark.parametrize("pad_budget", PAD_BUDGETS)
def test_many_narrow_weights_in_a_16_bit_accumulator(pad_budget):
    # acc_bits 16 everywhere (int16 accumulators), but the 2-bit core takes 1000 events: more
    # rows than an int16 sum of 8-bit weights allows, so that block is summed in int32
    wide = CoreConfig(neurons=4, axons=200, weight_bits=8, membrane_bits=16, acc_bits=16)
    narrow = CoreConfig(neurons=4, axons=500, weight_bits=2, membrane_bits=16, acc_bits=16)
    net = make_network([wide, narrow], seed=8, threshold=2000)
    assert Simulator(net).acc.dtype == np.int16
    inputs = np.zeros((3, 700), np.int64)
    inputs[:, :100] = 1
    inputs[:, 200:] = 2
    assert_matches_reference(net, inputs, pad_budget)


@pytest.mark.parametrize("pad_budget", PAD_BUDGETS)
def test_too_many_host_events_raise_in_their_timestep(pad_budget):
    cfg = CoreConfig(neurons=6, axons=8, weight_bits=4, acc_bits=6)     # max_events 4
    net = make_network([cfg] * 2, seed=9, threshold=20)
    inputs = np.zeros((6, 16), np.int64)
    inputs[:, [0, 3, 9, 12]] = 1                    # 2 events per core and timestep
    inputs[3, 8:13] = 1                             # 5 events on core 1 in timestep 3
    sim = Simulator(net)
    sim._pad_budget = pad_budget
    with pytest.raises(SimulationError, match="core 1: 5 events for timestep 3"):
        sim.run(inputs)
    assert sim.timestep == 3
    assert sim.events.tolist() == [6, 6]
    with pytest.raises(SimulationError):
        ReferenceSimulator(net).run(inputs)


@pytest.mark.parametrize("pad_budget", PAD_BUDGETS)
def test_routed_and_host_events_share_max_events(pad_budget):
    # every neuron of core 0 fires each timestep and feeds back into core 0 for the next one;
    # with the host events that passes max_events only in the timestep after the first
    cfg = CoreConfig(neurons=3, axons=8, weight_bits=4, acc_bits=7)     # max_events 8
    cores = (CoreParams(cfg, np.full((8, 3), 7), threshold=1),
             CoreParams(cfg, np.full((8, 3), 7), threshold=1))
    loop = Routes.from_list([(n, 0, n) for n in range(3)] + [(n, HOST, 0) for n in range(3)])
    net = Network(ArrayConfig((cfg, cfg)), cores, (loop, Routes.to_host(3)))
    inputs = np.zeros((3, 16), np.int64)
    inputs[:, :6] = 1                               # 6 host events on core 0 per timestep
    inputs[:, 8:14] = 1
    sim = Simulator(net)
    sim._pad_budget = pad_budget
    with pytest.raises(SimulationError, match="core 0: 9 events for timestep 1"):
        sim.run(inputs)
    with pytest.raises(SimulationError):
        ReferenceSimulator(net).run(inputs)
    assert_matches_reference(net, inputs[:1], pad_budget, runs=1)

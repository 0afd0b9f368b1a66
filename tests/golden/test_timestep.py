"""Timestep and phase semantics (golden_model/simulator.py), checked by hand.

Unless stated otherwise every core has one neuron and one axon of weight 10 and threshold 10,
no leak and reset to zero: a neuron fires in exactly the timestep its single event reaches it.
"""

import numpy as np
import pytest

from spikeforge.golden_model import HOST, ArrayConfig, CoreConfig, CoreParams, Network, Routes

from .helpers import SIMULATORS, chain, pulses


@pytest.fixture(params=SIMULATORS, ids=lambda c: c.__name__)
def sim_cls(request):
    return request.param


def fired(res):
    """Return, per timestep, the global neurons that fired."""
    return [np.flatnonzero(row).tolist() for row in res.spikes]


def test_phased_chain_is_zero_delay(sim_cls):
    # 0 (phase 0) -> 1 (phase 1) -> 2 (phase 2) -> HOST: all in the timestep of the input
    net = chain([0, 1, 2])
    res = sim_cls(net).run(pulses(3, 3, {0: [0]}))
    assert fired(res) == [[0, 1, 2], [], []]
    assert res.host_spikes[:, 0].tolist() == [True, False, False]
    assert res.events.tolist() == [1, 1, 1]
    assert res.sops.tolist() == [1, 1, 1]
    assert res.spike_counts.tolist() == [1, 1, 1]


@pytest.mark.parametrize("phases", [[0, 0, 0], [2, 1, 0], [1, 1, 0], [3, 3, 3]])
def test_same_or_earlier_phase_takes_one_timestep(sim_cls, phases):
    net = chain(phases, n_phases=4)
    res = sim_cls(net).run(pulses(4, 3, {0: [0]}))
    assert fired(res) == [[0], [1], [2], []]
    assert res.host_spikes[:, 0].tolist() == [False, False, True, False]


def test_mixed_chain(sim_cls):
    # phases 0, 2, 1: hop 0 -> 1 is forward (same timestep), hop 1 -> 2 goes back (next)
    res = sim_cls(chain([0, 2, 1])).run(pulses(3, 3, {0: [0]}))
    assert fired(res) == [[0, 1], [2], []]


def test_self_route_lands_next_timestep(sim_cls):
    # neuron 0 feeds itself: fires at t0 from the host event, then every timestep after
    net = chain([0], routes=[[(0, 0, 0), (0, HOST, 0)]])
    res = sim_cls(net).run(pulses(5, 1, {0: [0]}))
    assert fired(res) == [[0]] * 5
    # 1 host event + 5 self events (the one sent at t4 waits in the accumulator for t5; it
    # is counted when the router delivers it, like every other event)
    assert res.events.tolist() == [6]
    assert res.spike_counts.tolist() == [5]


def test_state_and_queued_events_carry_over_between_runs(sim_cls):
    net = chain([0, 0], routes=[[(0, 1, 0)], [(0, HOST, 0)]])
    sim = sim_cls(net)
    first = sim.run(pulses(1, 2, {0: [0]}))
    second = sim.run(np.zeros((1, 2), np.int64))
    assert fired(first) == [[0]] and fired(second) == [[1]]
    assert first.events.tolist() == [1, 1] and second.events.tolist() == [0, 0]


def test_fan_out_to_several_cores_and_host(sim_cls):
    # core 0 (phase 0) neuron 0 -> core 1 axon 0, core 2 axon 1, HOST, core 1 axon 0 again
    cfg1 = CoreConfig(neurons=1, axons=1, acc_bits=12)
    cfg2 = CoreConfig(neurons=2, axons=2, acc_bits=12)
    arr = ArrayConfig((cfg1, cfg1, cfg2), phases=2)
    cores = (CoreParams(cfg1, [[10]], threshold=10),
             CoreParams(cfg1, [[7]], threshold=14, phase=1),        # needs both events: 14
             CoreParams(cfg2, [[1, 1], [3, 20]], threshold=10, phase=1))
    routes = (Routes.from_list([(0, 1, 0), (0, 2, 1), (0, HOST, 0), (0, 1, 0)]),
              Routes.from_list([(0, HOST, 0)]), Routes.from_list([(1, HOST, 0), (0, HOST, 0)]))
    res = sim_cls(Network(arr, cores, routes)).run(
        pulses(2, 4, {0: [0], 1: [3]}), record=True)
    # t0: core 0 fires; core 1 gets 7 + 7 = 14 and fires; core 2 gets row 1 = [3, 20]: its
    #     neuron 1 fires (20 >= 10), neuron 0 holds 3
    # t1: host event on global axon 3 = core 2 axon 1: neuron 0 at 3 + 3 = 6, neuron 1 at 20
    #     -> 0 reset, then 0 + 20 fires again
    assert fired(res) == [[0, 1, 3], [3]]
    assert res.membrane.tolist() == [[0, 0, 3, 0], [0, 0, 6, 0]]
    # host columns in order of core then entry: (0, 0), (1, 0), (2, 1), (2, 0)
    assert res.host_spikes.tolist() == [[True, True, True, False], [False, False, True, False]]
    assert res.events.tolist() == [1, 2, 2]
    assert res.sops.tolist() == [1, 2, 4]       # events x neurons of the target core
    assert res.spike_counts.tolist() == [1, 1, 2]


def test_host_outputs_columns(sim_cls):
    cfg = CoreConfig(neurons=2, axons=1)
    arr = ArrayConfig((cfg, cfg), phases=1)
    cores = tuple(CoreParams(cfg, [[10, 10]], threshold=10) for _ in range(2))
    routes = (Routes.from_list([(1, HOST, 0), (0, HOST, 0)]), Routes.from_list([(0, HOST, 0)]))
    sim = sim_cls(Network(arr, cores, routes))
    assert sim.host_outputs.tolist() == [[0, 1], [0, 0], [1, 0]]
    res = sim.run(pulses(3, 2, {0: [0], 1: [1], 2: [0, 1]}))
    # t0: core 0 both neurons; t1: core 1 both neurons (neuron 1 has no host route)
    assert res.host_spikes.tolist() == [[True, True, False], [False, False, True],
                                        [True, True, True]]


def test_no_host_routes_gives_no_columns(sim_cls):
    net = chain([0], routes=[[]])
    res = sim_cls(net).run(pulses(2, 1, {0: [0]}))
    assert res.host_spikes.shape == (2, 0)
    assert fired(res) == [[0], []]


def test_phase_gaps_are_allowed(sim_cls):
    # phases 0 and 3 of 4, nothing in 1 and 2: still forward, same timestep
    res = sim_cls(chain([0, 3], n_phases=4)).run(pulses(1, 2, {0: [0]}))
    assert fired(res) == [[0, 1]]


def test_events_counted_once_each(sim_cls):
    # two host events on the same axon in one timestep add the weight twice
    net = chain([0], weight=6, threshold=12, routes=[[]])
    res = sim_cls(net).run(np.array([[2], [1]]), record=True)
    assert fired(res) == [[0], []]
    assert res.membrane[:, 0].tolist() == [0, 6]
    assert res.events.tolist() == [3]


def test_bool_inputs(sim_cls):
    net = chain([0], routes=[[]])
    res = sim_cls(net).run(np.array([[True], [False]]))
    assert fired(res) == [[0], []]


def test_zero_timesteps(sim_cls):
    res = sim_cls(chain([0, 1])).run(np.zeros((0, 2), np.int64), record=True)
    assert res.spikes.shape == (0, 2) and res.membrane.shape == (0, 2)
    assert res.events.tolist() == [0, 0]

"""The vectorized :class:`Simulator` against the literal :class:`ReferenceSimulator`."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeforge.golden_model import SimulationError, Simulator
from spikeforge.golden_model.reference import ReferenceSimulator

from .helpers import PROPERTY, inputs_for, networks

FIELDS = ("spikes", "host_spikes", "membrane", "current", "refractory", "events", "sops",
          "spike_counts")


def outcome(sim, inputs):
    try:
        return sim.run(inputs, record=True)
    except SimulationError:
        return SimulationError


def assert_same(res, ref):
    if ref is SimulationError or res is SimulationError:
        assert res is ref, "only one of the simulators refused the input"
        return
    for name in FIELDS:
        a, b = getattr(res, name), getattr(ref, name)
        assert a.shape == b.shape, name
        np.testing.assert_array_equal(a, b, err_msg=name)


@settings(PROPERTY, max_examples=300)
@given(st.data())
def test_simulator_matches_reference(data):
    net = data.draw(networks())
    sim, ref = Simulator(net), ReferenceSimulator(net)
    np.testing.assert_array_equal(sim.host_outputs, ref.host_outputs)
    np.testing.assert_array_equal(sim.neuron_offset, ref.neuron_offset)
    # Two runs back to back: state, queued events and counters carry over between runs.
    for _ in range(2):
        inputs = data.draw(inputs_for(net))
        a, b = outcome(sim, inputs), outcome(ref, inputs)
        assert_same(a, b)
        if a is SimulationError:
            break


@PROPERTY
@given(st.data())
def test_core_inputs_match_the_events_each_core_integrated(data):
    # Simulator.core_inputs rebuilds, from a run's spikes, what ReferenceSimulator logs directly
    net = data.draw(networks())
    inputs = data.draw(inputs_for(net))
    sim, ref = Simulator(net), ReferenceSimulator(net)
    res = outcome(sim, inputs)
    if res is SimulationError:
        return
    ref.run(inputs)
    for c, cfg in enumerate(net.array.cores):
        expected = np.zeros((len(inputs), cfg.axons), np.int64)
        for t in range(len(inputs)):
            for a in ref.integrated[t][c]:
                expected[t, a] += 1
        np.testing.assert_array_equal(sim.core_inputs(inputs, res, c), expected)

"""Properties of the equations and of event delivery, over random networks."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from spikeforge.golden_model import SimulationError, Simulator
from spikeforge.golden_model.reference import ReferenceSimulator

from .helpers import PROPERTY, inputs_for, networks


def run_or_none(net, inputs):
    try:
        return Simulator(net).run(inputs, record=True)
    except SimulationError:
        return None


def per_core(net, res):
    """Yield ``(cfg, params, spikes, v, i, ref)`` column blocks of each core."""
    lo = 0
    for cfg, p in zip(net.array.cores, net.cores):
        sl = slice(lo, lo + cfg.neurons)
        lo += cfg.neurons
        yield cfg, p, res.spikes[:, sl], res.membrane[:, sl], res.current[:, sl], \
            res.refractory[:, sl]


def stepped(sim, events):
    """Step ``sim`` through ``events``; return what each step produced and the final state."""
    out = []
    try:
        for ev in events:
            if isinstance(sim, Simulator):
                out.append(np.flatnonzero(sim.step(np.array(ev, np.int64).reshape(-1, 2))))
            else:
                out.append(np.array(sorted(sim.step(ev)[0]), np.int64))
    except SimulationError:
        out.append("SimulationError")   # the limit is on the count of events, not their order
    state = [{k: np.asarray(x)[:] for k, x in sim.state(c).items() if k != "acc"}
             for c in range(len(sim.network.cores))]
    return out, state, list(sim.events)


@PROPERTY
@given(st.data())
def test_order_of_events_within_a_timestep_does_not_matter(data):
    net = data.draw(networks())
    n_axons = [c.axons for c in net.array.cores]
    steps = data.draw(st.integers(1, 5))
    events = [data.draw(st.lists(st.tuples(st.integers(0, len(n_axons) - 1),
                                           st.integers(0, max(n_axons) - 1)), max_size=6))
              for _ in range(steps)]
    events = [[(c, a % n_axons[c]) for c, a in ev] for ev in events]
    shuffled = [data.draw(st.permutations(ev)) for ev in events]
    expected = stepped(Simulator(net), events)
    for sim, ev in ((Simulator(net), shuffled), (ReferenceSimulator(net), events),
                    (ReferenceSimulator(net), shuffled)):
        got = stepped(sim, ev)
        assert len(got[0]) == len(expected[0])
        for x, y in zip(got[0], expected[0]):
            if isinstance(y, str):
                assert x == y
            else:
                np.testing.assert_array_equal(x, y)
        if expected[0] and isinstance(expected[0][-1], str):
            continue     # state and counters after a refusal are left mid-timestep
        for x, y in zip(got[1], expected[1]):
            for k in x:
                np.testing.assert_array_equal(x[k], y[k])
        assert got[2] == expected[2]


@PROPERTY
@given(st.data())
def test_state_stays_within_its_widths(data):
    net = data.draw(networks())
    res = run_or_none(net, data.draw(inputs_for(net)))
    if res is None:
        return
    for cfg, p, s, v, i, ref in per_core(net, res):
        lo, hi = cfg.membrane_range
        assert ((v >= lo) & (v <= hi)).all()
        if cfg.cuba:
            lo, hi = cfg.current_range
            assert ((i >= lo) & (i <= hi)).all()
        else:
            assert (i == 0).all()
        assert ((ref >= 0) & (ref <= p.refractory)).all()


@PROPERTY
@given(st.data())
def test_spike_and_reset(data):
    net = data.draw(networks())
    res = run_or_none(net, data.draw(inputs_for(net)))
    if res is None:
        return
    for cfg, p, s, v, i, ref in per_core(net, res):
        hi = cfg.membrane_range[1]
        ref_before = np.vstack([np.zeros((1, cfg.neurons), np.int64), ref[:-1]])
        if cfg.reset == "zero":
            assert (v[s] == 0).all()
        else:                        # v = v1 - theta with theta <= v1 <= hi (v1 > theta: gt)
            low = 0 if cfg.compare == "ge" else 1
            assert ((v[s] >= low) & (v[s] <= hi - p.threshold)).all()
        # a neuron that could fire and did not is below (ge) or at most at (gt) the threshold
        quiet = ~s & (ref_before == 0)
        if cfg.compare == "ge":
            assert (v[quiet] < p.threshold).all()
        else:
            assert (v[quiet] <= p.threshold).all()


@PROPERTY
@given(st.data())
def test_refractory_period(data):
    net = data.draw(networks())
    res = run_or_none(net, data.draw(inputs_for(net, max_steps=12)))
    if res is None:
        return
    for cfg, p, s, v, i, ref in per_core(net, res):
        R = p.refractory
        for n in range(cfg.neurons):
            times = np.flatnonzero(s[:, n])
            # no spike within R timesteps after a spike
            assert (np.diff(times) > R).all()
            # the counter is R at a spike and counts down to 0 by one per timestep
            expected, r = [], 0
            for t in range(len(s)):
                r = R if s[t, n] else max(r - 1, 0)
                expected.append(r)
            assert ref[:, n].tolist() == expected

"""Every term of the tick equations (golden_model/neuron.py), checked against hand arithmetic.

Each case is a one-core network whose neuron 0 is driven through axon 0 (and axon 1 where a
second weight is needed).  The expected traces are worked out by hand in the comments; they
are checked on three implementations of the same equations: :func:`neuron.tick` stepped by
hand, the vectorized :class:`Simulator` and the literal :class:`ReferenceSimulator`.
"""

import numpy as np
import pytest

from spikeforge.golden_model import Simulator, decay, saturate, tick
from spikeforge.golden_model.reference import ReferenceSimulator

from .helpers import pulses, single


def run_tick(net, inputs):
    """Step :func:`neuron.tick` directly (one core, no core-to-core routes)."""
    (p,), cfg = net.cores, net.array.cores[0]
    v = i = ref = np.zeros(cfg.neurons, np.int64)
    out = {k: [] for k in ("spikes", "membrane", "current", "refractory")}
    for row in np.asarray(inputs):
        acc = row @ p.weights.astype(np.int64)
        s, v, i, ref = tick(cfg, p, v, i, ref, acc)
        for k, x in zip(out, (s, v, i, ref)):
            out[k].append(np.array(x))
    return {k: np.array(x).reshape(len(inputs), cfg.neurons) for k, x in out.items()}


def run_sim(cls):
    def run(net, inputs):
        r = cls(net).run(np.asarray(inputs), record=True)
        return {"spikes": r.spikes, "membrane": r.membrane, "current": r.current,
                "refractory": r.refractory}
    return run


ENGINES = {"tick": run_tick, "Simulator": run_sim(Simulator),
           "ReferenceSimulator": run_sim(ReferenceSimulator)}


@pytest.fixture(params=list(ENGINES))
def engine(request):
    return ENGINES[request.param]


NEVER = 32767   # the largest 16-bit threshold: with compare "gt" a 16-bit membrane never fires


def v_trace(engine, net, inputs):
    return engine(net, inputs)["membrane"][:, 0].tolist()


# -- leak ----------------------------------------------------------------------------------

def test_shift_decay_positive(engine):
    net = single(weights=[100], leak=2, threshold=NEVER, cfg=dict(compare="gt"))
    # t0: 0 + 100 = 100; t1: 100 - (100 >> 2 = 25) = 75; t2: 75 - (75 >> 2 = 18) = 57;
    # t3: 57 - (57 >> 2 = 14) = 43
    assert v_trace(engine, net, pulses(4, 1, {0: [0]})) == [100, 75, 57, 43]


def test_shift_decay_negative_rounds_toward_minus_infinity(engine):
    net = single(weights=[-100], leak=2, threshold=NEVER, cfg=dict(compare="gt"))
    # t1: -100 >> 2 = -25 exactly, -100 + 25 = -75
    # t2: -75 >> 2 = floor(-18.75) = -19, so -75 + 19 = -56  (not -57: the floor goes the
    #     other way than for +75, where 75 >> 2 = 18 and 75 - 18 = 57)
    # t3: -56 >> 2 = -14, -56 + 14 = -42
    assert v_trace(engine, net, pulses(4, 1, {0: [0]})) == [-100, -75, -56, -42]


@pytest.mark.parametrize("w, k, expected", [
    (1, 3, [1, 1, 1]),       # 1 >> 3 = 0: a positive 1 never leaks away
    (-1, 3, [-1, 0, 0]),     # -1 >> 3 = -1: -1 - (-1) = 0 at once
    (-1, 1, [-1, 0, 0]),     # -1 >> 1 = -1
    (-3, 1, [-3, -1, 0]),    # -3 >> 1 = -2: -3 + 2 = -1; then -1 + 1 = 0
    (3, 1, [3, 2, 1]),       # 3 >> 1 = 1: 2; 2 >> 1 = 1: 1
])
def test_shift_decay_small_values(engine, w, k, expected):
    net = single(weights=[w], leak=k, threshold=NEVER, cfg=dict(compare="gt"))
    assert v_trace(engine, net, pulses(3, 1, {0: [0]})) == expected


def test_shift_leak_zero_is_no_leak(engine):
    net = single(weights=[-100], leak=0, threshold=NEVER, cfg=dict(compare="gt"))
    assert v_trace(engine, net, pulses(4, 1, {0: [0]})) == [-100] * 4


def test_shift_leak_full_width(engine):
    # k = V = 16: 100 >> 16 = 0 (no change), -100 >> 16 = -1 (so -100 -> -99 -> -98)
    net = single(axons=2, weights=[100, -100], leak=16, threshold=NEVER, cfg=dict(compare="gt"))
    assert v_trace(engine, net, pulses(3, 2, {0: [0]})) == [100, 100, 100]
    assert v_trace(engine, net, pulses(3, 2, {0: [1]})) == [-100, -99, -98]


@pytest.mark.parametrize("w, alpha, expected", [
    # F = 8, alpha = 192 (0.75): 100 * 192 = 19200, >> 8 = 75; 75 * 192 = 14400, >> 8 = 56
    (100, 192, [100, 75, 56]),
    # -19200 >> 8 = -75; -14400 >> 8 = floor(-56.25) = -57
    (-100, 192, [-100, -75, -57]),
    (100, 256, [100, 100, 100]),    # alpha = 2**F: no leak
    (-100, 0, [-100, 0, 0]),        # alpha = 0: everything gone in one step
    (-1, 255, [-1, -1, -1]),        # -255 >> 8 = -1: -1 is a fixed point of the floor
    (1, 255, [1, 0, 0]),            # 255 >> 8 = 0
])
def test_mult_decay(engine, w, alpha, expected):
    net = single(weights=[w], leak=alpha, threshold=NEVER,
                 cfg=dict(leak="mult", decay_frac_bits=8, compare="gt"))
    assert v_trace(engine, net, pulses(3, 1, {0: [0]})) == expected


def test_decay_and_saturate_functions():
    # the helpers of neuron.py on their own
    assert decay([100, -100, -75, 1, -1], 2, "shift", 8).tolist() == [75, -75, -56, 1, 0]
    assert decay([5, -5], 0, "shift", 8).tolist() == [5, -5]
    assert decay([100, -75], 192, "mult", 8).tolist() == [75, -57]
    assert saturate(np.array([-200, -128, 0, 127, 200]), 8).tolist() == [-128, -128, 0, 127, 127]


# -- bias ----------------------------------------------------------------------------------

def test_bias_is_shifted(engine):
    # W = 4, V = 10: bias 3 << 2 = 12 per tick; 12, 24, 36 >= 30 fires, reset to 0, then 12
    net = single(bias=[3], bias_shift=2, threshold=30, cfg=dict(weight_bits=4, membrane_bits=10))
    out = engine(net, np.zeros((4, 1), np.int64))
    assert out["membrane"][:, 0].tolist() == [12, 24, 0, 12]
    assert out["spikes"][:, 0].tolist() == [False, False, True, False]


def test_bias_at_max_shift_reaches_the_membrane_floor(engine):
    # W = 4, V = 10, bias_shift = V - W = 6: -8 << 6 = -512, the lowest 10-bit value; the next
    # tick -512 - 512 = -1024 saturates to -512
    net = single(bias=[-8], bias_shift=6, threshold=511, cfg=dict(weight_bits=4, membrane_bits=10))
    assert v_trace(engine, net, np.zeros((2, 1), np.int64)) == [-512, -512]


# -- saturation ----------------------------------------------------------------------------

def test_membrane_saturates_at_both_ends(engine):
    # V = 8: [-128, 127]; "gt" with threshold 127 never fires
    net = single(axons=2, weights=[100, -100], threshold=127,
                 cfg=dict(membrane_bits=8, compare="gt"))
    inputs = pulses(5, 2, {0: [0], 1: [0], 2: [1], 3: [1], 4: [1]})
    # 100; 200 -> 127; 127 - 100 = 27; 27 - 100 = -73; -173 -> -128
    assert v_trace(engine, net, inputs) == [100, 127, 27, -73, -128]


def test_membrane_saturates_once_after_the_exact_sum(engine):
    # V = 8, bias -50, three events of +100: u = 0 + 300 - 50 = 250 -> 127.  Saturating the
    # input first would give 127 - 50 = 77.  Then u = 127 + 300 - 50 = 377 -> 127 again.
    net = single(weights=[100], bias=[-50], threshold=127,
                 cfg=dict(membrane_bits=8, compare="gt", acc_bits=12))
    assert v_trace(engine, net, pulses(2, 1, {0: [0, 0, 0], 1: [0, 0, 0]})) == [127, 127]


def test_current_saturates_at_both_ends(engine):
    # CUBA, current 6 bits: [-32, 31]; no current leak, no membrane leak
    net = single(axons=2, weights=[100, -100], threshold=NEVER,
                 cfg=dict(cuba=True, current_bits=6, compare="gt", acc_bits=12))
    out = engine(net, pulses(3, 2, {0: [0], 1: [1, 1]}))
    # t0: i = sat(0 + 100) = 31,   v = 31
    # t1: i = sat(31 - 200) = -32, v = 31 - 32 = -1
    # t2: i = -32,                 v = -33
    assert out["current"][:, 0].tolist() == [31, -32, -32]
    assert out["membrane"][:, 0].tolist() == [31, -1, -33]


# -- compare and reset ---------------------------------------------------------------------

@pytest.mark.parametrize("compare, spikes, membrane", [
    ("ge", [True, False], [0, 1]),     # 10 >= 10 fires, reset to 0; then 0 + 1 = 1
    ("gt", [False, True], [10, 0]),    # 10 > 10 is false; 11 > 10 fires
])
def test_compare_exactly_at_threshold(engine, compare, spikes, membrane):
    net = single(axons=2, weights=[10, 1], threshold=10, cfg=dict(compare=compare))
    out = engine(net, pulses(2, 2, {0: [0], 1: [1]}))
    assert out["spikes"][:, 0].tolist() == spikes
    assert out["membrane"][:, 0].tolist() == membrane


@pytest.mark.parametrize("reset, spikes, membrane", [
    ("zero", [True, False, False], [0, 0, 0]),
    # 25 fires, 25 - 10 = 15; 15 fires again with no input, 5; 5 stays
    ("subtract", [True, True, False], [15, 5, 5]),
])
def test_reset_modes(engine, reset, spikes, membrane):
    net = single(weights=[25], threshold=10, cfg=dict(reset=reset))
    out = engine(net, pulses(3, 1, {0: [0]}))
    assert out["spikes"][:, 0].tolist() == spikes
    assert out["membrane"][:, 0].tolist() == membrane


def test_reset_subtract_from_saturated_membrane(engine):
    # V = 8: 3 x 100 = 300 -> 127, fires (>= 100), 127 - 100 = 27
    net = single(weights=[100], threshold=100, cfg=dict(membrane_bits=8, reset="subtract",
                                                          acc_bits=12))
    assert v_trace(engine, net, pulses(1, 1, {0: [0, 0, 0]})) == [27]


# -- refractory ----------------------------------------------------------------------------

def test_refractory_ignores_input_and_bias_but_leaks(engine):
    net = single(weights=[40], bias=[1], threshold=10, leak=1, refractory=2,
                 cfg=dict(refractory_bits=2, reset="subtract"))
    out = engine(net, pulses(5, 1, {0: [0], 1: [0], 4: [0]}))
    # t0: r=0: 0 + 40 + 1 = 41 >= 10 fires; v = 31, ref = 2
    # t1: r=2: input and bias ignored, 31 - 15 = 16 >= 10 but cannot fire; ref = 1
    # t2: r=1: 16 - 8 = 8; ref = 0
    # t3: r=0: 8 - 4 + 1 = 5
    # t4: r=0: 5 - 2 + 40 + 1 = 44 fires; v = 34, ref = 2
    assert out["spikes"][:, 0].tolist() == [True, False, False, False, True]
    assert out["membrane"][:, 0].tolist() == [31, 16, 8, 5, 34]
    assert out["refractory"][:, 0].tolist() == [2, 1, 0, 0, 2]


def test_refractory_zero_period_allows_back_to_back_spikes(engine):
    net = single(bias=[10], threshold=10, refractory=0, cfg=dict(refractory_bits=3))
    out = engine(net, np.zeros((3, 1), np.int64))
    assert out["spikes"][:, 0].tolist() == [True] * 3
    assert out["refractory"][:, 0].tolist() == [0] * 3


def test_refractory_maximum_period(engine):
    # refractory_bits = 2: period up to 3; the bias alone fires whenever the neuron may
    net = single(bias=[10], threshold=10, refractory=3, cfg=dict(refractory_bits=2))
    out = engine(net, np.zeros((8, 1), np.int64))
    assert out["spikes"][:, 0].tolist() == [True, False, False, False] * 2
    assert out["refractory"][:, 0].tolist() == [3, 2, 1, 0] * 2


# -- CUBA ----------------------------------------------------------------------------------

def test_cuba_current_feeds_membrane(engine):
    net = single(weights=[40], current_leak=1, leak=0, threshold=NEVER,
                 cfg=dict(cuba=True, compare="gt"))
    out = engine(net, pulses(5, 1, {0: [0]}))
    # i: 40; 40 - 20 = 20; 20 - 10 = 10; 10 - 5 = 5; 5 - 2 = 3
    # v: 40; 40 + 20 = 60; 70; 75; 78
    assert out["current"][:, 0].tolist() == [40, 20, 10, 5, 3]
    assert out["membrane"][:, 0].tolist() == [40, 60, 70, 75, 78]


def test_cuba_mult_current_leak(engine):
    net = single(weights=[-100], current_leak=128, leak=256, threshold=NEVER,
                 cfg=dict(cuba=True, leak="mult", decay_frac_bits=8, compare="gt"))
    out = engine(net, pulses(3, 1, {0: [0]}))
    # i: -100; -100 * 128 >> 8 = -50; -25      v (no leak): -100; -150; -175
    assert out["current"][:, 0].tolist() == [-100, -50, -25]
    assert out["membrane"][:, 0].tolist() == [-100, -150, -175]


def test_cuba_current_integrates_during_refractory(engine):
    # the spec updates i regardless of r; only the membrane ignores x while refractory
    net = single(weights=[40], current_leak=1, threshold=30, refractory=1,
                 cfg=dict(cuba=True, refractory_bits=1))
    out = engine(net, pulses(3, 1, {0: [0], 1: [0]}))
    # t0: i = 40, u = 40 >= 30 fires, v = 0, ref = 1
    # t1: i = 40 - 20 + 40 = 60, r = 1 so u = 0; ref = 0
    # t2: i = 60 - 30 = 30, u = 0 + 30 = 30 >= 30 fires
    assert out["current"][:, 0].tolist() == [40, 60, 30]
    assert out["spikes"][:, 0].tolist() == [True, False, True]


def test_neurons_are_independent(engine):
    # two neurons on one axon with different weights and biases
    net = single(neurons=2, weights=[[5, -5]], bias=[1, 2], threshold=100)
    out = engine(net, pulses(2, 1, {0: [0], 1: [0]}))
    # n0: 5 + 1 = 6; 12     n1: -5 + 2 = -3; -6
    assert out["membrane"].tolist() == [[6, -3], [12, -6]]

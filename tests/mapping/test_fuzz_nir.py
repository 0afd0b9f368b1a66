"""Hypothesis fuzz of the NIR loader: random graphs and parameters, NaN, infinities, bad shapes.

Whatever the graph, :func:`load_nir` either returns a network or raises the kit's own
:class:`ConfigError`; when it returns, quantizing the network does the same.
"""

import nir
import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from spikeforge.golden_model import ConfigError
from spikeforge.nir_import import FloatNetwork, load_nir
from spikeforge.quantize import quantize

FUZZ = settings(max_examples=1200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

NASTY = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -1.0, 1e308, -1e308, 5e-324, 1e-4])
VALUE = st.one_of(st.floats(-3, 3), st.floats(1e-4, 1e-2), NASTY)


@st.composite
def arrays(draw, n, nasty=True):
    """A parameter vector of n values, sometimes of the wrong size or with nasty values."""
    size = draw(st.sampled_from([n, n, n, n, 1, n + 1, 0])) if nasty else n
    vals = draw(st.lists(VALUE if nasty else st.floats(0.1, 2), min_size=size, max_size=size))
    return np.array(vals, dtype=np.float64)


@st.composite
def node(draw, n_in, neuron=False):
    """Return ``(node, output size)`` of a random node type fed with ``n_in`` values."""
    neurons = ["LIF", "IF", "LI", "CubaLIF", "CubaLI"]
    kind = draw(st.sampled_from(neurons if neuron else (
        ["Linear", "Affine", "Scale", "Flatten"] + neurons) * 4 + ["Threshold", "I", "Delay"]))
    n = n_in
    good = draw(st.integers(0, 9)) > 0    # most nodes get sane values, some get nasty ones
    tau = st.floats(1e-4, 1e-2)

    def vec(lo=0.1, hi=2.0, tau_like=False):
        if good:
            strat = tau if tau_like else st.floats(lo, hi)
            return np.array(draw(st.lists(strat, min_size=n, max_size=n)))
        return draw(arrays(n))

    if kind in ("Linear", "Affine"):
        n_out = draw(st.integers(1, 5))
        rows = draw(st.sampled_from([n_out] * 4 + [n_out + 1]))
        cols = n_in if good or draw(st.booleans()) else n_in + 1
        w = np.array(draw(st.lists(st.floats(-2, 2) if good else VALUE, min_size=rows * cols,
                                   max_size=rows * cols))).reshape(rows, cols)
        if kind == "Linear":
            return nir.Linear(weight=w), n_out
        return nir.Affine(weight=w, bias=vec(-1, 1)), n_out
    if kind == "Scale":
        return nir.Scale(scale=vec(-2, 2)), n
    if kind == "Flatten":
        return nir.Flatten(input_type={"input": np.array([n])}, start_dim=0), n
    if kind == "Threshold":
        return nir.Threshold(threshold=np.ones(n)), n
    if kind == "I":
        return nir.I(r=np.ones(n)), n
    if kind == "Delay":
        return nir.Delay(delay=np.ones(n)), n
    params = dict(r=vec(), v_leak=vec(-1, 1), v_threshold=vec(), tau=vec(tau_like=True),
                  tau_syn=vec(tau_like=True), tau_mem=vec(tau_like=True), w_in=vec(),
                  v_reset=np.zeros(n) if good else vec(-1, 1))
    fields = {"LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
              "IF": ("r", "v_threshold", "v_reset"), "LI": ("tau", "r", "v_leak"),
              "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
              "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak", "w_in")}[kind]
    obj = object.__new__(getattr(nir, kind))       # bypass nir's own shape assertions
    for f in fields:
        setattr(obj, f, params[f])
    obj.input_type = {"input": np.array([n])}
    obj.output_type = {"output": np.array([n])}
    obj.metadata = {}
    return obj, n


@st.composite
def graphs(draw):
    n_in = draw(st.integers(1, 4))
    nodes = {"input": nir.Input(input_type=np.array([n_in]))}
    edges, width, prev = [], n_in, "input"
    depth = draw(st.integers(1, 5))
    for k in range(depth):
        last = k == depth - 1 and draw(st.integers(0, 3)) > 0
        obj, width = draw(node(width, neuron=last))
        name = f"n{k}"
        nodes[name] = obj
        edges.append((prev, name))
        prev = name
    nodes["output"] = nir.Output(output_type=np.array([width]))
    edges.append((prev, "output"))
    names = list(nodes)
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):   # recurrence, skips, nonsense
        a = draw(st.sampled_from(names * 4 + ["ghost"]))
        b = draw(st.sampled_from(names * 4 + ["ghost"]))
        if (a, b) not in edges:
            edges.append((a, b))
    graph = nir.NIRGraph.__new__(nir.NIRGraph)       # no type check: let bad graphs through
    graph.nodes, graph.edges, graph.metadata = nodes, edges, {}
    options = draw(st.fixed_dictionaries({
        "dt": st.sampled_from([None] * 6 + [1e-4, 1e-3, 0.0, -1.0, np.nan]),
        "reset": st.sampled_from([None, None, "zero", "subtract", "subtract", "bogus"])}))
    return graph, options


@FUZZ
@given(graphs(), st.sampled_from([1, 4, 8]))
def test_load_nir_fuzz(case, bits):
    graph, options = case
    try:
        net = load_nir(graph, **options)
    except ConfigError as exc:
        event(f"refused: {type(exc).__name__}")
        return
    assert isinstance(net, FloatNetwork)
    try:
        q = quantize(net, bits, 12)
    except ConfigError:
        event("loaded, quantization refused")
        return
    event("loaded and quantized")
    steps = np.zeros((3, q.n_inputs), bool)
    steps[1] = True
    assert q.simulate(steps).spikes.shape == (3, q.n_outputs)

"""load_nir: every supported node type against NIR's own equations, and every refusal."""

import os

import nir
import numpy as np
import pytest

from spikeforge.golden_model import ConfigError
from spikeforge.nir_import import FloatNetwork, NIRImportError, load_nir, to_nir

from .helpers import lif, nir_reference

DT = 1e-4
RNG = np.random.default_rng(7)


def spikes(steps, n, p=0.4, seed=0):
    return np.random.default_rng(seed).random((steps, n)) < p


def check_against_reference(nodes, n_in, steps=40, **kw):
    graph = nir.NIRGraph.from_list(*nodes)
    net = load_nir(graph, dt=DT, **kw)
    x = spikes(steps, n_in)
    res = net.simulate(x)
    ref = nir_reference(nodes, x, DT)
    last = net.layers[net.outputs[0]]
    got = res.spikes if last.spiking else res.membrane
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9)
    return net, ref


def test_affine_lif():
    nodes = [nir.Affine(weight=RNG.normal(0, 0.8, (5, 4)), bias=RNG.normal(0, 0.1, 5)),
             lif(5, tau=3e-4, r=2.5, v_leak=0.2, thr=0.9)]
    net, ref = check_against_reference(nodes, 4)
    assert ref.any() and not ref.all()
    lay = net.layers["lif"]
    np.testing.assert_allclose(lay.beta, 1 - DT / 3e-4)
    assert lay.kind == "lif" and lay.compare == "gt" and lay.reset == "zero"


def test_linear_scale_if():
    nodes = [nir.Linear(weight=RNG.normal(0, 0.8, (6, 4))), nir.Scale(scale=RNG.uniform(0.5, 2, 6)),
             nir.IF(r=np.full(6, 0.7), v_threshold=np.full(6, 1.2))]
    net, ref = check_against_reference(nodes, 4)
    assert ref.any()
    np.testing.assert_array_equal(net.layers["if"].beta, 1.0)


def test_scale_on_spikes_then_linear_li():
    nodes = [nir.Scale(scale=RNG.uniform(0.5, 2, 4)), nir.Linear(weight=RNG.normal(0, 1, (3, 4))),
             nir.LI(tau=np.full(3, 5e-4), r=np.full(3, 3.0), v_leak=np.full(3, 0.1))]
    net, _ = check_against_reference(nodes, 4)
    assert net.layers["li"].kind == "li" and not net.layers["li"].spiking


def test_cubalif_and_cubali():
    n = 5
    cuba = nir.CubaLIF(tau_syn=np.full(n, 2e-4), tau_mem=np.full(n, 4e-4), r=np.full(n, 4.0),
                       v_leak=np.zeros(n), v_threshold=np.full(n, 0.8), w_in=np.full(n, 2.0))
    li = nir.CubaLI(tau_syn=np.full(2, 3e-4), tau_mem=np.full(2, 5e-4), r=np.full(2, 5.0),
                    v_leak=np.full(2, 0.05), w_in=np.full(2, 3.0))
    nodes = [nir.Linear(weight=RNG.normal(0, 1, (n, 4))), cuba,
             nir.Linear(weight=RNG.normal(0, 1, (2, n))), li]
    net, _ = check_against_reference(nodes, 4)
    assert [net.layers[k].kind for k in ("cubalif", "cubali")] == ["cuba", "cuba_li"]
    # The hidden layer's spikes match too.
    x = spikes(40, 4)
    hidden = nir_reference(nodes[:2], x, DT)
    sub = load_nir(nir.NIRGraph.from_list(*nodes[:2]), dt=DT)
    np.testing.assert_array_equal(sub.simulate(x).spikes, hidden > 0)
    assert hidden.any()


def test_flatten_multidimensional_input():
    nodes = [nir.Flatten(input_type={"input": np.array([2, 3])}, start_dim=0),
             nir.Linear(weight=RNG.normal(0, 1, (4, 6))), lif(4)]
    graph = nir.NIRGraph.from_list(*nodes)
    net = load_nir(graph, dt=DT)
    assert net.n_inputs == 6
    x = spikes(30, 6)
    np.testing.assert_array_equal(net.simulate(x).spikes,
                                  nir_reference(nodes[1:], x, DT) > 0)


def test_recurrent_edge_is_delayed_one_step():
    n = 4
    w_in, w_rec = RNG.normal(0, 1, (n, 3)), RNG.normal(0, 0.8, (n, n))
    node = lif(n, tau=2e-4, thr=0.6)
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([3])), "fc": nir.Linear(weight=w_in),
               "lif": node, "rec": nir.Linear(weight=w_rec),
               "out": nir.Output(output_type=np.array([n]))},
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out")])
    net = load_nir(graph, dt=DT)
    assert [p.recurrent for p in net.projections if p.source == "lif"] == [True]
    x = spikes(50, 3)
    v, s, want = np.zeros(n), np.zeros(n), []
    for t in range(50):
        i = w_in @ x[t] + w_rec @ s
        v = v + DT / 2e-4 * (-v + 2.0 * i)     # r = tau/dt = 2
        s = (v > 0.6).astype(float)
        v = np.where(s > 0, 0.0, v)
        want.append(s)
    np.testing.assert_array_equal(net.simulate(x).spikes, np.array(want) > 0)


def test_nested_graph_is_inlined():
    n = 3
    inner = nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array([n])), "lif": lif(n),
               "w_rec": nir.Linear(weight=np.eye(n) * 0.3),
               "output": nir.Output(output_type=np.array([n]))},
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([2])),
               "fc": nir.Linear(weight=np.ones((n, 2))), "rlif": inner,
               "out": nir.Output(output_type=np.array([n]))},
        edges=[("in", "fc"), ("fc", "rlif"), ("rlif", "out")])
    net = load_nir(graph, dt=DT)
    assert list(net.layers) == ["rlif.lif"] and net.outputs == ["rlif.lif"]
    assert any(p.recurrent for p in net.projections)


def test_two_paths_sum_and_bias_counted_once():
    w1, w2 = RNG.normal(size=(3, 2)), RNG.normal(size=(3, 2))
    b = RNG.normal(size=3)
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([2])), "a": nir.Linear(weight=w1),
               "b": nir.Linear(weight=w2), "aff": nir.Affine(weight=np.eye(3) * 2, bias=b),
               "lif": lif(3), "out": nir.Output(output_type=np.array([3]))},
        edges=[("in", "a"), ("in", "b"), ("a", "aff"), ("b", "aff"), ("aff", "lif"),
               ("lif", "out")])
    net = load_nir(graph, dt=DT)
    (p,) = net.projections
    np.testing.assert_allclose(p.weight, 2 * (w1 + w2))
    np.testing.assert_allclose(net.layers["lif"].bias, b)


def test_roundtrip_through_file(tmp_path):
    net = FloatNetwork(dt=DT)
    net.add_input("x", 5)
    net.add_layer("h", 7, beta=0.75, threshold=RNG.uniform(0.5, 1, 7), bias=0.1,
                  reset="subtract")
    net.add_layer("c", 4, kind="cuba", alpha=0.5, beta=0.875, threshold=1.0)
    net.add_layer("o", 3, kind="li", beta=0.9)
    net.add_layer("i", 2, beta=1.0, threshold=0.5)
    net.connect("x", "h", RNG.normal(size=(7, 5)))
    net.connect("h", "h", RNG.normal(size=(7, 7)) * 0.2)
    net.connect("h", "c", RNG.normal(size=(4, 7)))
    net.connect("c", "o", RNG.normal(size=(3, 4)))
    net.connect("x", "i", RNG.normal(size=(2, 5)))
    net.add_output("o")
    net.add_output("i")
    path = tmp_path / "net.nir"
    with pytest.raises(NIRImportError, match="mix reset"):
        to_nir(net)
    net.layers["i"].reset = net.layers["c"].reset = "subtract"
    nir.write(path, to_nir(net))
    back = load_nir(path)
    assert back.outputs == ["o", "i"] and back.layers["h"].reset == "subtract"
    x = spikes(40, 5)
    a, b = net.simulate(x), back.simulate(x)
    np.testing.assert_array_equal(a.spikes, b.spikes)
    np.testing.assert_allclose(a.membrane, b.membrane, atol=1e-9)


# -- refusals --------------------------------------------------------------------------------------

@pytest.mark.parametrize("node, kind", [
    (nir.Threshold(threshold=np.ones(3)), "Threshold"),
    (nir.I(r=np.ones(3)), "I"),
    (nir.Delay(delay=np.ones(3)), "Delay"),
])
def test_unsupported_node_names_id_type_and_supported(node, kind):
    graph = nir.NIRGraph.from_list(nir.Linear(weight=np.ones((3, 2))), node, type_check=False)
    with pytest.raises(NIRImportError) as exc:
        load_nir(graph)
    msg = str(exc.value)
    assert f"of type {kind}" in msg and repr(kind.lower()) in msg and "LIF" in msg


def test_conv_is_unsupported():
    conv = nir.Conv1d(input_shape=8, weight=np.ones((2, 1, 3)), stride=1, padding=0,
                      dilation=1, groups=1, bias=np.zeros(2))
    graph = nir.NIRGraph(nodes={"in": nir.Input(input_type=np.array([1, 8])), "conv": conv,
                                "out": nir.Output(output_type=np.array([2, 6]))},
                         edges=[("in", "conv"), ("conv", "out")], type_check=False)
    with pytest.raises(NIRImportError, match="'conv' of type Conv1d"):
        load_nir(graph)


@pytest.mark.parametrize("mutate, match", [
    (lambda g: setattr(g.nodes["lif"], "tau", np.array([np.nan] * 3)), r"tau\[0\]"),
    (lambda g: setattr(g.nodes["lif"], "tau", np.full(3, 1e-5)), "at least dt"),
    (lambda g: setattr(g.nodes["lif"], "v_threshold", np.full(3, -1.0)), "v_threshold"),
    (lambda g: setattr(g.nodes["lif"], "v_reset", np.full(3, 0.5)), "v_reset"),
    (lambda g: setattr(g.nodes["lif"], "r", np.ones(4)), "different sizes"),
    (lambda g: setattr(g.nodes["linear"], "weight", np.ones((3, 5))), "gives 2 values|takes 5"),
    (lambda g: setattr(g.nodes["linear"], "weight", np.ones(6)), "2-D"),
    (lambda g: setattr(g.nodes["linear"], "weight", np.full((3, 2), np.inf)), "finite"),
    (lambda g: [setattr(g.nodes["linear"], "weight", np.full((3, 2), 1e308)),
                setattr(g.nodes["lif"], "r", np.full(3, 50.0))], "overflow"),
    (lambda g: g.edges.append(("lif", "nowhere")), "does not exist"),
    (lambda g: g.edges.append(("input", "output")), "gives 2 values"),
    (lambda g: g.nodes.pop("output") and g.edges.pop(), "no Output"),
])
def test_bad_values_are_refused(mutate, match):
    graph = nir.NIRGraph.from_list(nir.Linear(weight=np.ones((3, 2))), lif(3))
    mutate(graph)
    with pytest.raises(NIRImportError, match=match):
        load_nir(graph, dt=DT)


def test_bad_arguments():
    graph = nir.NIRGraph.from_list(nir.Linear(weight=np.ones((3, 2))), lif(3))
    for kw, match in ((dict(dt=0), "dt"), (dict(dt=float("nan")), "dt"),
                      (dict(reset="hold"), "reset"), (dict(compare="eq"), "compare")):
        with pytest.raises(NIRImportError, match=match):
            load_nir(graph, **kw)
    with pytest.raises(NIRImportError, match="expected a path or a nir.NIRGraph"):
        load_nir(42)


def test_corrupt_truncated_and_missing_files(tmp_path):
    graph = nir.NIRGraph.from_list(nir.Linear(weight=np.ones((3, 2))), lif(3))
    good = tmp_path / "good.nir"
    nir.write(good, graph)
    assert isinstance(load_nir(good), FloatNetwork)
    data = good.read_bytes()
    for cut in (0, 10, len(data) // 3, len(data) // 2, len(data) - 100):
        bad = tmp_path / f"cut{cut}.nir"
        bad.write_bytes(data[:cut])
        with pytest.raises(NIRImportError, match="not a readable NIR file"):
            load_nir(bad)
    garbage = tmp_path / "garbage.nir"
    garbage.write_bytes(os.urandom(2048))
    with pytest.raises(ConfigError, match="not a readable NIR file"):
        load_nir(garbage)
    with pytest.raises(NIRImportError, match="not a readable NIR file"):
        load_nir(tmp_path / "missing.nir")
    # An HDF5 file that is not a NIR graph.
    import h5py
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_dataset("x", data=np.arange(3))
    with pytest.raises(NIRImportError):
        load_nir(tmp_path / "other.h5")


def test_builder_refuses_bad_values():
    net = FloatNetwork()
    net.add_input("x", 3)
    with pytest.raises(ConfigError, match=r"beta\[1\]"):
        net.add_layer("h", 2, beta=[0.5, 1.5])
    with pytest.raises(ConfigError, match=r"threshold\[0\]"):
        net.add_layer("h", 2, threshold=[np.nan, 1])
    with pytest.raises(ConfigError, match="expected 2 values"):
        net.add_layer("h", 2, bias=[1, 2, 3])
    net.add_layer("h", 2)
    with pytest.raises(ConfigError, match=r"expected shape \(2, 3\)"):
        net.connect("x", "h", np.ones((3, 2)))
    with pytest.raises(ConfigError, match="already used"):
        net.add_input("h", 1)
    with pytest.raises(ConfigError, match="not a layer"):
        net.add_output("x")
    with pytest.raises(ConfigError, match="alpha"):
        net.add_layer("k", 2, alpha=0.5)

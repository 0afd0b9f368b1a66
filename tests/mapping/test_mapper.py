"""Quantizer, mapper and Device("golden"): the mapped golden model equals the integer layer stack.

The reference is :meth:`QuantizedNetwork.simulate`, a plain numpy run of the quantized layers
(no cores, no routes, no phases); any splitting, axon, route or phase mistake of the mapper
shows up as a difference in spikes or membrane values.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeforge.device import Device, DeviceError
from spikeforge.golden_model import ArrayConfig, ConfigError, CoreConfig
from spikeforge.mapper import MappingError, fit_check, map_network
from spikeforge.nir_import import FloatNetwork
from spikeforge.quantize import QuantizationError, quantize

from .helpers import random_float_network

MAPPING = settings(max_examples=150, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow])


def run_both(q, x, **map_kw):
    mapped = map_network(q, **map_kw)
    res = Device("golden").load(mapped).run(x, record_membrane=True)
    ref = q.simulate(x)
    np.testing.assert_array_equal(res.spikes, ref.spikes)
    np.testing.assert_array_equal(res.membrane_raw, ref.membrane)
    return mapped, res, ref


@st.composite
def networks(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    depth = draw(st.integers(1, 4))
    sizes = tuple(draw(st.integers(1, 12)) for _ in range(depth))
    kinds = draw(st.lists(st.sampled_from(["lif", "cuba"]), min_size=1, max_size=3))
    net = random_float_network(rng, n_in=draw(st.integers(1, 10)), sizes=sizes,
                               recurrent=draw(st.booleans()), kinds=kinds)
    if draw(st.booleans()):       # a second, spiking output straight from the input
        net.add_layer("side", 3, beta=0.75, threshold=0.5, compare=draw(
            st.sampled_from(["gt", "ge"])), refractory=draw(st.integers(0, 3)))
        net.connect("x", "side", rng.normal(0, 1, (3, net.n_inputs)))
        net.add_output("side")
    return net, rng


@MAPPING
@given(networks(), st.sampled_from([2, 4, 8]), st.sampled_from(["shift", "mult"]),
       st.integers(1, 6), st.sampled_from([1, 2]))
def test_mapped_golden_equals_integer_reference(case, bits, leak, max_neurons, lanes):
    net, rng = case
    max_neurons = max(max_neurons, lanes)
    q = quantize(net, bits, 12, leak=leak, decay_frac_bits=6)
    x = rng.random((25, q.n_inputs)) < 0.5
    mapped, _, _ = run_both(q, x, max_neurons=max_neurons, lanes=lanes)
    for name, lay in q.layers.items():     # every core holds one layer's neurons of one leak
        cores = [p for p in mapped.placements if p.layer == name]
        assert sum(len(p.neurons) for p in cores) == lay.size
        assert all(len(p.neurons) <= max_neurons for p in cores)
        for p in cores:
            assert len(set(lay.leak[p.neurons].tolist())) == 1
            assert mapped.network.cores[p.core].phase == lay.phase


def test_split_phases_routes_on_a_known_network():
    rng = np.random.default_rng(3)
    net = random_float_network(rng, n_in=12, sizes=(20, 15, 6), recurrent=True)
    q = quantize(net, 8, 16)
    x = rng.random((60, 12)) < 0.4
    mapped, res, ref = run_both(q, x, max_neurons=8, max_axons=64)
    assert ref.membrane.any() and res.events.sum() > 0
    phases = {p.layer: mapped.network.cores[p.core].phase for p in mapped.placements}
    assert phases == {"l0": 0, "l1": 1, "l2": 2}
    assert len(mapped.placements) > 3                      # the layers were split
    # Recurrent routes: a hidden core sends to cores of its own layer (same phase).
    core_layer = {p.core: p.layer for p in mapped.placements}
    r = mapped.network.routes[mapped.placements[0].core]
    assert {core_layer[int(c)] for c in r.core if c >= 0} >= {"l0", "l1"}
    text = mapped.summary()
    assert "utilization" in text and "l1" in text


def test_float_and_8bit_agree_on_a_feedforward_net():
    rng = np.random.default_rng(5)
    net = random_float_network(rng, n_in=16, sizes=(24, 5), recurrent=False, kinds=["lif"])
    x = rng.random((4, 40, 16)) < 0.3
    f = net.simulate(x)
    q = quantize(net, 8, 16, calibration=x)
    r = q.simulate(x)
    # Rounding flips a few borderline hidden spikes; the readout follows on average.
    err = np.abs(f.membrane - r.membrane_float).mean() / np.abs(f.membrane).mean()
    assert err < 0.05
    net.outputs = ["l0"]
    flips = (quantize(net, 8, 16).simulate(x).spikes != net.simulate(x).spikes).sum()
    assert flips <= 0.03 * net.simulate(x).spikes.sum()
    rep = {lr.name: lr for lr in q.report}
    assert rep["l0"].weight_rel_rms < 0.02 and rep["l0"].clipped_fraction == 0
    assert "w rms err" in q.report_text()


def test_target_array_fit_check_and_mapping():
    rng = np.random.default_rng(1)
    net = random_float_network(rng, n_in=10, sizes=(12, 4), recurrent=False, kinds=["lif"])
    net.layers["l0"].reset = "zero"
    for lay in net.layers.values():         # one leak per layer: one core per 8 neurons
        lay.beta[:] = 0.75
    q = quantize(net, 4, 12, leak="shift")
    lif = CoreConfig(neurons=8, axons=16, weight_bits=4, membrane_bits=12, compare="gt")
    good = ArrayConfig((lif, lif, lif), phases=2, routes_per_core=32)
    assert fit_check(q, array=good).ok
    x = rng.random((30, 10)) < 0.5
    mapped, _, _ = run_both(q, x, array=good)
    assert mapped.network.array is good
    # Too few cores, too few axons, a wrong membrane width, too few phases, small tables.
    small = CoreConfig(neurons=8, axons=6, weight_bits=4, membrane_bits=16, compare="gt")
    bad = ArrayConfig((small, small), phases=1, routes_per_core=4)
    report = fit_check(q, array=bad)
    text = str(report)
    assert not report.ok
    for part in ("short by 1", "fan-in of 10 axons, the core has 6: short by 4",
                 "membrane_bits=12", "needs 2 phases", "routing entries"):
        assert part in text, part
    with pytest.raises(MappingError, match="does not fit"):
        map_network(q, array=bad)
    acc = CoreConfig(neurons=8, axons=16, weight_bits=4, membrane_bits=12, compare="gt",
                     acc_bits=6)
    assert "max_events" in str(fit_check(q, array=ArrayConfig((acc,) * 3, phases=2)))


def test_limits_fan_in_and_core_count():
    rng = np.random.default_rng(2)
    net = random_float_network(rng, n_in=40, sizes=(70, 3), recurrent=False, kinds=["lif"])
    q = quantize(net, 8, 16)
    report = fit_check(q, max_neurons=1, max_axons=32)
    assert "fan-in of 40 axons, more than max_axons=32 by 8" in str(report)
    assert "needs 73 cores, the mesh holds 64: short by 9" in str(report)


def test_quantize_refuses_bad_settings_and_values():
    rng = np.random.default_rng(0)
    net = random_float_network(rng, sizes=(5, 2))
    for kw, match in ((dict(weight_bits=9), "weight_bits"), (dict(membrane_bits=1), "membrane"),
                      (dict(leak="exp"), "leak"), (dict(clip_percentile=0), "clip_percentile"),
                      (dict(headroom=0.5), "headroom")):
        with pytest.raises(ConfigError, match=match):
            quantize(net, **kw)
    net.projections[0].weight[0, 0] = np.nan
    with pytest.raises(QuantizationError, match="'x' -> 'l0'.*NaN"):
        quantize(net)
    net.projections[0].weight = np.ones((3, 3))
    with pytest.raises(QuantizationError, match="expected shape"):
        quantize(net)
    net = random_float_network(rng, sizes=(5, 2))
    net.layers["l0"].beta[1] = np.inf
    with pytest.raises(QuantizationError, match=r"beta\[1\]"):
        quantize(net)
    with pytest.raises(QuantizationError, match="FloatNetwork"):
        quantize("net.nir")
    with pytest.raises(ConfigError, match="no inputs"):
        quantize(FloatNetwork())


def test_per_neuron_thresholds_become_weight_scaling():
    net = FloatNetwork()
    net.add_input("x", 1)
    net.add_layer("h", 2, beta=1.0, threshold=[1.0, 1.7])
    net.connect("x", "h", [[0.3], [0.3]])
    net.add_output("h")
    q = quantize(net, 8, 16)
    lay = q.layers["h"]
    np.testing.assert_array_equal(q.projections[0].weight[:, 0], [127, 75])   # 0.3 / 1.7 S
    assert lay.threshold == 423                                               # round(127 / 0.3)
    x = np.ones((20, 1), bool)
    np.testing.assert_array_equal(q.simulate(x).spikes, net.simulate(x).spikes)


def test_device_shapes_padding_and_errors():
    rng = np.random.default_rng(4)
    net = random_float_network(rng, n_in=6, sizes=(9, 3))
    net.add_layer("spk", 2, beta=0.5, threshold=0.2)
    net.connect("x", "spk", np.ones((2, 6)))
    net.add_output("spk")
    q = quantize(net, 8, 16)
    dev = Device("golden")
    with pytest.raises(DeviceError, match="no network loaded"):
        dev.run(np.zeros((3, 6), bool))
    dev.load(q, max_neurons=4)             # maps on the way
    x = rng.random((10, 6)) < 0.5
    res = dev.run(x, timesteps=15)
    assert res.spikes.shape == (15, 5) and res.spikes.dtype == bool
    assert res.membrane.shape == (15, 5) and res.membrane_raw.dtype.kind == "i"
    assert not res.spikes[:, :3].any() and res.spikes[:10, 3:].any()
    assert not res.spikes[12:].any()          # silence after the input: spk decays below 0.2
    assert dev.run(x, record_membrane=False).membrane is None
    assert dev.run(timesteps=4).spikes.shape == (4, 5)
    for bad, match in (((np.zeros((3, 5), bool),), "shape"), ((np.full((3, 6), 2),), "0/1"),
                       ((x,), None)):
        if match:
            with pytest.raises(DeviceError, match=match):
                dev.run(*bad)
    with pytest.raises(DeviceError, match="timesteps"):
        dev.run(x, timesteps=5)
    # Runs are independent: each starts from reset.
    np.testing.assert_array_equal(dev.run(x).membrane_raw, dev.run(x).membrane_raw)


def test_serial_backend_names_a_port_it_cannot_open():
    with pytest.raises(DeviceError, match="serial:/dev/spikeforge-none: cannot open the port"):
        Device("serial:/dev/spikeforge-none")


def test_unknown_backend_and_bad_loads():
    with pytest.raises(DeviceError, match="expected one of"):
        Device("fpga")
    with pytest.raises(DeviceError, match="needs a port"):
        Device("serial")
    with pytest.raises(DeviceError, match="MappedNetwork"):
        Device().load("net.nir")


def test_map_command(tmp_path, capsys):
    import argparse

    from spikeforge import mapper
    from spikeforge.models import DIGITS_NIR

    parser = argparse.ArgumentParser()
    mapper.add_arguments(parser)
    assert mapper.run(parser.parse_args([DIGITS_NIR, "--max-neurons", "64"])) == 0
    out = capsys.readouterr().out
    assert "utilization" in out and "hidden" in out and "w rms err" in out
    small = CoreConfig(neurons=64, axons=32, weight_bits=8, membrane_bits=16,
                       reset="subtract", compare="gt")
    path = tmp_path / "array.json"
    path.write_text(ArrayConfig((small,) * 2, phases=2).to_json())
    assert mapper.run(parser.parse_args([DIGITS_NIR, "--array", str(path)])) == 1
    assert "does not fit" in capsys.readouterr().out
    # The board's built-in array is a fixed bitstream: the digits network needs other modes
    # and more phases than the iCEBreaker's single core, and the command says so.
    assert mapper.run(parser.parse_args([DIGITS_NIR, "--board", "icebreaker"])) == 1
    out = capsys.readouterr().out
    assert "does not fit" in out and "phases" in out
    with pytest.raises(MappingError, match="give --array or --board, not both"):
        mapper.run(parser.parse_args([DIGITS_NIR, "--board", "icebreaker", "--array",
                                      str(path)]))

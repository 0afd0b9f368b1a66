"""The shipped digits network: loads, maps, and keeps its accuracy on the golden model."""

import numpy as np
import pytest

from spikeforge.device import Device
from spikeforge.mapper import map_network
from spikeforge.models import DIGITS_NIR
from spikeforge.nir_import import load_nir
from spikeforge.quantize import quantize


def test_shipped_network_structure_and_mapping():
    net = load_nir(DIGITS_NIR)
    assert net.n_inputs == 64 and net.n_outputs == 10
    assert [lay.kind for lay in net.layers.values()] == ["lif", "li"]
    assert net.layers["hidden"].reset == "subtract"
    q = quantize(net, 4, 16)
    assert all(r.decay_max_error == 0 for r in q.report)       # shift-exact decays
    mapped = map_network(q, max_neurons=64)
    assert len(mapped.placements) == 3
    x = np.random.default_rng(0).random((20, 64)) < 0.2
    res = Device("golden").load(mapped).run(x)
    np.testing.assert_array_equal(res.membrane_raw, q.simulate(x).membrane)


def test_accuracy_float_8bit_4bit():
    pytest.importorskip("sklearn")
    from spikeforge.models.train_digits import evaluate

    acc = evaluate(log=lambda *a: None)
    assert acc["test_samples"] == 360
    assert acc["float"] > 0.95
    assert acc["golden_8bit"] >= acc["float"] - 0.01
    assert acc["golden_4bit"] >= acc["float"] - 0.03

"""from_snntorch against snnTorch itself (needs the train extra; skipped without torch)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch")

from snntorch import utils  # noqa: E402

from spikeforge.golden_model import ConfigError  # noqa: E402
from spikeforge.snntorch_import import SnnTorchImportError, from_snntorch  # noqa: E402


def run_snntorch(model, x):
    """Step ``model`` over ``x`` (timesteps, batch, ...); return the last layer's (spk, mem)."""
    spk, mem = [], []
    with torch.no_grad():
        utils.reset(model)
        for t in range(len(x)):
            out = model(x[t])
            spk.append(out[0].numpy())
            mem.append(out[-1].numpy())
    return np.stack(spk, 1), np.stack(mem, 1)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_leaky_stack_matches_snntorch(reset):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(12, 16),
        # a threshold well above the typical input, so that no subtraction leaves the membrane
        # above threshold: there snnTorch's order differs (see the module docstring)
        snn.Leaky(beta=0.8, threshold=1.5, reset_mechanism=reset, reset_delay=False,
                  init_hidden=True),
        torch.nn.Linear(16, 8, bias=False),
        snn.Synaptic(alpha=0.5, beta=0.9, reset_mechanism="zero", reset_delay=False,
                     init_hidden=True),
        torch.nn.Linear(8, 3, bias=False),
        snn.Leaky(beta=0.9, reset_mechanism="none", init_hidden=True, output=True))
    net = from_snntorch(model, torch.zeros(1, 3, 4))
    assert [lay.kind for lay in net.layers.values()] == ["lif", "cuba", "li"]
    x = (torch.rand(30, 5, 3, 4) < 0.4).float()
    _, mem = run_snntorch(model, x)
    res = net.simulate(x.numpy().reshape(30, 5, 12).transpose(1, 0, 2))
    np.testing.assert_allclose(res.membrane, mem, atol=1e-4)
    assert np.abs(mem).max() > 0.1


def test_synaptic_output_spikes_match():
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Linear(10, 6, bias=False),
        snn.Synaptic(alpha=0.6, beta=0.7, threshold=0.5, reset_mechanism="zero",
                     reset_delay=False, init_hidden=True, output=True))
    net = from_snntorch(model)
    x = (torch.rand(40, 4, 10) < 0.3).float()
    spk, _ = run_snntorch(model, x)
    res = net.simulate(x.numpy().transpose(1, 0, 2))
    np.testing.assert_array_equal(res.spikes, spk > 0)
    assert spk.any()


def test_notes_and_refusals():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), snn.Synaptic(alpha=0.5, beta=0.5))
    net = from_snntorch(model)
    notes = " ".join(net.layers["1_synaptic"].notes)
    assert "reset_delay" in notes and "steady-state" in notes
    for bad, match in (
            (torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()), r"layer 1 \(ReLU\)"),
            (torch.nn.Sequential(torch.nn.Linear(4, 3), snn.Leaky(beta=0.5),
                                 torch.nn.Linear(3, 2)), "after the last neuron layer"),
            (torch.nn.Sequential(torch.nn.Linear(4, 3)), "no snn.Leaky"),
            (torch.nn.Sequential(snn.Leaky(beta=0.5)), "sample"),
            (torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(5, 2),
                                 snn.Leaky(beta=0.5)), "in_features=5"),
            (torch.nn.Sequential(torch.nn.Linear(4, 3), snn.Leaky(beta=0.5, threshold=-1.0)),
             "threshold"),
            (torch.nn.Linear(4, 3), "nn.Sequential")):
        with pytest.raises(SnnTorchImportError, match=match):
            from_snntorch(bad)
    assert issubclass(SnnTorchImportError, ConfigError)


def test_digits_style_model_quantizes_and_maps():
    from spikeforge.device import Device
    from spikeforge.quantize import quantize

    torch.manual_seed(2)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 32), snn.Leaky(beta=0.875, reset_delay=False, init_hidden=True),
        torch.nn.Linear(32, 10, bias=False),
        snn.Leaky(beta=0.9375, reset_mechanism="none", init_hidden=True, output=True))
    net = from_snntorch(model)
    q = quantize(net, 8, 16)
    x = np.random.default_rng(0).random((16, 64)) < 0.3
    res = Device("golden").load(q).run(x)
    assert res.membrane.shape == (16, 10)
    np.testing.assert_array_equal(res.membrane_raw, q.simulate(x).membrane)

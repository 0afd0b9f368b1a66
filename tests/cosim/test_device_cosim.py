"""``Device("cosim")`` and ``Device("golden")`` give identical results on the same networks.

Float networks (feed-forward with recurrence, LIF, CUBA and LI readouts, per-neuron
parameters) are quantized, mapped onto small cores so layers split over several of them, and
run on both devices: the cosim device runs the array RTL in Verilator, loaded through its
command stream.  Spikes and readout membranes must be equal, and the cosim run itself must
report no difference from the golden model on any timestep.
"""

import numpy as np
import pytest

from spikeforge import Device, FloatNetwork, map_network, quantize

pytestmark = pytest.mark.cosim


def random_float_network(rng, n_in, sizes, kinds):
    """A stack of layers (the last an LI readout), recurrent where spiking."""
    net = FloatNetwork()
    net.add_input("x", n_in)
    prev, n_prev = "x", n_in
    for k, n in enumerate(sizes):
        kind = kinds[k % len(kinds)] if k < len(sizes) - 1 else "li"
        name = f"l{k}"
        net.add_layer(name, n, kind=kind, beta=rng.choice([0.5, 0.75, 0.875], n),
                      alpha=0.5 if kind.startswith("cuba") else None,
                      threshold=rng.uniform(0.5, 1.5, n) if kind in ("lif", "cuba") else 1.0,
                      bias=rng.normal(0, 0.05, n), reset=["zero", "subtract"][k % 2])
        net.connect(prev, name, rng.normal(0, 1.5 / np.sqrt(n_prev), (n, n_prev)))
        if kind in ("lif", "cuba"):
            net.connect(name, name, rng.normal(0, 0.3 / np.sqrt(n), (n, n)))
        prev, n_prev = name, n
    net.add_output(prev)
    return net

CASES = [
    # (seed, weight_bits, leak, max_neurons, lanes, sizes, kinds)
    (1, 8, "shift", 8, 2, (12, 6), ["lif"]),
    (2, 4, "mult", 6, 1, (10, 8, 4), ["cuba", "lif"]),
    (3, 8, "shift", 16, 4, (16, 4), ["lif"]),
]


@pytest.mark.parametrize("seed, bits, leak, max_neurons, lanes, sizes, kinds", CASES,
                         ids=[f"seed{c[0]}-w{c[1]}-{c[2]}" for c in CASES])
def test_cosim_equals_golden(seed, bits, leak, max_neurons, lanes, sizes, kinds):
    rng = np.random.default_rng(seed)
    net = random_float_network(rng, n_in=6, sizes=sizes, kinds=kinds)
    q = quantize(net, weight_bits=bits, membrane_bits=14, leak=leak)
    mapped = map_network(q, max_neurons=max_neurons, lanes=lanes)
    assert mapped.network.array.n_cores >= 2      # the layers really are split
    samples = [rng.random((10, 6)) < 0.5 for _ in range(3)]
    golden = Device("golden").load(mapped).run_many(samples, record_membrane=True)
    dev = Device("cosim").load(mapped)
    cosim = dev.run_many(samples, record_membrane=True)
    assert dev.mismatches == []
    for g, c in zip(golden, cosim):
        np.testing.assert_array_equal(c.spikes, g.spikes)
        np.testing.assert_array_equal(c.membrane_raw, g.membrane_raw)
        np.testing.assert_array_equal(c.spike_counts, g.spike_counts)

"""``Device("serial:PORT")`` against the real array behind the host link, through the UART pins.

The board side is simulated (Amaranth): the UART host link wired to a real
``NeuromorphicArray``; the host side is the same driver a board is used with.  A mapped network
is loaded over the link, several samples run, and spikes and readout membranes must equal
``Device("golden")``.
"""

import numpy as np

from spikeforge import Device, FloatNetwork, map_network, quantize
from spikeforge.rtl.array import NeuromorphicArray

from .simlink import SimTransport


def small_mapped():
    rng = np.random.default_rng(5)
    net = FloatNetwork()
    net.add_input("x", 4)
    net.add_layer("h", 6, beta=0.75, threshold=1.0, bias=rng.normal(0, 0.05, 6),
                  reset="subtract")
    net.add_layer("out", 3, kind="li", beta=0.875)
    net.connect("x", "h", rng.normal(0, 1.2, (6, 4)))
    net.connect("h", "h", rng.normal(0, 0.3, (6, 6)))
    net.connect("h", "out", rng.normal(0, 0.8, (3, 6)))
    net.add_output("out")
    return map_network(quantize(net, 4, 12), max_neurons=4)


def test_serial_device_equals_golden_through_uart_pins():
    mapped = small_mapped()
    assert mapped.network.array.n_cores >= 3          # the hidden layer is split
    t = SimTransport(pins=True, baud=2_000_000, timeout=4000, budget=3_000_000,
                     array=NeuromorphicArray(mapped.network.array))
    samples = [np.random.default_rng(s).random((6, 4)) < 0.5 for s in range(2)]
    golden = Device("golden").load(mapped).run_many(samples, record_membrane=True)
    board = Device("serial:sim", transport=t).load(mapped)
    for x, g in zip(samples, golden):
        r = board.run(x, record_membrane=True)
        np.testing.assert_array_equal(r.spikes, g.spikes)
        np.testing.assert_array_equal(r.membrane_raw, g.membrane_raw)
        np.testing.assert_array_equal(r.spike_counts, g.spike_counts)
    assert t.pending() == b""
    t.close()

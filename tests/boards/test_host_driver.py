"""The Python driver (spikeforge.host) against the simulated host link and the array stand-in:
through the UART pins (bit-banged 8N1), and a whole golden-model Network loaded and run."""

import numpy as np
import pytest

from spikeforge.golden_model import HOST, ArrayConfig, CoreConfig, CoreParams, Network, Routes
from spikeforge.host import HostLink
from spikeforge.rtl import cfgbus
from spikeforge.rtl.array_bus import (ROUTE_POINTER, Target, pack_route_entry,
                                      pack_route_pointer)

from .simlink import SimTransport


def test_driver_through_uart_pins():
    t = SimTransport(pins=True, baud=2_000_000, timeout=2000, budget=60_000)
    h = HostLink(t)
    assert h.ping()["max_payload"] == 64
    h.write_block(Target.CORE, 0, cfgbus.Space.WEIGHT, 4, [-3, 2, 7])
    assert h.read_block(Target.CORE, 0, cfgbus.Space.WEIGHT, 4, 3, width=1) == [-3, 2, 7]
    h.inject([(1, 9), (0, 300)])
    assert h.run_timesteps(2) == [(0, 1, 9), (0, 0, 300)]
    assert h.counters(1)["events"] == 1
    assert t.pending() == b""                       # nothing left over on the line
    t.close()


def small_network():
    cfg = CoreConfig(neurons=4, axons=3, weight_bits=4, membrane_bits=8, lanes=1)
    arr = ArrayConfig((cfg, cfg), phases=2)
    rng = np.random.default_rng(1)
    cores = [CoreParams(cfg, rng.integers(-8, 8, (3, 4)), bias=rng.integers(-8, 8, 4),
                        threshold=5 + c, leak=2, bias_shift=1, phase=c) for c in range(2)]
    routes = [Routes.to_host(4),
              Routes.from_list([(0, 0, 1), (1, HOST, 0), (2, HOST, 0), (1, 0, 2)])]
    return Network(arr, cores, routes)


def test_load_network_and_run():
    t = SimTransport(timeout=2000, budget=40_000)
    h = HostLink(t)
    net = small_network()
    h.load_network(net)
    for c, p in enumerate(net.cores):
        rows = np.concatenate([p.weights.reshape(-1), p.bias]).tolist()
        assert h.read_block(Target.CORE, c, cfgbus.Space.WEIGHT, 0, 16, width=1) == rows
        assert h.read(c, cfgbus.Space.PARAM, cfgbus.Param.THRESHOLD) == p.threshold
        assert h.read(c, cfgbus.Space.PARAM, cfgbus.Param.BIAS_SHIFT) == p.bias_shift
    # Core 1's table: neuron 0 -> core 0 axon 1; neuron 1 -> host, then core 0 axon 2.
    ptrs = h.read_block(Target.ROUTES, 1, 0, ROUTE_POINTER, 4)
    assert [p & 0xFFFFFFFF for p in ptrs] == [pack_route_pointer(0, 1), pack_route_pointer(1, 2),
                                             pack_route_pointer(3, 1), pack_route_pointer(4, 0)]
    entries = h.read_block(Target.ROUTES, 1, 0, 0, 4)
    assert entries == [pack_route_entry(0, 1), pack_route_entry(0, 0, host=True),
                       pack_route_entry(0, 2), pack_route_entry(0, 0, host=True)]

    # The stand-in echoes event (core, axon) as spike (core, neuron = axon).
    inputs = np.zeros((5, 6), np.int64)
    inputs[0, 0] = 1          # core 0 axon 0 -> host column (0, 0)
    inputs[0, 4] = 2          # core 1 axon 1 -> host column (1, 1)
    inputs[3, 2] = 1          # core 0 axon 2
    inputs[3, 3] = 1          # core 1 axon 0: no host route, not in the raster
    result = h.run(inputs)
    outputs = [(0, 0), (0, 1), (0, 2), (0, 3), (1, 1), (1, 2)]
    expected = np.zeros((5, len(outputs)), bool)
    expected[0, outputs.index((0, 0))] = True
    expected[0, outputs.index((1, 1))] = True
    expected[3, outputs.index((0, 2))] = True
    np.testing.assert_array_equal(result.host_spikes, expected)
    assert sorted(result.spikes) == [(0, 0, 0), (0, 1, 1), (0, 1, 1), (3, 0, 2), (3, 1, 0)]
    assert t.pending() == b""
    t.close()


def test_transport_must_be_a_port():
    with pytest.raises(TypeError, match="write"):
        HostLink(42)

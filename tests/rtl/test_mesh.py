"""The AER mesh against a reference model of where every packet must leave.

``ref_mesh(rows, cols, traffic)`` says, from the packet fields alone, which egress (a node's
``eject`` or ``host_out``) each packet must reach and in which order per (source, egress) flow;
``rtl_mesh(...)`` runs the gateware with random traffic into every ``inject`` port and
``host_in``, and a backpressure pattern on every egress.  Every packet carries a unique id in
``index``, so the checks are exact: packets in == packets out, no duplicate, none invented,
each at the right egress, per-flow order kept, ``misroute`` never high, and a watchdog fails the
run if packets are pending and nothing moves for 1,024 cycles.
"""

import random
import zlib
from collections import Counter, defaultdict

import pytest
from amaranth.sim import Simulator

from spikeforge.golden_model import ArrayConfig, ConfigError, CoreConfig
from spikeforge.rtl.aer import (core_packet, fabric_layout, host_packet, index_bits,
                                packet_layout, pack, unpack)
from spikeforge.rtl.fabric_sim import READY_PATTERNS, FabricStall, ready_pattern, run_streams
from spikeforge.rtl.mesh import Mesh

HOST = "host"


def make_traffic(rows, cols, per_source, seed, host_share=0.1):
    """Return ``{source: [fields, ...]}``: random destinations, a unique id in ``index``."""
    rng = random.Random(seed)
    nodes = rows * cols
    traffic, uid = {}, 0
    for src in [*range(nodes), HOST]:
        packets = []
        for _ in range(per_source):
            if rng.random() < host_share:
                packets.append(dict(row=0, col=0, host=1, index=uid))
            else:
                d = rng.randrange(nodes)
                packets.append(dict(row=d // cols, col=d % cols, host=0, index=uid))
            uid += 1
        traffic[src] = packets
    return traffic


def ref_mesh(rows, cols, traffic):
    """Return ``{egress: {source: [id, ...]}}``: where each packet leaves, in per-flow order."""
    out = defaultdict(lambda: defaultdict(list))
    for src, packets in traffic.items():
        for p in packets:
            egress = HOST if p["host"] else p["row"] * cols + p["col"]
            out[egress][src].append(p["index"])
    return out


def rtl_mesh(rows, cols, traffic, pattern, *, fifo_depth=4, seed=0, idle=0.2):
    """Run the mesh; return ``({egress: [id, ...]}, cycles)`` in the order packets left."""
    layout = fabric_layout(rows, cols, 16)
    dut = Mesh(rows, cols, layout, fifo_depth)
    nodes = rows * cols
    stall = 2 * fifo_depth * 5 + 7      # longer than twice the deepest FIFO on any path
    sources = [(dut.inject[n], [pack(layout, **p) for p in traffic[n]]) for n in range(nodes)]
    sources.append((dut.host_in, [pack(layout, **p) for p in traffic[HOST]]))
    egresses = [*range(nodes), HOST]
    sinks = []
    for k, stream in enumerate([*dut.eject, dut.host_out]):
        rng = random.Random(seed * 1000 + k)
        sinks.append((stream, ready_pattern(pattern, rng, stall=stall, start=5 + 3 * k)))
    _, received, cycles = run_streams(dut, sources, sinks, idle=idle, alarms=[dut.misroute],
                                      seed=seed)
    out = {}
    for egress, got in zip(egresses, received):
        out[egress] = [unpack(layout, word)["index"] for _, word in got]
    return out, cycles


def check_mesh(rows, cols, traffic, got):
    ref = ref_mesh(rows, cols, traffic)
    source_of = {p["index"]: src for src, packets in traffic.items() for p in packets}
    sent = Counter(source_of)
    seen = Counter(i for ids in got.values() for i in ids)
    assert not [i for i, n in seen.items() if n > 1], "duplicated packets"
    assert not [i for i in seen if i not in sent], "invented packets"
    assert sum(seen.values()) == len(sent), \
        f"lost {len(sent) - sum(seen.values())} packet(s): {sorted(set(sent) - set(seen))[:10]}"
    for egress, ids in got.items():
        flows = defaultdict(list)
        for i in ids:
            flows[source_of[i]].append(i)
        expected = {src: order for src, order in ref[egress].items() if order}
        assert dict(flows) == expected, f"egress {egress}: wrong packets or per-flow order"


@pytest.mark.parametrize("pattern", READY_PATTERNS)
@pytest.mark.parametrize("shape,per_source", [((1, 1), 60), ((2, 2), 40), ((4, 4), 24)])
def test_mesh_random_traffic(shape, per_source, pattern):
    rows, cols = shape
    seed = zlib.crc32(f"{shape}{pattern}".encode()) % 10_000
    traffic = make_traffic(rows, cols, per_source, seed)
    got, cycles = rtl_mesh(rows, cols, traffic, pattern, seed=seed)
    check_mesh(rows, cols, traffic, got)


@pytest.mark.parametrize("shape", [(2, 3), (3, 1)])
def test_mesh_rectangular_min_fifo(shape):
    rows, cols = shape
    traffic = make_traffic(rows, cols, 30, seed=7, host_share=0.3)
    got, _ = rtl_mesh(rows, cols, traffic, "random_50", fifo_depth=2, seed=7)
    check_mesh(rows, cols, traffic, got)


def test_mesh_hotspot_saturates_destination():
    """All-to-one with no backpressure: the destination takes one packet per cycle."""
    rows = cols = 2
    traffic = {src: [dict(row=1, col=1, host=0, index=i * 100 + k) for k in range(40)]
               for i, src in enumerate([0, 1, 2, 3, HOST])}
    got, cycles = rtl_mesh(rows, cols, traffic, "none", idle=0.0)
    check_mesh(rows, cols, traffic, got)
    assert cycles <= 200 + 32 + 20     # 200 packets at one per cycle, plus tail and latency


def test_mesh_in_flight_counts():
    """``entered``, ``left`` and ``in_flight`` agree with the handshakes, cycle by cycle."""
    layout = fabric_layout(2, 2, 8)
    dut = Mesh(2, 2, layout, 4)

    async def testbench(ctx):
        ctx.set(dut.inject[0].payload.as_value(), pack(layout, row=1, col=1, host=0, index=1))
        ctx.set(dut.inject[0].valid, 1)
        ctx.set(dut.inject[3].payload.as_value(), pack(layout, row=0, col=0, host=1, index=2))
        ctx.set(dut.inject[3].valid, 1)
        assert ctx.get(dut.entered) == 2 and ctx.get(dut.idle)
        await ctx.tick()
        ctx.set(dut.inject[0].valid, 0)
        ctx.set(dut.inject[3].valid, 0)
        assert ctx.get(dut.in_flight) == 2 and not ctx.get(dut.idle)
        ctx.set(dut.eject[3].ready, 1)
        ctx.set(dut.host_out.ready, 1)
        flight, cycles = 2, 0
        while flight:
            left = ctx.get(dut.left)
            assert ctx.get(dut.entered) == 0
            await ctx.tick()
            flight -= left
            assert ctx.get(dut.in_flight) == flight
            cycles += 1
            assert cycles < 50
        assert ctx.get(dut.idle)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()


def test_misroute_raised_for_destination_off_mesh():
    """A 3-row mesh has 2-bit row fields; row 3 leads off the mesh and raises ``misroute``."""
    layout = fabric_layout(3, 1, 8)
    dut = Mesh(3, 1, layout, 4)
    traffic = [(dut.inject[0], [pack(layout, row=3, col=0, host=0, index=0)])]
    with pytest.raises(AssertionError, match="misroute"):
        run_streams(dut, traffic, [(dut.eject[2], iter(lambda: True, None))],
                    alarms=[dut.misroute], watchdog=64)


def test_watchdog_fires_when_nothing_moves():
    layout = fabric_layout(1, 1, 8)
    dut = Mesh(1, 1, layout, 4)
    traffic = [(dut.inject[0], [pack(layout, row=0, col=0, host=0, index=0)])]
    with pytest.raises(FabricStall):
        run_streams(dut, traffic, [(dut.eject[0], iter(lambda: False, None))], watchdog=40)


# The packet layout of an array and the pure-Python helpers.

def _array():
    return ArrayConfig((CoreConfig(neurons=100, axons=300), CoreConfig(neurons=600, axons=4),
                        CoreConfig(neurons=8, axons=8)), mesh=(2, 2))


def test_packet_layout_of_array():
    arr = _array()
    layout = packet_layout(arr)
    assert [name for name, _ in layout] == ["row", "col", "host", "index"]
    assert layout["row"].shape.width == 1 and layout["col"].shape.width == 1
    # axons need 9 bits; a source needs 2 (core) + 10 (neuron_bits of the 600-neuron core)
    assert index_bits(arr) == 12 == layout["index"].shape.width
    fields = host_packet(arr, 2, 7)
    assert fields == dict(row=0, col=0, host=1, index=(2 << 10) | 7)
    assert unpack(layout, pack(layout, **fields)) == fields
    assert core_packet(arr, 2, 5) == dict(row=1, col=0, host=0, index=5)


def test_pack_refuses_bad_fields():
    layout = fabric_layout(2, 2, 4)
    with pytest.raises(ConfigError, match="packet.index"):
        pack(layout, row=0, col=0, host=0, index=16)
    with pytest.raises(ConfigError, match="missing"):
        pack(layout, row=0, col=0, host=0)
    with pytest.raises(ConfigError, match="packet word"):
        unpack(layout, 1 << layout.size)
    arr = _array()
    with pytest.raises(ConfigError, match="destination core"):
        core_packet(arr, 3, 0)
    with pytest.raises(ConfigError, match="axon of core 1"):
        core_packet(arr, 1, 4)
    with pytest.raises(ConfigError, match="neuron of core 2"):
        host_packet(arr, 2, 8)
    with pytest.raises(ConfigError, match="rows"):
        fabric_layout(9, 1, 4)


def test_mesh_checks_parameters():
    layout = fabric_layout(2, 2, 4)
    with pytest.raises(ConfigError, match="fifo_depth"):
        Mesh(2, 2, layout, 1)
    with pytest.raises(ConfigError, match="too narrow"):
        Mesh(3, 2, layout, 4)
    with pytest.raises(ConfigError, match="layout"):
        Mesh(2, 2, "layout", 4)

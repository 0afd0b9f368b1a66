"""One router against ``ref_route``: every packet at the port XY routing calls for.

``ref_router`` predicts, from the fields alone, the output each packet of each input must take
(:func:`spikeforge.rtl.router.ref_route`) and the order per (input, output) flow; ``rtl_router``
runs the gateware with random traffic on all five inputs and a backpressure pattern on all five
outputs.
"""

import random
import zlib
from collections import defaultdict

import pytest

from spikeforge.golden_model import ConfigError
from spikeforge.rtl.aer import fabric_layout, pack, unpack
from spikeforge.rtl.fabric_sim import READY_PATTERNS, ready_pattern, run_streams
from spikeforge.rtl.router import PORTS, Port, Router, live_ports, ref_route


def make_traffic(rows, cols, row, col, per_port, seed):
    """Return ``{input port: [fields, ...]}`` of packets that XY routing can bring there."""
    rng = random.Random(seed)
    live = live_ports(rows, cols, row, col)
    traffic, uid = {}, 0
    for port in Port:
        if port not in live:
            continue
        packets = []
        while len(packets) < per_port:
            if rng.random() < 0.15:
                p = dict(row=0, col=0, host=1, index=uid)
            else:
                p = dict(row=rng.randrange(rows), col=rng.randrange(cols), host=0, index=uid)
            if _arrives_by(rows, cols, row, col, p, port):
                packets.append(p)
                uid += 1
        traffic[port] = packets
    return traffic


def _arrives_by(rows, cols, row, col, p, port):
    """Whether a packet can reach router ``(row, col)`` through input ``port`` under XY."""
    if port in (Port.LOCAL,) or (port is Port.WEST and (row, col) == (0, 0)):
        return True      # local and host ingress carry anything
    drow, dcol = (0, 0) if p["host"] else (p["row"], p["col"])
    if port is Port.WEST:
        return dcol >= col                  # travelling east
    if port is Port.EAST:
        return dcol <= col                  # travelling west
    if dcol != col:
        return False                        # the column leg comes first
    if port is Port.NORTH:
        return drow >= row and not p["host"]  # travelling south
    return drow <= row                      # from the south, travelling north


def ref_router(rows, cols, row, col, traffic):
    """Return ``{output: {input: [id, ...]}}``."""
    out = defaultdict(lambda: defaultdict(list))
    for port, packets in traffic.items():
        for p in packets:
            out[ref_route(rows, cols, row, col, p)][port].append(p["index"])
    return out


def rtl_router(rows, cols, row, col, traffic, pattern, *, fifo_depth=4, seed=0, idle=0.2):
    layout = fabric_layout(rows, cols, 12)
    dut = Router(layout=layout, rows=rows, cols=cols, row=row, col=col, fifo_depth=fifo_depth)
    sources = [(dut.input(p), [pack(layout, **f) for f in traffic[p]]) for p in traffic]
    outs = sorted(dut.live)
    sinks = [(dut.output(o), ready_pattern(pattern, random.Random(seed + o),
                                           stall=2 * fifo_depth + 9, start=4 + o))
             for o in outs]
    _, received, cycles = run_streams(dut, sources, sinks, idle=idle, alarms=[dut.misroute],
                                      seed=seed)
    return {o: [unpack(layout, w)["index"] for _, w in got]
            for o, got in zip(outs, received)}, cycles


def check_router(rows, cols, row, col, traffic, got):
    ref = ref_router(rows, cols, row, col, traffic)
    source_of = {p["index"]: port for port, ps in traffic.items() for p in ps}
    seen = [i for ids in got.values() for i in ids]
    assert len(seen) == len(set(seen)), "duplicated packets"
    assert set(seen) <= set(source_of), "invented packets"
    assert len(seen) == len(source_of), "lost packets"
    for o, ids in got.items():
        flows = defaultdict(list)
        for i in ids:
            flows[source_of[i]].append(i)
        assert dict(flows) == {k: v for k, v in ref[o].items() if v}, \
            f"output {PORTS[o]}: wrong packets or per-flow order"


@pytest.mark.parametrize("pattern", READY_PATTERNS)
def test_router_centre(pattern):
    """Router (1, 1) of a 3x3 mesh: all five ports live."""
    seed = zlib.crc32(pattern.encode()) % 1000
    traffic = make_traffic(3, 3, 1, 1, 40, seed)
    got, _ = rtl_router(3, 3, 1, 1, traffic, pattern, seed=seed)
    check_router(3, 3, 1, 1, traffic, got)


@pytest.mark.parametrize("pos", [(0, 0), (0, 2), (2, 0), (2, 2), (1, 0)])
def test_router_edges(pos):
    traffic = make_traffic(3, 3, *pos, 30, seed=pos[0] * 3 + pos[1])
    got, _ = rtl_router(3, 3, *pos, traffic, "random_50", fifo_depth=2, seed=5)
    check_router(3, 3, *pos, traffic, got)


def test_route_table_matches_reference():
    """The hardware routing function equals ``ref_route`` for every position and destination."""
    for rows, cols in [(1, 1), (2, 3), (4, 4)]:
        for row in range(rows):
            for col in range(cols):
                traffic = {Port.LOCAL: [dict(row=r, col=c, host=h, index=0)
                                        for r in range(rows) for c in range(cols)
                                        for h in (0, 1)]}
                for k, p in enumerate(traffic[Port.LOCAL]):
                    p["index"] = k
                got, _ = rtl_router(rows, cols, row, col, traffic, "none", idle=0.0)
                check_router(rows, cols, row, col, traffic, got)


def test_one_packet_per_output_per_cycle():
    """A permutation (each input to a different output) moves five packets per cycle."""
    rows = cols = 3
    dests = {Port.NORTH: (2, 1), Port.SOUTH: (0, 1), Port.EAST: (1, 0), Port.WEST: (1, 1),
             Port.LOCAL: (1, 2)}
    n = 50
    traffic = {p: [dict(row=r, col=c, host=0, index=int(p) * n + k) for k in range(n)]
               for p, (r, c) in dests.items()}
    got, cycles = rtl_router(rows, cols, 1, 1, traffic, "none", idle=0.0)
    check_router(rows, cols, 1, 1, traffic, got)
    assert cycles <= n + 32 + 4      # n cycles of transfers, the tail, three cycles of latency


def test_round_robin_is_fair():
    """Four inputs contending for one output get equal shares, packet by packet."""
    layout = fabric_layout(3, 3, 12)
    ins = [Port.NORTH, Port.EAST, Port.WEST, Port.LOCAL]     # all can reach (2, 1) via south
    n = 40
    traffic = {p: [dict(row=2, col=1, host=0, index=int(p) * n + k) for k in range(n)]
               for p in ins}
    traffic[Port.EAST] = [dict(p, col=1) for p in traffic[Port.EAST]]
    got, _ = rtl_router(3, 3, 1, 1, traffic, "random_50", idle=0.0)
    order = [i // n for i in got[Port.SOUTH]]
    # In every window of 4 consecutive grants (while all inputs still have packets), each
    # input appears once.
    for k in range(0, 4 * (n - 2), 4):
        assert sorted(order[k:k + 4]) == sorted(int(p) for p in ins), order[k:k + 4]
    assert layout["row"].shape.width == 2


def test_router_checks_parameters():
    layout = fabric_layout(2, 2, 4)
    with pytest.raises(ConfigError, match="fifo_depth"):
        Router(layout=layout, rows=2, cols=2, row=0, col=0, fifo_depth=1)
    with pytest.raises(ConfigError, match="row"):
        Router(layout=layout, rows=2, cols=2, row=2, col=0)
    with pytest.raises(ConfigError, match="too narrow"):
        Router(layout=layout, rows=3, cols=2, row=0, col=0)

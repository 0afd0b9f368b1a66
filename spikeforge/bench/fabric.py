"""``spikeforge bench fabric``: throughput and latency of the AER mesh, measured in simulation.

Workloads, on a 2x2 and a 4x4 mesh (:class:`spikeforge.rtl.mesh.Mesh`, input FIFOs of
``--fifo-depth`` entries):

``uniform``
    every node always has a packet to send (a saturating source), to a destination drawn
    uniformly over all nodes (itself included).  Bound: ``N * min(1, 4 / k)`` packets per cycle
    for a k x k mesh of N nodes -- the bisection bound (half of the traffic of each half
    crosses the k links of the bisection in each direction) capped by one injection and one
    ejection per node per cycle.
``hotspot``
    every node always has a packet for one node (the one nearest the centre).  Bound: 1 packet
    per cycle, the destination's ejection port.

Every packet carries a unique id in its ``index`` field; the bench tracks each one from its
injection handshake to its ejection handshake and reports ``lost`` (injected, never ejected
after the drain) and ``duplicated`` (ejected more than once, or never injected).  Throughput is
counted over a measurement window after a warm-up, while every source still has a backlog;
latency (cycles from injection to ejection) over the packets injected in that window.  All
figures come from the Amaranth simulator, cycle by cycle; nothing is estimated.
"""

import json
import random
import statistics
import time

from amaranth.sim import Simulator

from ..rtl.aer import fabric_layout, pack, unpack
from ..rtl.mesh import Mesh

DEFAULTS = dict(meshes=("2x2", "4x4"), warmup=400, window=800, fifo_depth=16)
ID_BITS = 20


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--mesh", action="append", default=None, metavar="RxC",
                        help="mesh shape, repeatable (default: 2x2 and 4x4)")
    parser.add_argument("--warmup", type=int, default=DEFAULTS["warmup"],
                        help="cycles before the measurement window")
    parser.add_argument("--window", type=int, default=DEFAULTS["window"],
                        help="cycles of the measurement window")
    parser.add_argument("--fifo-depth", type=int, default=DEFAULTS["fifo_depth"])
    parser.add_argument("--seed", type=int, default=0)


def throughput_bound(rows, cols, workload):
    """Return the packets per cycle the topology allows for ``workload``.

    Uniform random: cut the longer dimension K into halves of ``a`` and ``b`` columns (or
    rows); each node sends a share ``b / K`` of its packets across the ``m`` links of the cut,
    so the rate per node is at most ``K / (a * b)``, and at most 1 (one injection and one
    ejection port per node).  Hotspot: the destination takes one packet per cycle.
    """
    nodes = rows * cols
    if workload == "hotspot":
        return 1.0
    big = max(rows, cols)
    if big == 1:
        return 1.0
    a, b = big // 2, big - big // 2
    return float(nodes * min(1.0, big / (a * b)))


def run_workload(rows, cols, workload, *, warmup, window, fifo_depth, seed=0):
    """Simulate one workload; return its figures as a dict."""
    layout = fabric_layout(rows, cols, ID_BITS)
    dut = Mesh(rows, cols, layout, fifo_depth)
    nodes = rows * cols
    hot = (rows // 2) * cols + cols // 2 if nodes > 1 else 0
    rng = random.Random(seed)
    dest = {}            # id -> destination node
    t_in, t_out = {}, {}  # id -> cycle of injection / ejection handshake
    dup = [0]
    total = warmup + window

    def new_packet(n, next_id):
        d = hot if workload == "hotspot" else rng.randrange(nodes)
        dest[next_id] = d
        r, c = divmod(d, cols)
        return pack(layout, row=r, col=c, host=0, index=next_id)

    async def bench(ctx):
        next_id = 0
        pending = []
        for n in range(nodes):
            pending.append(new_packet(n, next_id))
            next_id += 1
            ctx.set(dut.inject[n].payload.as_value(), pending[n])
            ctx.set(dut.inject[n].valid, 1)
            ctx.set(dut.eject[n].ready, 1)
        sample = []
        for n in range(nodes):
            sample += [dut.inject[n].ready, dut.eject[n].valid, dut.eject[n].payload.as_value()]
        cycle = 0
        sourcing = True
        idle = 0
        while True:
            _, _, *v = await ctx.tick().sample(*sample)
            for n in range(nodes):
                ready, valid, word = v[3 * n:3 * n + 3]
                if valid:
                    fields = unpack(layout, word)
                    pid = fields["index"]
                    if pid in t_out or pid not in t_in or dest[pid] != n:
                        dup[0] += 1
                    else:
                        t_out[pid] = cycle
                if sourcing and ready:
                    t_in[unpack(layout, pending[n])["index"]] = cycle
                    pending[n] = new_packet(n, next_id)
                    next_id += 1
                    ctx.set(dut.inject[n].payload.as_value(), pending[n])
            cycle += 1
            if sourcing and cycle >= total:
                sourcing = False
                for n in range(nodes):
                    ctx.set(dut.inject[n].valid, 0)
            if not sourcing:
                idle = idle + 1 if len(t_out) == len(t_in) else 0
                if idle > 8 or cycle > total + 64 * (nodes + fifo_depth) * 4:
                    break

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    t0 = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - t0
    in_window = [p for p, t in t_in.items() if warmup <= t < total]
    delivered = sum(1 for t in t_out.values() if warmup <= t < total)
    lat = [t_out[p] - t_in[p] for p in in_window if p in t_out]
    bound = throughput_bound(rows, cols, workload)
    tput = delivered / window
    return {
        "mesh": f"{rows}x{cols}", "workload": workload, "fifo_depth": fifo_depth,
        "packets": len(t_in), "lost": sum(1 for p in t_in if p not in t_out),
        "duplicated": dup[0], "cycles": total, "window_cycles": window,
        "throughput_packets_per_cycle": round(tput, 4),
        "throughput_bound": bound, "efficiency": round(tput / bound, 4),
        "mean_latency_cycles": round(statistics.fmean(lat), 2) if lat else None,
        "max_latency_cycles": max(lat) if lat else None,
        "sim_seconds": round(wall, 2),
    }


def run(args):
    meshes = args.mesh or list(DEFAULTS["meshes"])
    results = []
    for shape in meshes:
        rows, cols = (int(x) for x in shape.lower().split("x"))
        for workload in ("uniform", "hotspot"):
            results.append(run_workload(rows, cols, workload, warmup=args.warmup,
                                        window=args.window, fifo_depth=args.fifo_depth,
                                        seed=args.seed))
    ok = all(r["lost"] == 0 and r["duplicated"] == 0 for r in results)
    if args.json:
        print(json.dumps({"fabric": results, "ok": ok}, indent=2))
    else:
        head = ("mesh", "workload", "packets", "lost", "dup", "pkt/cycle", "bound", "eff",
                "lat mean", "lat max")
        print(" ".join(f"{h:>9}" for h in head))
        for r in results:
            row = (r["mesh"], r["workload"], r["packets"], r["lost"], r["duplicated"],
                   r["throughput_packets_per_cycle"], r["throughput_bound"], r["efficiency"],
                   r["mean_latency_cycles"], r["max_latency_cycles"])
            print(" ".join(f"{x!s:>9}" for x in row))
    return 0 if ok else 1

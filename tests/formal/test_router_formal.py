"""Formal proofs of the router with SymbiYosys (``yowasp-sby``; Yices if installed, else z3).

The harness :class:`RouterSpec` drives every input of a :class:`~spikeforge.rtl.router.Router`
with free values (any packet, any ``valid``, any time), every output ``ready`` with free values,
and tracks two **symbolic tagged packets** ``V1`` and ``V2`` (``AnyConst``: the proof holds for
every choice).  Each value enters at most once (the tracking abstraction: the router never looks
at a payload except to route it).  Assertions:

* **invented / duplicated**: a tagged packet leaves only after it entered and only once, on one
  output;
* **lost**: a tagged packet that entered and has not left is inside the router, in exactly one
  place: the input FIFO it entered by or the output register of its port (conservation);
* **port**: it leaves by the output :func:`ref_route` (the software model) calls for;
* **order**: if ``V1`` and ``V2`` entered by the same input, ``V1`` first, and want the same
  output, ``V2`` does not leave before ``V1``;
* **stability**: an output whose ``valid`` is high and ``ready`` low keeps ``valid`` high and its
  payload unchanged in the next cycle;
* ``misroute`` stays low (inputs carry destinations inside the mesh).

Environment: every destination lies inside the mesh (the mesh's contract) and reset stays low;
outputs may stall forever, so these are safety properties under any environment.

**Compositional proof.**  The per-packet properties are proved by k-induction with the input
FIFOs replaced by :class:`~fifo_contract.AbstractFIFO` (``Router(fifo_factory=...)``): free
outputs restricted by the FIFO contract, which ``test_fifo_formal.py`` proves of
``SyncFIFOBuffered`` itself.  The contract's bookkeeping (per FIFO: packets inside; per tag:
inside, packets ahead) makes the tagged packets' positions visible, so the harness asserts
inductive invariants instead of raising ``k``: the conservation above, the entry port of a
packet in a FIFO, the port of a packet in an output register, and for ordered pairs, ``V1``
ahead of ``V2`` in their FIFO and gone before ``V2`` reaches their output register.

Why small instances cover the property: the router logic is parametric; payload bits beyond
``row``/``col``/``host`` are never inspected (a 1-bit ``index`` with arbitrary tags stands for
any width), the FIFO depth enters only through the contract (depth 3 lets a FIFO hold both tags
with a packet between them; the contract is proved for SyncFIFOBuffered at depths 2 to 4), and
the routing and arbitration logic of a router depends only on which of its ports are live and
where a destination lies relative to it (less, equal, greater in each dimension).
:data:`POSITIONS` has router ``(1, 1)`` of a 3x3 mesh (all five ports live, destinations in
every direction: the full five-way arbiter), router ``(0, 0)`` of a 2x2 mesh (the host port:
host packets leave by ``o_west``; inert north port) and router ``(1, 1)`` of a 2x2 mesh (the
opposite corner: inert south and east ports, no host port).

**Fairness** (:func:`test_router_prove_fairness`, outputs released within a cycle): a FIFO
head waiting for an output is granted before more than ``live - 1`` grants of that output go to
other inputs (round robin), proved by k-induction with an observer of the arbiter's pointer.

**Delivery time** ("a packet leaves within ``bound`` cycles") is a liveness property; it is
checked bounded only, with concrete FIFOs (:func:`test_router_bmc_delivery`, depth
:data:`BMC_DEPTH`, outputs released within a cycle).  An unbounded proof of it in one piece needs
an invariant bounding every packet's remaining time by its position, the heads in front of it,
the arbiter pointers and the output stalls (the pointers are internal to the router), or ``k``
beyond the longest stay: a k-induction at ``k = 28`` with concrete FIFOs did not finish.  The
unbounded pieces compose into a bound on paper: a FIFO presents its next head within a cycle
(contract G9) and keeps it until read (G8); a waiting head is granted within ``live`` loads of
its output (fairness); with stalls of at most ``stall`` cycles an output with a requester loads
at least every ``stall + 1`` cycles; so a packet with ``k`` packets ahead of it leaves within
``(k + 1) * (live * (stall + 1) + 1) + stall + 1`` cycles, and nothing is lost (conservation).

The cover task (concrete FIFOs) reaches a full input FIFO, a stalled output with a full FIFO
behind it, and two tagged packets of one flow leaving in order.

Run with ``pytest -m formal tests/formal -s``; each proof prints its time.
"""

import functools

import pytest
from amaranth import Cat, Elaboratable, Module, ResetSignal, Signal
from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Assert, Assume, Cover

from spikeforge.rtl.aer import fabric_layout
from spikeforge.rtl.router import Port, Router, ref_route

from .fifo_contract import AbstractFIFO
from .sby import check, run_sby

pytestmark = pytest.mark.formal

#: Depth of the bounded checks.  Shallow: a tagged packet can enter and leave (the cover task
#: shows it), but deeper runs of the concrete router take minutes here.
BMC_DEPTH = 5

#: (rows, cols, row, col) of the compositional proofs: every arbiter size and edge case.
POSITIONS = [(3, 3, 1, 1), (2, 2, 0, 0), (2, 2, 1, 1)]


class RouterSpec(Elaboratable):
    """Formal harness around one router (see the module docstring).

    Parameters
    ----------
    rows, cols, row, col : int
        Mesh shape and router position.
    fifo_depth : int
        Input FIFO depth of the router.
    abstract : bool
        Build the router with :class:`AbstractFIFO` input FIFOs (the proven contract) and assert
        the inductive invariants that use their bookkeeping.
    stall : int or None
        Longest stall of an output holding a packet; ``None`` drops the assumption.  With it,
        concrete FIFOs check delivery time (``bound``), abstract ones round-robin fairness.
    bound : int
        Cycles within which a tagged packet must leave (with ``stall``).
    tags : bool
        Track the tagged packets (and check ``misroute``); without them the harness checks
        only the output registers (stability, port), which k-induction proves in a few steps.
    """

    def __init__(self, *, rows=3, cols=3, row=1, col=1, fifo_depth=2, abstract=False,
                 stall=None, bound=40, tags=True):
        if abstract and not tags:
            raise ValueError("abstract: needs tags=True")
        self.layout = fabric_layout(rows, cols, 1)
        width = self.layout.size
        self.tag_values = [Signal(width, name="tag_v1"), Signal(width, name="tag_v2")]
        factory = None
        if abstract:
            factory = functools.partial(AbstractFIFO, tags=self.tag_values, inv=self.in_mesh)
        self.router = Router(layout=self.layout, rows=rows, cols=cols, row=row, col=col,
                             fifo_depth=fifo_depth, fifo_factory=factory)
        self.rows, self.cols, self.row, self.col = rows, cols, row, col
        self.abstract, self.stall, self.bound, self.tags = abstract, stall, bound, tags

    def field(self, word, name):
        """Return field ``name`` of the packet word ``word`` (a Value)."""
        f = self.layout[name]
        return word[f.offset:f.offset + f.shape.width]

    def in_mesh(self, word):
        """Return a Value: the destination of ``word`` lies inside the mesh."""
        return (self.field(word, "row") < self.rows) & (self.field(word, "col") < self.cols)

    def ref_port(self, m, word):
        """Return a Signal holding the :class:`Port` that ``ref_route`` gives for ``word``."""
        port = Signal(3)
        rowf, colf, host = (self.field(word, n) for n in ("row", "col", "host"))
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
        width = self.layout.size
        m.d.comb += Assume(~ResetSignal())

        live = sorted(rt.live)
        ins = {p: rt.input(p) for p in live}
        outs = {p: rt.output(p) for p in live}
        for p in live:
            i, o = ins[p], outs[p]
            m.d.comb += [i.valid.eq(AnySeq(1)), i.payload.eq(AnySeq(width)),
                         o.ready.eq(AnySeq(1))]
            # Destinations inside the mesh.
            m.d.comb += Assume(~i.valid | self.in_mesh(i.payload.as_value()))

        if self.tags:
            m.d.comb += Assert(~rt.misroute)
        # Invariant: an output register only ever holds a packet for its own port.
        for p in live:
            with m.If(outs[p].valid):
                m.d.comb += Assert(self.ref_port(m, outs[p].payload.as_value()) == p)
                if self.abstract:
                    m.d.comb += Assert(self.in_mesh(outs[p].payload.as_value()))

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
        for n, (t, value) in enumerate(zip(("v1", "v2"), self.tag_values)):
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
            # Delivery time: leaves within `bound` cycles.
            if self.stall is not None and not self.abstract:
                m.d.comb += Assert(~entered | left | (age < self.bound))
                # Never-entered values cannot be inside: the age counter starts with entry.
                m.d.comb += Assert(entered | (age == 0))
                m.d.comb += Assert(~left | entered)
            tag = dict(value=value, entered=entered, left=left, port_in=port_in, want=want,
                       n_leave=n_leave)
            if self.abstract:
                tag.update(self.locate(m, n, value, outs))
                # Lost / invented / duplicated: inside exactly once between entry and exit.
                m.d.comb += Assert(tag["n_places"] == (entered & ~left))
                m.d.comb += Assert(~left | entered)
                for p in live:
                    with m.If(tag["in_fifo"][p]):
                        m.d.comb += Assert(port_in == p)
                    with m.If(tag["in_out"][p]):
                        m.d.comb += Assert(want == p)
            tags.append(tag)
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
        same_want = v1["want"] == v2["want"]
        with m.If(v1_first & same_want & (v2["n_leave"] != 0)):
            m.d.comb += Assert(v1["left"])
        if self.stall is not None and not self.abstract:
            m.d.comb += Assert(~v1_first | v2["entered"])
        if self.abstract:
            # Inductive invariants of the order: V1 ahead of V2 in their FIFO, and out of the
            # way before V2 reaches their output register.
            m.d.comb += Assert(~v1_first | (v1["entered"] & v2["entered"] &
                                            (v1["port_in"] == v2["port_in"])))
            for p in live:
                with m.If(v1_first & v1["in_fifo"][p] & v2["in_fifo"][p]):
                    m.d.comb += Assert(v1["ahead"][p] < v2["ahead"][p])
                with m.If(v1_first & same_want & v2["in_out"][p]):
                    m.d.comb += Assert(v1["left"])

        if self.abstract and self.stall is not None:
            self.fairness(m, live, outs)

        # Covers: a full FIFO, backpressure behind it, tagged packets leaving in order.
        for p in live:
            q = rt.fifos[p]
            m.d.comb += Cover(q.level == rt.fifo_depth)
        local = outs[Port.LOCAL]
        m.d.comb += Cover(local.valid & ~local.ready & (rt.fifos[Port.LOCAL].level ==
                                                       rt.fifo_depth))
        m.d.comb += Cover(v1["left"] & v2["left"] & v1_first & same_want)
        return m

    def fairness(self, m, live, outs):
        """Assert round-robin fairness: a FIFO head waiting for output ``o`` is passed over by
        at most ``len(live) - 1`` grants of ``o`` to other inputs.

        Observed at the FIFO ports: a head "requests" ``o`` when ``r_rdy`` and its ``ref_route``
        port is ``o``, and a pop of a requesting FIFO is a grant of ``o``.  ``last`` mirrors the
        arbiter's pointer (the last input granted ``o``); the inductive invariant is
        ``passed + distance(last, p) <= len(live)``, where ``distance`` counts inputs in the
        arbiter's priority order after ``last`` up to ``p``.  Any grant to another input lands
        strictly between ``last`` and ``p``, so the sum never grows.
        """
        rt = self.router
        n_live = len(live)
        heads = {p: self.ref_port(m, rt.fifos[p].r_data) for p in live}
        req = {(p, o): rt.fifos[p].r_rdy & (heads[p] == o) for p in live for o in live}
        pop = {p: rt.fifos[p].r_en & rt.fifos[p].r_rdy for p in live}
        for o in live:
            last = Signal(3, name=f"obs_last_{o.name.lower()}")
            for q in live:
                with m.If(pop[q] & req[q, o]):
                    m.d.sync += last.eq(q)
            for p in live:
                waiting = req[p, o] & ~pop[p]
                others = sum(pop[q] & req[q, o] for q in live if q != p)
                passed = Signal(range(n_live + 1), name=f"passed_{p.name.lower()}_"
                                f"{o.name.lower()}")
                with m.If(waiting):
                    m.d.sync += passed.eq(passed + others)
                with m.Else():
                    m.d.sync += passed.eq(0)
                distance = Signal(range(n_live + 1), name=f"distance_{p.name.lower()}_"
                                  f"{o.name.lower()}")
                with m.Switch(last):
                    for g in live:
                        with m.Case(g):
                            order = [Port((g + k) % len(Port)) for k in range(1, len(Port) + 1)]
                            order = [x for x in order if x in live]
                            m.d.comb += distance.eq(order.index(p) + 1)
                    with m.Default():
                        m.d.comb += distance.eq(n_live)
                m.d.comb += Assert(passed <= n_live - 1)
                with m.If(waiting):
                    m.d.comb += Assert(passed + distance <= n_live)

    def locate(self, m, n, value, outs):
        """Return where tag ``n`` (``value``) is: per-FIFO ``in_fifo``/``ahead`` (contract
        bookkeeping), per-output ``in_out``, and ``n_places``, the number of places."""
        rt = self.router
        in_fifo = {p: rt.fifos[p].contract.inside[n] for p in outs}
        ahead = {p: rt.fifos[p].contract.ahead[n] for p in outs}
        in_out = {p: outs[p].valid & (outs[p].payload.as_value() == value) for p in outs}
        n_places = Signal(range(2 * len(outs) + 1), name=f"v{n + 1}_n_places")
        m.d.comb += n_places.eq(sum(in_fifo.values()) + sum(in_out.values()))
        return dict(in_fifo=in_fifo, ahead=ahead, in_out=in_out, n_places=n_places)


def test_router_prove_outputs(tmp_path):
    """k-induction, any environment, concrete FIFOs: output stability and port of every output
    register."""
    spec = RouterSpec(rows=3, cols=3, row=1, col=1, fifo_depth=4, tags=False)
    ok, dt, log = run_sby(tmp_path, "router_outputs", spec, "prove", 4)
    check(ok, log)


@pytest.mark.parametrize("rows, cols, row, col", POSITIONS)
def test_router_prove_packets(tmp_path, rows, cols, row, col):
    """k-induction, any environment, FIFOs by their contract: no packet lost, invented or
    duplicated; every packet leaves by its port, in order per flow; outputs stable; no
    misroute.  Unbounded."""
    spec = RouterSpec(rows=rows, cols=cols, row=row, col=col, fifo_depth=3, abstract=True)
    ok, dt, log = run_sby(tmp_path, f"router_packets_{rows}{cols}{row}{col}", spec, "prove", 3)
    check(ok, log)


@pytest.mark.parametrize("rows, cols, row, col", POSITIONS)
def test_router_prove_fairness(tmp_path, rows, cols, row, col):
    """k-induction, outputs released within a cycle, FIFOs by their contract: every property
    of :func:`test_router_prove_packets` plus round-robin fairness (a waiting FIFO head is
    granted before more than ``len(live) - 1`` other grants of its output).  Unbounded."""
    spec = RouterSpec(rows=rows, cols=cols, row=row, col=col, fifo_depth=3, abstract=True,
                      stall=1)
    ok, dt, log = run_sby(tmp_path, f"router_fair_{rows}{cols}{row}{col}", spec, "prove", 4)
    check(ok, log)


def test_router_bmc_delivery(tmp_path):
    """Bounded (depth ``BMC_DEPTH``), concrete FIFOs: with outputs released in a cycle, a
    tagged packet leaves within ``bound`` cycles, besides every safety property."""
    spec = RouterSpec(rows=3, cols=3, row=1, col=1, fifo_depth=2, stall=1, bound=32)
    ok, dt, log = run_sby(tmp_path, "router_delivery", spec, "bmc", BMC_DEPTH)
    check(ok, log)


def test_router_cover(tmp_path):
    """Reachable, concrete FIFOs: a full FIFO, a stalled output in front of a full FIFO, two
    tagged packets of one flow leaving in order."""
    spec = RouterSpec(rows=3, cols=3, row=1, col=1, fifo_depth=3)
    ok, dt, log = run_sby(tmp_path, "router_cover", spec, "cover", 16)
    check(ok, log)

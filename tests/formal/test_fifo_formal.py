"""Formal proof that :class:`~amaranth.lib.fifo.SyncFIFOBuffered` meets the FIFO contract.

The contract (``fifo_contract.py``: bookkeeping of the packets inside and of one tagged value,
guarantees G1-G6, G8, G9) is what the router proofs assume of their input FIFOs.  The harness
drives the FIFO with free ``w_en``, ``w_data`` and ``r_en`` (obligation O1 assumed: the tagged
value is not written while inside), asserts every guarantee, and proves them by k-induction.

Induction needs invariants that tie the bookkeeping to the FIFO's state, so the harness looks
inside (:class:`ObservableFIFO`: the pointers and the inner memory's words, through observer
read ports) and asserts:

* ``level == count``;
* the tagged packet's slot holds it: the output register when it is at the head and ``r_rdy``,
  otherwise inner-memory word ``(consume + ahead - r_rdy) mod (depth - 1)``;
* no other live slot (a word between ``consume`` and ``consume + inner_level``, or the output
  register) holds the tagged value.

SyncFIFOBuffered's own formal asserts (pointers consistent with its inner level) come along.

Why a small instance is enough: the FIFO never looks at the data, so a 3-bit word with an
arbitrary tag (``AnyConst``) stands for any width; the logic is the same for every depth of 3
or more (a memory of ``depth - 1`` words, wrapping pointers, an output register), and depth 4
(a 3-word memory, a wrap at a non-power of two) and depth 3 exercise all of it.  Depth 2 (a
1-word memory, pointers of zero width) is proved too, since the router allows it.
"""

import pytest
from amaranth import Elaboratable, Module, ResetSignal, Signal
from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Assert, Assume, Cover

from .fifo_contract import FIFOContract, ObservableFIFO, wrap
from .sby import check, run_sby

pytestmark = pytest.mark.formal


class FIFOSpec(Elaboratable):
    """Harness: a :class:`ObservableFIFO`, free inputs, one tag, the contract asserted."""

    def __init__(self, *, width=3, depth=4):
        self.width, self.depth = width, depth
        self.fifo = ObservableFIFO(width=width, depth=depth)
        self.tag = Signal(width)
        self.contract = FIFOContract(depth=depth, tags=[self.tag], name="spec")

    def elaborate(self, platform):
        m = Module()
        q = m.submodules.fifo = self.fifo
        m.d.comb += Assume(~ResetSignal())
        m.d.comb += [self.tag.eq(AnyConst(self.width)), q.w_en.eq(AnySeq(1)),
                     q.w_data.eq(AnySeq(self.width)), q.r_en.eq(AnySeq(1))]
        c = self.contract
        obligations, guarantees = c.build(m, q)
        for o in obligations:
            m.d.comb += Assume(o)
        for g in guarantees:
            m.d.comb += Assert(g)

        # Invariants tying the bookkeeping to the FIFO's state.
        m.d.comb += Assert(q.level == c.count)
        inner = q.inner_depth
        inside, ahead = c.inside[0], c.ahead[0]
        in_register = inside & (ahead == 0) & q.r_rdy
        in_memory = inside & ~in_register
        offset = Signal(range(2 * inner + 1))            # position of the tag in the memory
        m.d.comb += offset.eq(ahead - q.r_rdy)
        slot = Signal(range(inner + 1))
        m.d.comb += slot.eq(wrap(q.consume + offset, inner))
        with m.If(in_memory):
            m.d.comb += Assert(offset < q.inner_level)
        for n, row in enumerate(q.rows):
            # Word n is live when it lies in [consume, consume + inner_level) modulo `inner`.
            distance = Signal(range(inner), name=f"distance{n}")
            m.d.comb += distance.eq(wrap(n + inner - q.consume, inner))
            live = distance < q.inner_level
            with m.If(in_memory & (slot == n)):
                m.d.comb += Assert(row == self.tag)
            with m.If(live & (row == self.tag)):
                m.d.comb += Assert(in_memory & (slot == n))

        m.d.comb += [
            Cover(q.level == self.depth),
            Cover(q.r_rdy & q.r_en & inside & (ahead == 0) & (q.w_rdy == 0)),
        ]
        return m


# k: at least 2 for G8/G9 (one cycle of history); the invariants above make it inductive.
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_fifo_prove_contract(tmp_path, depth):
    """k-induction: SyncFIFOBuffered of ``depth`` entries meets the contract, unboundedly."""
    ok, dt, log = run_sby(tmp_path, f"fifo_d{depth}", FIFOSpec(depth=depth), "prove", 4)
    check(ok, log)


def test_fifo_cover(tmp_path):
    """Reachable: a full FIFO; the tagged packet read out while the FIFO is full."""
    ok, dt, log = run_sby(tmp_path, "fifo_cover", FIFOSpec(depth=4), "cover", 12)
    check(ok, log)

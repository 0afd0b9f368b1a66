"""The contract of an input FIFO, for compositional proofs of the router.

A FIFO is described by **bookkeeping** that an observer can keep from its ports alone:

* ``count``: packets inside (writes minus reads);
* for every **tagged value** ``tag`` (a word the proof follows): ``inside`` (a packet carrying
  ``tag`` is in the FIFO) and ``ahead`` (how many packets are in front of it).

On a write of ``tag`` the tagged packet enters with ``ahead = count`` (less one if a read happens
in the same cycle); every read decrements ``ahead``, and the read with ``ahead = 0`` takes it out.

The contract splits into the environment's **obligations** and the FIFO's **guarantees**:

=====  =============================================================================
O1     ``tag`` is not written while a packet carrying it is inside
O2     every written word satisfies the predicate ``inv`` (optional)
G1     ``count <= depth``
G2     ``w_rdy`` implies ``count < depth`` (nothing is written into a full FIFO)
G3     ``r_rdy`` implies ``count > 0`` (nothing is read out of an empty one)
G4     ``inside`` implies ``ahead < count``
G5     ``r_rdy`` and ``inside`` and ``ahead = 0`` imply ``r_data = tag`` (the tagged packet
       comes out at its turn, unchanged)
G6     ``r_rdy`` and ``r_data = tag`` imply ``inside`` and ``ahead = 0`` (a head carrying
       ``tag`` is the tagged packet: nothing invented or duplicated)
G7     ``r_rdy`` implies ``inv(r_data)`` (with O2)
G8     after a cycle with ``r_rdy`` and no ``r_en``: ``r_rdy`` and the same ``r_data``
G9     after a cycle with ``count > 0`` and no ``r_rdy``: ``r_rdy`` (a head shows up at once)
=====  =============================================================================

G1-G6 and G8-G9 are proved for :class:`~amaranth.lib.fifo.SyncFIFOBuffered` by
``test_fifo_formal.py`` (k-induction, :class:`ObservableFIFO`), for one arbitrary tag and any
inputs satisfying O1: the contract of several tags is the conjunction of the single-tag ones.
G7 follows from G6: given a head word ``v``, G6 with ``tag = v`` says a packet carrying ``v`` is
inside, so ``v`` was written, and by O2 satisfies ``inv``.

:class:`AbstractFIFO` is the stand-in the router proofs use instead: free outputs restricted by
the guarantees (assumed) while the obligations are checked (asserted) against the router and its
environment.  Anything proved of a router built with it holds for the real FIFOs.
"""

from amaranth import Elaboratable, Module, Mux, Signal
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert, Assume
from amaranth.lib.fifo import SyncFIFOBuffered

__all__ = ["FIFOContract", "AbstractFIFO", "ObservableFIFO"]


class FIFOContract:
    """Bookkeeping, obligations and guarantees of one FIFO (see the module docstring).

    Parameters
    ----------
    depth : int
        Entries of the FIFO.
    tags : sequence of Value
        The tagged values; each gets an ``inside`` and an ``ahead`` signal.
    inv : callable or None
        ``inv(word)`` returns a 1-bit Value; the predicate of O2 and G7.
    name : str
        Prefix of the bookkeeping signal names.

    Members
    -------
    count : Signal(range(depth + 1))
    inside, ahead : list of Signal
        One per tag, in ``tags`` order.
    """

    def __init__(self, *, depth, tags, inv=None, name="fifo"):
        self.depth, self.tags, self.inv, self.name = depth, list(tags), inv, name
        self.count = Signal(range(depth + 1), name=f"{name}_count")
        self.inside = [Signal(name=f"{name}_in{n}") for n in range(len(self.tags))]
        self.ahead = [Signal(range(depth), name=f"{name}_ahead{n}")
                      for n in range(len(self.tags))]

    def build(self, m, q):
        """Add the bookkeeping of FIFO ports ``q`` to ``m``; return (obligations, guarantees).

        Both are lists of 1-bit Values that must hold in every cycle.
        """
        write = q.w_en & q.w_rdy
        read = q.r_en & q.r_rdy
        count = self.count
        m.d.sync += count.eq(count + write - read)
        obligations, guarantees = [], []
        guarantees += [count <= self.depth, ~q.w_rdy | (count < self.depth),
                       ~q.r_rdy | (count > 0)]
        for tag, inside, ahead in zip(self.tags, self.inside, self.ahead):
            w_tag = write & (q.w_data == tag)
            at_head = inside & (ahead == 0)
            with m.If(inside & read):
                with m.If(ahead == 0):
                    m.d.sync += inside.eq(0)
                with m.Else():
                    m.d.sync += ahead.eq(ahead - 1)
            with m.If(w_tag):
                m.d.sync += [inside.eq(1), ahead.eq(count - read)]
            obligations.append(~(w_tag & inside))
            guarantees += [
                ~inside | (ahead < count),
                ~(q.r_rdy & at_head) | (q.r_data == tag),
                ~(q.r_rdy & (q.r_data == tag)) | at_head,
            ]
        if self.inv is not None:
            obligations.append(~write | self.inv(q.w_data))
            guarantees.append(~q.r_rdy | self.inv(q.r_data))
        # G8 and G9: a head stays until read, and shows up one cycle after the FIFO fills.
        held = Signal(name=f"{self.name}_held")
        data = Signal(len(q.r_data), name=f"{self.name}_held_data")
        waiting = Signal(name=f"{self.name}_waiting")
        started = Signal(name=f"{self.name}_started")
        m.d.sync += [held.eq(q.r_rdy & ~q.r_en), data.eq(q.r_data),
                     waiting.eq((count > 0) & ~q.r_rdy), started.eq(1)]
        guarantees += [~(started & held) | (q.r_rdy & (q.r_data == data)),
                       ~(started & waiting) | q.r_rdy]
        return obligations, guarantees


class AbstractFIFO(Elaboratable):
    """A FIFO stand-in for proofs: outputs are free, restricted only by the contract.

    Takes the constructor arguments of :class:`SyncFIFOBuffered` (``width``, ``depth``) plus
    those of :class:`FIFOContract`, so ``functools.partial(AbstractFIFO, tags=..., inv=...)`` is a
    ``fifo_factory`` for :class:`~spikeforge.rtl.router.Router`.  The guarantees are assumed,
    the obligations asserted; ``level`` is the bookkeeping ``count``.
    """

    _serial = 0

    def __init__(self, *, width, depth, tags, inv=None):
        AbstractFIFO._serial += 1
        self.width, self.depth = width, depth
        self.w_data = Signal(width)
        self.w_en = Signal()
        self.w_rdy = Signal()
        self.r_data = Signal(width)
        self.r_en = Signal()
        self.r_rdy = Signal()
        self.level = Signal(range(depth + 1))
        self.contract = FIFOContract(depth=depth, tags=tags, inv=inv,
                                     name=f"abstract{AbstractFIFO._serial}")

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.w_rdy.eq(AnySeq(1)), self.r_rdy.eq(AnySeq(1)),
                     self.r_data.eq(AnySeq(self.width)), self.level.eq(self.contract.count)]
        obligations, guarantees = self.contract.build(m, self)
        for g in guarantees:
            m.d.comb += Assume(g)
        for o in obligations:
            m.d.comb += Assert(o)
        return m


class ObservableFIFO(SyncFIFOBuffered):
    """:class:`SyncFIFOBuffered`, unchanged, with its internal state brought out for proofs.

    Members (besides those of the FIFO)
    -------
    produce, consume : Signal
        Write and read pointers of the inner memory (``depth - 1`` entries).
    rows : list of Signal
        The inner memory's words, through extra asynchronous read ports (observers only).
    inner_level : Signal
        Entries in the inner memory (``level`` less the output register).
    """

    def __init__(self, *, width, depth):
        if depth < 2:
            raise ValueError(f"depth: expected 2 or more, not {depth!r}")
        super().__init__(width=width, depth=depth)
        self.inner_depth = depth - 1
        self.produce = Signal(range(self.inner_depth))
        self.consume = Signal(range(self.inner_depth))
        self.rows = [Signal(width, name=f"row{n}") for n in range(self.inner_depth)]
        self.inner_level = Signal(range(depth))

    def elaborate(self, platform):
        m = super().elaborate(platform)
        storage = m.submodules.storage
        (w_port,), (r_port,) = storage.write_ports, storage.read_ports
        m.d.comb += [self.produce.eq(w_port.addr), self.consume.eq(r_port.addr),
                     self.inner_level.eq(self.level - self.r_rdy)]
        for n, row in enumerate(self.rows):
            port = storage.read_port(domain="comb")
            m.d.comb += [port.addr.eq(n), row.eq(port.data)]
        return m


def wrap(value, modulus):
    """Return ``value mod modulus`` for ``0 <= value < 2 * modulus`` (a Value)."""
    return Mux(value >= modulus, value - modulus, value)

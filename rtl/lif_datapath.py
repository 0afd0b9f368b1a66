"""The lane datapath of the LIF tick, as a small scheduled dataflow graph.

The tick equations of :mod:`spikeforge.golden_model.neuron` are written once, as a graph of
combinational operations with optional pipeline registers ("cuts") between them.  The graph is
then scheduled *as late as possible*: every memory operand arrives exactly in the cycle where it
is first needed (the core delays that memory's read address instead of carrying the data through
pipeline registers), and every result leaves in the cycle it is ready (the core writes it back
then).  This keeps the register count, which on iCE40 is a logic cell per bit, down to the values
that really cross a cut, and it lets one description serve both a short pipeline (iCE40) and a
deep one (ECP5): only the set of enabled cuts differs.
"""

from amaranth import Cat, Mux, Signal, Value

__all__ = ["Dataflow", "Cuts", "CUTS", "lane_graph", "leak_factor", "leak_multiplier",
           "saturate"]


class _Node:
    __slots__ = ("kind", "fn", "args", "name")

    def __init__(self, kind, fn=None, args=(), name=None):
        self.kind, self.fn, self.args, self.name = kind, fn, tuple(args), name


class Dataflow:
    """A feed-forward graph of combinational operations and pipeline registers.

    Build it with :meth:`input`, :meth:`op`, :meth:`reg` and :meth:`output` (nodes are created in
    topological order), then call :meth:`schedule` once and :meth:`build` once per instance
    (lane).  Cycles are relative: cycle 0 is the earliest cycle an input arrives in.

    Members
    -------
    arrival : dict
        After :meth:`schedule`: input name -> the cycle its value must be present in.
    ready : dict
        After :meth:`schedule`: output name -> the cycle its value is valid in.
    """

    def __init__(self):
        self._nodes = []
        self._outputs = {}
        self._latest = None
        self.arrival = {}
        self.ready = {}

    def input(self, name):
        """Return a node for an operand that comes from outside (a memory lane)."""
        return self._add(_Node("input", name=name))

    def op(self, fn, *args, name=None):
        """Return a node computing ``fn(*values_of_args)`` combinationally."""
        if not args:
            raise ValueError("op: expected at least one argument node")
        return self._add(_Node("op", fn=fn, args=args, name=name))

    def reg(self, node, enable=True):
        """Return ``node`` registered once (a pipeline cut), or ``node`` itself if disabled."""
        return self._add(_Node("reg", args=(node,))) if enable else node

    def reg_hook(self, name, node):
        """Return a node computed by ``hooks[name](x)`` of :meth:`build`, an operation that
        differs per instance and has a register inside: it returns, one cycle later, its
        function of ``x`` (e.g. half of a shared DSP block and its output register).
        Scheduled as a pipeline register."""
        return self._add(_Node("reg", fn=name, args=(node,), name=name))

    def output(self, name, node):
        """Name ``node`` as a result of the graph."""
        self._outputs[name] = node

    def _add(self, node):
        self._nodes.append(node)
        return node

    def schedule(self):
        """Compute the as-late-as-possible schedule of every node."""
        avail = {}
        for n in self._nodes:
            if n.kind == "input":
                avail[n] = 0
            elif n.kind == "op":
                avail[n] = max(avail[a] for a in n.args)
            else:
                avail[n] = avail[n.args[0]] + 1
        inf = float("inf")
        latest = {n: inf for n in self._nodes}
        for node in self._outputs.values():
            latest[node] = min(latest[node], avail[node])
        for n in reversed(self._nodes):
            if latest[n] == inf:
                continue
            for a in n.args:
                need = latest[n] - 1 if n.kind == "reg" else latest[n]
                latest[a] = min(latest[a], need)
        used = [latest[n] for n in self._nodes if n.kind == "input" and latest[n] != inf]
        base = min(used)
        self._latest = {n: t - base for n, t in latest.items() if t != inf}
        self.arrival = {n.name: self._latest[n] for n in self._nodes
                        if n.kind == "input" and n in self._latest}
        # The cycle an output is valid in: registers deliver one cycle after their input.
        at = self._times()
        self.ready = {name: at[node] for name, node in self._outputs.items()}

    def _times(self):
        at = {}
        for n in self._nodes:
            if n not in self._latest:
                continue
            at[n] = at[n.args[0]] + 1 if n.kind == "reg" else self._latest[n]
        return at

    def build(self, m, inputs, prefix="", hooks=None):
        """Add one instance to module ``m``; return output name -> value.

        ``inputs`` maps every input name to the value present in its :attr:`arrival` cycle;
        ``hooks`` every :meth:`reg_hook` name to its function for this instance.  The registers
        have no reset: they carry data, which the caller qualifies with its own valid bits
        (and a register without reset can merge into a DSP block's pipeline registers).
        """
        if self._latest is None:
            raise RuntimeError("build: call schedule() first")
        at = self._times()
        val = {}
        delayed = {}

        def get(node, cycle):
            k = cycle - at[node]
            assert k >= 0, "schedule violated"
            key = (node, k)
            if key not in delayed:
                v = val[node] if k == 0 else get(node, cycle - 1)
                if k:
                    r = Signal(v.shape(), name=f"{prefix}d{k}", reset_less=True)
                    m.d.sync += r.eq(v)
                    v = r
                delayed[key] = v
            return delayed[key]

        for n in self._nodes:
            if n not in at:
                continue
            if n.kind == "input":
                val[n] = inputs[n.name]
            elif n.kind == "op":
                val[n] = n.fn(*(get(a, at[n]) for a in n.args))
            elif n.fn is not None:
                val[n] = hooks[n.fn](get(n.args[0], at[n] - 1))
            else:
                src = get(n.args[0], at[n] - 1)
                r = Signal(src.shape(), name=f"{prefix}r", reset_less=True)
                m.d.sync += r.eq(src)
                val[n] = r
        return {name: val[node] for name, node in self._outputs.items()}


class Cuts:
    """Which optional pipeline registers of the lane datapath are present.

    Parameters
    ----------
    memory : bool
        Register every memory read port output before any logic uses it (block RAM outputs
        are slow on ECP5).
    shift : bool
        After the leak barrel shifter (or multiplier) and the bias shifter.
    decay : bool
        After the leak subtraction.
    input : bool
        After the synaptic input: the current update (CUBA) or the input plus bias.
    sum : bool
        After the saturated membrane sum, before the threshold compare.
    """

    __slots__ = ("memory", "shift", "decay", "input", "sum")

    def __init__(self, *, memory, shift, decay, input, sum):
        self.memory, self.shift, self.decay, self.input, self.sum = \
            memory, shift, decay, input, sum


#: The pipeline variants of :class:`~spikeforge.rtl.LIFCore`.
CUTS = {
    # Every cut: for devices with plenty of flip-flops and a high clock (ECP5).
    "deep": Cuts(memory=True, shift=True, decay=True, input=True, sum=True),
    # No register on memory outputs or after the shifters: on iCE40 a register costs a logic
    # cell of its own unless it follows a LUT (an adder), and 36 MHz leaves time.
    "compact": Cuts(memory=False, shift=False, decay=True, input=True, sum=True),
}


def saturate(x, bits):
    """Return ``x`` clamped to the signed ``bits``-wide range, as a ``signed(bits)`` value."""
    x = Value.cast(x)
    if len(x) <= bits:
        return Cat(x, *([x[-1]] * (bits - len(x)))).as_signed()
    # x fits iff its bits from bits-1 up are all equal (a sign extension); otherwise the bound
    # has x's sign on top and its complement below.  (Comparisons with the bounds would cost a
    # carry chain each on iCE40.)
    top = x[bits - 1:]
    fits = (top == 0) | (top == (1 << len(top)) - 1)
    sign = x[-1]
    return Mux(fits, x[:bits], Cat(*([~sign] * (bits - 1)), sign)).as_signed()


def leak_factor(cfg, k):
    """Return the factor ``-M`` of the multiplier form of the shift leak for leak ``k``.

    ``x - (x >> k) == ceil(x * M / 2**V)`` with ``M = 2**V - 2**(V - k)`` (``M = 2**V`` for
    ``k == 0``, no leak), so the decayed membrane is ``-((x * -M) >> V)``: a multiply and a
    slice, with the negation folded into the adder that follows (a subtraction).  ``-M``
    needs ``V + 1`` signed bits.
    """
    V = cfg.membrane_bits
    return Mux(k == 0, -(1 << V), -((1 << V) - ((1 << V) >> k)))


def leak_multiplier(cfg, k):
    """Return ``m = 2**(V - k)`` (``0`` for ``k == 0``): ``x >> k == (x * m) >> V`` for
    ``k >= 1``, and the product is zero without leak.  ``m`` fits ``V`` unsigned bits.

    The decayed membrane is then ``x - (x >> k) == (x * 2**V + 2**V - 1 - x * m) >> V``: the
    product is subtracted from ``x`` shifted up, with ones below, and the floor of the
    quotient is the ceiling of ``x * (2**V - m) / 2**V`` (see :func:`leak_factor`)."""
    V = cfg.membrane_bits
    return Mux(k == 0, 0, (1 << V) >> k)


def lane_graph(cfg, prm, cuts, *, share_sum=False, leak_mul=None, leak_product=False):
    """Return the scheduled :class:`Dataflow` of one neuron's tick.

    Inputs (memory lanes, as read): ``v`` (signed V), ``acc`` (signed acc_bits), ``bias``
    (signed W), ``i`` (signed I, CUBA only), ``ref`` (unsigned R, refractory only).
    Outputs: ``v``, ``i`` (CUBA), ``ref`` (refractory) -- the new state -- and ``spike`` (1 bit).
    ``prm`` holds the parameter register signals: ``threshold``, ``leak``, ``current_leak``,
    ``bias_shift``, ``refractory``; they are static during a tick.

    With ``share_sum`` (not CUBA), the output ``sum`` is ``acc + (bias << bias_shift)`` (after
    the ``input`` cut): with ``bias_shift`` driven to zero and a weight on ``bias``, the
    integrate path uses the same adder.

    With ``leak_mul`` (a signal holding :func:`leak_factor` of the leak parameter; shift leak
    only), the membrane leak is a multiplication, which the toolchain maps to a DSP block,
    instead of a barrel shifter and a subtractor in logic.  With ``leak_product`` the leak is
    the registered hook ``"leak_decay"``: ``v * 2**V + 2**V - 1 - v * m``
    (:func:`leak_multiplier`) from a multiply-subtract the core provides (half of a DSP block,
    whose output register is the decay cut), then a slice.  The schedule is the same.
    """
    g = Dataflow()
    V, F = cfg.membrane_bits, cfg.decay_frac_bits
    v = g.input("v")
    acc = g.input("acc")
    bias = g.input("bias")

    def decay(x, k, bits, shift_cut=cuts.shift):
        if cfg.leak == "shift":
            # x - (x >> k), and k == 0 is no leak: shift in zero instead of x itself.
            s = g.reg(g.op(lambda x: Mux(k == 0, 0, x >> k), x), shift_cut)
            return g.reg(g.op(lambda x, s: (x - s)[:bits].as_signed(), x, s), cuts.decay)
        # (x * alpha) >> F; alpha <= 2**F keeps the result within the width of x.
        p = g.reg(g.op(lambda x: x * k, x), shift_cut)
        return g.op(lambda p: p[F:F + bits].as_signed(), p)

    if leak_mul is not None:
        if cfg.leak != "shift":
            raise ValueError(f"leak_mul: only for leak='shift', not {cfg.leak!r}")
        # ndv = -decay(v): the products of both cuts of the shift form are the DSP's own
        # pipeline registers.
        p = g.reg(g.reg(g.op(lambda x: x * leak_mul, v), cuts.shift), cuts.decay)
        ndv = g.op(lambda p: p[V:].as_signed(), p)
    elif leak_product:
        if cfg.leak != "shift":
            raise ValueError(f"leak_product: only for leak='shift', not {cfg.leak!r}")
        assert cuts.decay, "the block's output register is the decay cut"
        z = g.reg(g.reg_hook("leak_decay", v), cuts.shift)
        dv = g.op(lambda z: z[V:2 * V].as_signed(), z)
    else:
        dv = decay(v, prm["leak"], V)
    # bias << bias_shift fits the membrane width (bias_shift <= V - W is range-checked).
    bsh = g.reg(g.op(lambda b: (b << prm["bias_shift"])[:V].as_signed(), bias), cuts.shift)
    if cfg.cuba:
        i = g.input("i")
        # The current path is one step longer than the membrane path: its shift and subtract
        # share a stage, so a tick still takes at most rows + 8 cycles.
        di = decay(i, prm["current_leak"], cfg.current_bits, shift_cut=False)
        inew = g.reg(g.op(lambda d, a: saturate(d + a, cfg.current_bits), di, acc), cuts.input)
        g.output("i", inew)
        drive = g.op(lambda x, b: x + b, inew, bsh)
    else:
        drive = g.reg(g.op(lambda x, b: x + b, acc, bsh), cuts.input)
        if share_sum:
            g.output("sum", drive)
    if cfg.refractory_bits:
        ref = g.input("ref")
        active = g.op(lambda r: r == 0, ref)
        if leak_mul is not None:
            u = g.op(lambda n, x, a: Mux(a, x, 0) - n, ndv, drive, active)
        else:
            u = g.op(lambda d, x, a: d + Mux(a, x, 0), dv, drive, active)
    elif leak_mul is not None:
        u = g.op(lambda n, x: x - n, ndv, drive)
    else:
        u = g.op(lambda d, x: d + x, dv, drive)
    v1 = g.reg(g.op(lambda u: saturate(u, V), u), cuts.sum)
    # One subtraction serves the compare and the subtract reset: d = v1 - theta.
    d = g.op(lambda v1: v1 - prm["threshold"], v1)
    fire = (lambda d: d >= 0) if cfg.compare == "ge" else (lambda d: d > 0)
    if cfg.refractory_bits:
        spike = g.op(lambda d, a: fire(d) & a, d, active)
        rp = prm["refractory"]
        g.output("ref", g.op(lambda s, r: Mux(s, rp, Mux(r == 0, 0, r - 1)), spike, ref))
    else:
        spike = g.op(fire, d)
    if cfg.reset == "zero":
        vnew = g.op(lambda s, v1: Mux(s, 0, v1), spike, v1)
    else:
        vnew = g.op(lambda s, v1, d: Mux(s, d[:V].as_signed(), v1), spike, v1, d)
    g.output("v", vnew)
    g.output("spike", spike)
    g.schedule()
    return g


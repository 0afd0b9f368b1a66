"""The time-multiplexed LIF neurosynaptic core, bit-exact with the golden model.

One :class:`LIFCore` holds ``N`` neurons and ``A`` axons of one
:class:`~spikeforge.golden_model.CoreConfig` and updates ``L`` neurons ("lanes") per clock
cycle.  Its state lives in block RAM, one row of ``L`` neurons per address (``rows = N / L``):

=============  =====================  ==========================================================
memory         depth x width          contents
=============  =====================  ==========================================================
weights        ``(A+1)*rows x L*W``   ``weights[a, r*L + l]`` at row ``a*rows + r``, lane ``l``;
                                      rows ``A*rows ...`` hold the bias
membrane       ``rows x L*V``         ``v``
current        ``rows x L*I``         ``i`` (CUBA only)
refractory     ``rows x L*R``         ``ref`` (``refractory_bits > 0`` only)
accumulator    ``rows x L*acc_bits``  the exact input sum of the open timestep
spike queue    ``rows x L+n_bits+1``  spike masks waiting for the serializer during a tick
counters       ``8 x 32``             EVENTS, SPIKES, DROPPED, TICKS at their ``Counter`` index
=============  =====================  ==========================================================

Every memory write port has a granularity of one lane, so a configuration write of one weight
or state value is one masked write, except with ``packed_weights``: the weights then have one
write enable per row, and a weight write reads the row, replaces its lane and writes the row
back (the lanes may then share the block RAM's bytes, see :class:`LIFCore`).

Integrate path: an accepted event on axon ``a`` reads weight row ``a*rows + r`` and accumulator
row ``r`` for ``r = 0 .. rows-1``, one row per cycle, adds lane-wise and writes the sum back a
few cycles later (``pipeline="compact"`` adds in the lanes' input adders of the tick datapath and
writes from their register); the read-after-write hazard of short row counts is resolved by
forwarding.  The next event is taken while the current one issues, so
back-to-back events keep every lane busy: one event costs ``rows`` cycles.

Tick sweep: rows are issued one per cycle into the lane datapath of
:mod:`~spikeforge.rtl.lif_datapath` (the equations of :mod:`spikeforge.golden_model.neuron`),
which writes the new state back, clears the accumulator row and produces a spike mask per row.
Non-empty masks go through a queue (or straight) to a serializer that emits the spiking neuron
indices in ascending order, one per cycle.  The sweep never waits for the serializer; the queue
holds one entry per row at most.
"""

from types import SimpleNamespace

from amaranth import Array, Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from ..golden_model.config import CoreConfig
from . import cfgbus
from .cfgbus import Counter, Op, Param, Space, StateField, Status
from .dsp import PAIR_MAX_BITS, SINGLE_MAX_BITS, MulSubPair, leak_blocks
from .lif_datapath import CUTS, lane_graph, leak_factor, leak_multiplier
from .memory import LaneMemory, weight_bank_depths

__all__ = ["LIFCore", "PIPELINES", "MEMORY_ROLES"]

#: The memories of a core, by role, that ``LIFCore(memories=...)`` places: the weights (with
#: the bias row), the state fields, the spike queue and the counters.
MEMORY_ROLES = ("weights", "v", "i", "ref", "acc", "queue", "counters")

# No read of any memory here depends on a write to the same address in the same cycle: the
# sweep reads and writes different rows, the integrate path forwards the writes its reads
# cannot see (rows <= 2), configuration commands read and write in different cycles, and the
# spike queue reads only entries written earlier.  Telling Yosys so spares the logic it would
# otherwise add to every block RAM to emulate read-before-write (registered write data plus a
# bypass: about 600 logic cells on a 16-lane iCE40 core).  Yosys honours the attribute when it
# folds a register into an asynchronous read port (see ``_sync_read_port``).
#
# Block RAM also for the shallow state memories: as distributed RAM on ECP5 they cost more
# logic and routing than the registers they replace.
_MEM_ATTRS = {"no_rw_check": True, "ram_style": "block"}
_RAM_STYLE = {"bram": "block", "lutram": "distributed"}


class _SyncReadPort:
    """A synchronous read port built from an asynchronous one and a register.

    Behaves like ``Memory.read_port(domain="sync")`` without transparency (``data`` is the row
    at ``addr`` of the previous cycle, held while ``en`` is low), but lets Yosys see the
    register and apply ``no_rw_check`` while it merges it into the block RAM.  The register has
    no reset, like a block RAM output.  With ``registered_addr`` the address is registered
    first (one more cycle of latency).
    """

    def __init__(self, m, mem, name, registered_addr=False):
        self._port = mem.read_port(domain="comb")
        if registered_addr:
            self.addr = Signal.like(self._port.addr, name=f"{name}_raddr")
            m.d.sync += self._port.addr.eq(self.addr)
        else:
            self.addr = self._port.addr
        self.en = Signal(init=1, name=f"{name}_ren")
        self.data = Signal(self._port.data.shape(), reset_less=True, name=f"{name}_rdata")
        with m.If(self.en):
            m.d.sync += self.data.eq(self._port.data)


def _sync_read_port(m, mem, name, registered_addr=False):
    return _SyncReadPort(m, mem, name, registered_addr)


class _LaneReadPort:
    """The read port of a :class:`~.memory.LaneMemory` (SPRAM) with the interface of
    :class:`_SyncReadPort`: flat ``data``, ``en`` high unless driven, optional address
    register."""

    def __init__(self, m, lane_mem, name, registered_addr=False):
        port = lane_mem.read
        if registered_addr:
            self.addr = Signal.like(port.addr, name=f"{name}_raddr")
            m.d.sync += port.addr.eq(self.addr)
        else:
            self.addr = port.addr
        self.en = Signal(init=1, name=f"{name}_ren")
        m.d.comb += port.en.eq(self.en)
        self.data = port.data.as_value()

#: Pipeline variants accepted by :class:`LIFCore`.
PIPELINES = tuple(CUTS)

# Configuration targets, decoded from (space, address).
_T_WEIGHT, _T_V, _T_I, _T_REF, _T_ACC, _T_PARAM, _T_COUNTER = range(7)
_STATE_TARGET = {StateField.MEMBRANE: _T_V, StateField.CURRENT: _T_I,
                 StateField.REFRACTORY: _T_REF, StateField.ACC: _T_ACC}
_MEM_COUNTERS = {"events": Counter.EVENTS, "spikes": Counter.SPIKES,
                 "dropped": Counter.DROPPED, "ticks": Counter.TICKS}
_PARAM_NAME = {Param.THRESHOLD: "threshold", Param.LEAK: "leak",
               Param.CURRENT_LEAK: "current_leak", Param.BIAS_SHIFT: "bias_shift",
               Param.REFRACTORY: "refractory"}


class LIFCore(wiring.Component):
    """Time-multiplexed leaky integrate-and-fire core.

    Parameters
    ----------
    cfg : CoreConfig
        The structure of the core (sizes, widths, modes, lanes).
    pipeline : str
        ``"deep"`` (default): registered memory outputs and a pipeline register after every
        arithmetic step, for high clock rates (ECP5).  ``"compact"``: two pipeline registers
        per lane, for small devices where every register costs a logic cell (iCE40).  Both
        compute the same results; they differ in latency by a few cycles.
    memories : mapping or None
        Where each memory lives, by role (:data:`MEMORY_ROLES`): ``"bram"`` (the default for
        every role left out), ``"lutram"`` (distributed RAM, ECP5) or, for ``"weights"`` only,
        ``"spram"`` (the iCE40 UltraPlus SPRAM bank through :class:`~.memory.LaneMemory`;
        single port, which the core never needs more of: weights are written only by
        configuration commands, which run alone).  :mod:`spikeforge.rtl.placement` chooses
        these per device.
    leak_multipliers : int
        How many lanes (the first ones, ``leak="shift"`` only) compute the membrane leak with a
        multiplier instead of a barrel shifter: two lanes per iCE40 DSP block
        (:class:`~.dsp.MulSubPair`, which also subtracts and registers) up to 8-bit
        membranes, one per block (an inferred 16 x 16 multiplication) up to 15 bits.  Same
        results; about 20 to 25 fewer logic cells a lane.
    weight_bank_rows : int
        ``0`` (default): the weights are one memory, whose read multiplexer (over the rows of
        block RAMs Yosys stacks for its depth) comes before the output register.  A power of
        two (``"deep"`` pipeline, weights in ``"bram"``): the weights are banks of this many
        rows (the rows past the last full bank in smaller banks, each one row of block RAMs
        deep: :func:`~.memory.weight_bank_depths`), each read into a register of its own, and
        the multiplexer comes after those registers, in the next stage.  Same latency and
        results; a block RAM's slow output (ECP5) then drives one register, which the placer
        can put beside it however far the block sits from the core (:mod:`.placement` uses
        the rows of the block RAM tiling).
    packed_weights : bool
        ``False`` (default): the weight memory has a write enable per lane, so Yosys gives
        each lane bytes of its own in the block RAM (ECP5: an 8-bit lane takes a 9-bit byte,
        nine lanes nine blocks of 2048 x 9).  ``True`` (weights in ``"bram"`` or
        ``"lutram"``): one write enable per row, so the lanes share the bytes (nine 8-bit lanes
        in eight blocks); a configuration write of a weight is then a read-modify-write of its
        row, ``RA + R + 1`` cycles longer.  Same results.

    Members
    -------
    events : ``In(stream.Signature(unsigned(cfg.axon_bits)))``
        Input events, one axon index per transfer, integrated into the open timestep.  Ready
        is low during a tick and during a configuration command: an event offered then is
        integrated after the tick, into the next timestep.  Events beyond ``cfg.max_events``
        in one timestep, and axon indices ``>= cfg.axons``, are accepted and dropped (counted
        in :attr:`Counter.DROPPED`), so the accumulator sum stays exact.
    spikes : ``Out(stream.Signature(unsigned(cfg.neuron_bits)))``
        Index of every neuron that fires, in ascending order during the tick sweep.
        Back-pressure stalls the serializer; nothing is lost or doubled.
    tick : ``In(stream.Signature(0))``
        A transfer ticks the open timestep.  Ready only while idle.
    done : ``Out(1)``
        One-cycle pulse after the sweep has finished and its last spike has been transferred.
    busy : ``Out(1)``
        High while integrating, ticking or executing a configuration command.
    cfg : ``In(stream.Signature(cfgbus.Command))``
        Configuration commands (:mod:`~spikeforge.rtl.cfgbus`), taken only while idle.
    rsp : ``Out(stream.Signature(cfgbus.Response))``
        Exactly one response per command.  A write with an unknown address answers
        ``BAD_ADDR``, one whose value is outside :func:`cfgbus.field_range` ``BAD_VALUE``;
        both change nothing.

    When an event, a tick and a command are offered in the same idle cycle, the event is taken
    first, then the tick, then the command: an event offered no later than a tick belongs to
    the tick's timestep.
    """

    def __init__(self, cfg, *, pipeline="deep", memories=None, leak_multipliers=0,
                 weight_bank_rows=0, packed_weights=False):
        # A refused core is not an elaboratable left unused: no UnusedElaboratable warning.
        self._MustUse__used = True
        if not isinstance(cfg, CoreConfig):
            raise TypeError(f"LIFCore: cfg must be a spikeforge CoreConfig, not {cfg!r}")
        if pipeline not in CUTS:
            raise ValueError(f"LIFCore: pipeline must be one of "
                             f"{', '.join(map(repr, CUTS))}, not {pipeline!r}")
        memories = dict(memories or {})
        for role, kind in memories.items():
            if role not in MEMORY_ROLES:
                self._MustUse__used = True
                raise ValueError(f"LIFCore: memories: role must be one of "
                                 f"{', '.join(MEMORY_ROLES)}, not {role!r}")
            allowed = ("bram", "lutram", "spram") if role == "weights" else ("bram", "lutram")
            if kind not in allowed:
                self._MustUse__used = True
                raise ValueError(f"LIFCore: memories[{role!r}]: expected one of "
                                 f"{', '.join(allowed)}, not {kind!r}")
        if not (isinstance(leak_multipliers, int) and 0 <= leak_multipliers <= cfg.lanes):
            raise ValueError(f"LIFCore: leak_multipliers: expected an int from 0 to lanes "
                             f"({cfg.lanes}), not {leak_multipliers!r}")
        if leak_multipliers and cfg.leak == "shift" and cfg.membrane_bits > SINGLE_MAX_BITS:
            raise ValueError(f"LIFCore: leak_multipliers: membrane_bits must be at most "
                             f"{SINGLE_MAX_BITS} to multiply the leak, not "
                             f"{cfg.membrane_bits}")
        if leak_multipliers and cfg.leak != "shift":
            raise ValueError(f"LIFCore: leak_multipliers: only with leak='shift' (the 'mult' "
                             f"leak is a multiplication already), not with {cfg.leak!r}")
        if weight_bank_rows:
            if not (isinstance(weight_bank_rows, int) and weight_bank_rows > 0
                    and weight_bank_rows & (weight_bank_rows - 1) == 0):
                raise ValueError(f"LIFCore: weight_bank_rows: expected 0 or a power of two, "
                                 f"not {weight_bank_rows!r}")
            if pipeline != "deep" or memories.get("weights", "bram") != "bram":
                raise ValueError(f"LIFCore: weight_bank_rows: needs pipeline 'deep' and the "
                                 f"weights in 'bram', not pipeline {pipeline!r} and weights "
                                 f"in {memories.get('weights', 'bram')!r}")
        if not isinstance(packed_weights, bool):
            raise TypeError(f"LIFCore: packed_weights: expected a bool, not {packed_weights!r}")
        if packed_weights and memories.get("weights", "bram") == "spram":
            raise ValueError("LIFCore: packed_weights: needs the weights in 'bram' or "
                             "'lutram', not in 'spram' (its write mask is per nibble)")
        self._MustUse__used = False
        self._weight_bank_rows = weight_bank_rows
        self._packed_weights = packed_weights
        self._leak_multipliers = leak_multipliers
        self._config = cfg
        self._pipeline = pipeline
        self._memories = {role: memories.get(role, "bram") for role in MEMORY_ROLES}
        self._graph = lane_graph(cfg, _param_signals(cfg), CUTS[pipeline],
                                 share_sum=self._share_sum)
        super().__init__({
            "events": In(stream.Signature(unsigned(cfg.axon_bits))),
            "spikes": Out(stream.Signature(unsigned(cfg.neuron_bits))),
            "tick": In(stream.Signature(0)),
            "done": Out(1),
            "busy": Out(1),
            "cfg": In(stream.Signature(cfgbus.Command)),
            "rsp": Out(stream.Signature(cfgbus.Response)),
        })

    @property
    def _share_sum(self):
        # Compact pipeline: the integrate path adds through the lanes' input adder (the
        # weight and the bias come from the same read port; the bias shift is zero outside a
        # tick).  The deep pipeline registers the shifted bias first, so it keeps its own.
        cuts = CUTS[self._pipeline]
        return not (cuts.memory or cuts.shift or self._config.cuba)

    @property
    def config(self):
        """The :class:`CoreConfig` the core was built for."""
        return self._config

    @property
    def pipeline(self):
        """The pipeline variant, ``"deep"`` or ``"compact"``."""
        return self._pipeline

    @property
    def memories(self):
        """Where each memory lives: ``{role: kind}`` for every role of :data:`MEMORY_ROLES`."""
        return dict(self._memories)

    @property
    def packed_weights(self):
        """Whether the weight memory is written a row at a time (read-modify-write)."""
        return self._packed_weights

    @property
    def leak_multipliers(self):
        """How many lanes (the first ones) compute the membrane leak with a multiplier."""
        return self._leak_multipliers

    @property
    def leak_dsps(self):
        """DSP blocks the multiplier lanes take (:func:`~.dsp.leak_blocks`)."""
        return leak_blocks(self._config, self._leak_multipliers)

    @property
    def tick_latency(self):
        """Cycles from the issue of a row to the write-back of its membrane."""
        return 1 + 2 * CUTS[self._pipeline].memory + self._graph.ready["v"]

    def elaborate(self, platform):
        m = Module()
        c = self._config
        N, A, L, rows = c.neurons, c.axons, c.lanes, c.rows
        W, V, ACC = c.weight_bits, c.membrane_bits, c.acc_bits
        cuts = CUTS[self._pipeline]
        # A read address presented in cycle x reaches the block RAM in x + RA (deep: registered
        # read addresses, which fan out to every block of a wide memory), its data leaves the
        # block in x + RA + 1 and, registered (deep), is used in x + RA + 1 + R.
        RA = R = int(cuts.memory)
        LAT = 1 + RA + R
        share = self._share_sum
        S = LAT                       # integrate: cycle of the sum, after the read
        # The write-back cycle: a shared adder's sum is written from the lanes' input register
        # (a logic cell each way: the register is packed with the adder that feeds it).
        D = S + 1 if share else S
        H = D - RA                    # accumulator writes a read cannot see: forwarded
        rb = max(1, ceil_log2(rows))
        nb = c.neuron_bits
        wdepth = (A + 1) * rows
        l_pow2 = L & (L - 1) == 0
        widths = {"v": V, "acc": ACC}
        if c.cuba:
            widths["i"] = c.current_bits
        if c.refractory_bits:
            widths["ref"] = c.refractory_bits

        # -- parameter registers and counters ----------------------------------------------
        prm = _param_signals(c)
        tick_mode = Signal()
        lane_prm = dict(prm)
        if share:
            # bias_shift during a tick, zero otherwise (parameters change only outside ticks);
            # a register, as the shift of every lane depends on it.
            bias_shift = Signal.like(prm["bias_shift"], name="bias_shift_eff")
            lane_prm["bias_shift"] = bias_shift
        graph = lane_graph(c, lane_prm, cuts, share_sum=share)
        mul_graph, hooks = None, [None] * L
        n_mul = self._leak_multipliers
        if n_mul and V <= PAIR_MAX_BITS:
            # Two lanes a DSP block (8 x 8 halves): the block computes and registers
            # v * 2**V + 2**V - 1 - v * 2**(V - k) (see leak_multiplier).  The multiplier comes
            # from the leak register (a command's write reaches it one cycle later; no tick
            # starts that soon).
            mult = Signal(8, name="leak_m")
            m.d.sync += mult.eq(leak_multiplier(c, prm["leak"]))
            mul_graph = lane_graph(c, lane_prm, cuts, share_sum=share, leak_product=True)
            ones = Const((1 << V) - 1, V)
            for j in range(0, n_mul, 2):
                pair = m.submodules[f"leak_dsp{j // 2}"] = MulSubPair()
                m.d.comb += [pair.b0.eq(mult), pair.b1.eq(mult)]
                halves = ((pair.a0, pair.c0, pair.z0), (pair.a1, pair.c1, pair.z1))
                for h, (a, cc, z) in enumerate(halves):
                    if j + h < n_mul:
                        hooks[j + h] = {"leak_decay": lambda x, a=a, cc=cc, z=z: _drive(
                            m, [a.eq(x), cc.eq(Cat(ones, x).as_signed())], z)}
        elif n_mul:
            # One lane a block (16 x 16): the factor -M folds the subtractor in (see
            # leak_factor).
            factor = Signal(signed(V + 1), name="leak_factor")
            m.d.sync += factor.eq(leak_factor(c, prm["leak"]))
            mul_graph = lane_graph(c, lane_prm, cuts, share_sum=share, leak_mul=factor)
        if mul_graph is not None:
            assert (mul_graph.arrival, mul_graph.ready) == (graph.arrival, graph.ready)
        # SOPS counts in a register; the other counters live in a small block RAM (see
        # "counters" below).  ctr_inc: which of them counts up in this cycle (at most one).
        ctr = {"sops": Signal(cfgbus.COUNTER_BITS, name="ctr_sops")}
        ctr_inc = {name: Signal(name=f"inc_{name}") for name in _MEM_COUNTERS}

        # -- memories ----------------------------------------------------------------------
        # Packed weights: one write enable for the whole row (see packed_weights).
        packed = self._packed_weights

        def granularity(role, width):
            return L * width if packed and role == "weights" else width

        def memory(name, role, width, depth):
            kind = self._memories[role]
            if kind == "spram":
                mem = LaneMemory(lanes=L, shape=unsigned(width), depth=depth, kind="spram")
                m.submodules[name] = mem
                rd, wr = _LaneReadPort(m, mem, name, registered_addr=bool(RA)), mem.write
            else:
                mem = Memory(shape=unsigned(L * width), depth=depth, init=[],
                             attrs={**_MEM_ATTRS, "ram_style": _RAM_STYLE[kind]})
                m.submodules[name] = mem
                rd, wr = _sync_read_port(m, mem, name, registered_addr=bool(RA)), \
                    mem.write_port(granularity=granularity(role, width))
            if R:
                q = Signal(L * width, name=f"{name}_q")
                m.d.sync += q.eq(rd.data)
            else:
                q = rd.data
            return rd, wr, q

        def banked(name, width, depth, bank):
            """Banks of ``bank`` rows (deep pipeline, block RAM): each bank's row is
            registered, and the multiplexer picks the registered row of the bank read."""
            # Read always enabled: the core never holds the weights' read port.
            rd = SimpleNamespace(addr=Signal(range(depth), name=f"{name}_addr"))
            wr = SimpleNamespace(addr=Signal(range(depth), name=f"{name}_waddr"),
                                 data=Signal(L * width, name=f"{name}_wdata"),
                                 en=Signal(1 if packed else L, name=f"{name}_wen"))
            # Full banks, then the rows left over in banks that are each one row of blocks
            # deep (weight_bank_depths): bank k holds rows start..start + size - 1, and start
            # is a multiple of size rounded up to a power of two.
            # The tiling Yosys gives each bank: a byte a lane, or the row's bits (packed).
            sizes = weight_bank_depths(depth, bank, L * width, None if packed else width)
            starts = [sum(sizes[:k]) for k in range(len(sizes))]
            n = len(sizes)

            def hit(addr, k):
                ab = ceil_log2(sizes[k])
                return addr[ab:] == starts[k] >> ab

            # The bank read follows the row: with the address (RA), on the block RAM's
            # output, and with the registered rows (R).
            sel = [Signal(range(n), name=f"{name}_sel{k}") for k in range(4)]
            for k in range(1, n):
                with m.If(hit(rd.addr, k)):
                    m.d.comb += sel[0].eq(k)
            m.d.sync += [sel[k].eq(sel[k - 1]) for k in range(1, 4)]
            rows_q = []
            for k in range(n):
                ab = ceil_log2(sizes[k])
                mem = Memory(shape=unsigned(L * width), depth=sizes[k], init=[],
                             attrs=_MEM_ATTRS)
                m.submodules[f"{name}_bank{k}"] = mem
                port = _sync_read_port(m, mem, f"{name}_bank{k}", registered_addr=True)
                w = mem.write_port(granularity=granularity("weights", width))
                m.d.comb += [port.addr.eq(rd.addr[:ab]),
                             w.addr.eq(wr.addr[:ab]), w.data.eq(wr.data),
                             w.en.eq(Mux(hit(wr.addr, k), wr.en, 0))]
                q = Signal(L * width, name=f"{name}_bank{k}_q")
                m.d.sync += q.eq(port.data)
                rows_q.append(q)
            return rd, wr, Array(rows_q)[sel[3]]

        bank = self._weight_bank_rows
        if bank and wdepth > bank:
            w_rd, w_wr, w_q = banked("weights", W, wdepth, bank)
        else:
            w_rd, w_wr, w_q = memory("weights", "weights", W, wdepth)
        mems = {f: memory(f"mem_{f}", f, b, rows) for f, b in widths.items()}

        def lanes(word, width, signed_=True):
            out = [word[k * width:(k + 1) * width] for k in range(L)]
            return [x.as_signed() for x in out] if signed_ else out

        # -- mode --------------------------------------------------------------------------
        cfg_mode = Signal()
        integrating = Signal()
        idle = ~tick_mode & ~cfg_mode & ~integrating
        m.d.comb += self.busy.eq(~idle)

        # -- integrate ---------------------------------------------------------------------
        pend_valid = Signal()
        pend_base = Signal(range(wdepth))
        act = Signal()                        # issuing the rows of an event
        irow = Signal(rb)
        waddr = Signal(range(wdepth))
        # irow == rows - 1, registered: the event stream's ready depends on it.
        last = Signal(init=rows == 1)
        pend_take = pend_valid & (~act | last)
        ev_count = Signal(range(c.max_events + 1))
        ev_full = ev_count[-1]                # max_events is a power of two
        iv = [act] + [Signal(name=f"iv{k}") for k in range(1, D + 1)]
        ir = [irow] + [Signal(rb, name=f"ir{k}") for k in range(1, D + 1)]
        for k in range(1, D + 1):
            m.d.sync += [iv[k].eq(iv[k - 1]), ir[k].eq(ir[k - 1])]
        # integrating == pend_valid | any(iv), as a register: the ready of every input stream
        # depends on it.
        ev_take = Signal()
        m.d.sync += integrating.eq(ev_take | pend_valid | Cat(*iv[:D]).any())

        # With two rows or more, `pend` refills (ready the cycle after a take, full the cycle
        # after that) by the last row of the event in flight, so ready can leave out the
        # same-cycle take (a LUT chain through the feeding router) without a gap between events.
        take_now = pend_take if rows == 1 else 0
        m.d.comb += self.events.ready.eq(~tick_mode & ~cfg_mode & (~pend_valid | take_now))
        ev_fire = self.events.valid & self.events.ready
        axon = self.events.payload
        axon_ok = (axon < A) if A < (1 << c.axon_bits) else 1
        m.d.comb += ev_take.eq(ev_fire & axon_ok & ~ev_full)
        with m.If(ev_take):
            # An accepted event is N synaptic operations; counted at once, they are read only
            # when the core is idle.
            m.d.sync += [pend_valid.eq(1), pend_base.eq(axon * rows),
                         ev_count.eq(ev_count + 1), ctr["sops"].eq(ctr["sops"] + N)]
            m.d.comb += ctr_inc["events"].eq(1)
        with m.Else():
            with m.If(pend_take):
                m.d.sync += pend_valid.eq(0)
            with m.If(ev_fire):
                m.d.comb += ctr_inc["dropped"].eq(1)

        with m.If(act):
            m.d.sync += [irow.eq(irow + 1), waddr.eq(waddr + 1), last.eq(irow == rows - 2)]
            with m.If(last):
                m.d.sync += [irow.eq(0), act.eq(pend_valid), waddr.eq(pend_base),
                             last.eq(rows == 1)]
        with m.Elif(pend_valid):
            m.d.sync += [act.eq(1), irow.eq(0), waddr.eq(pend_base), last.eq(rows == 1)]

        acc_rd, acc_wr, acc_q = mems["acc"]
        acc_in = acc_q
        if share:
            sums = Signal(L * ACC)        # the lanes' input registers, valid in cycle D
        else:
            sums = Signal(L * ACC)        # combinational, in cycle S == D
        if rows <= H:
            # Forward the accumulator writes the read used in cycle S could not see yet: the
            # sums of the H cycles before; the newest one wins.  (With rows > H every row is
            # re-read after its write-back.)
            hv = [Signal(name=f"fwd_v{k}") for k in range(H)]
            hr = [Signal(rb, name=f"fwd_r{k}") for k in range(H)]
            hd = [Signal(L * ACC, name=f"fwd_d{k}") for k in range(H)]
            if share:
                m.d.comb += [hv[0].eq(iv[D]), hr[0].eq(ir[D]), hd[0].eq(sums)]
            else:
                m.d.sync += [hv[0].eq(iv[S]), hr[0].eq(ir[S]), hd[0].eq(sums)]
            for k in range(1, H):
                m.d.sync += [hv[k].eq(hv[k - 1]), hr[k].eq(hr[k - 1]), hd[k].eq(hd[k - 1])]
            for k in reversed(range(H)):
                acc_in = Mux(hv[k] & (hr[k] == ir[S]), hd[k], acc_in)
        if not share:
            m.d.comb += sums.eq(Cat(*((a + w)[:ACC]
                                      for a, w in zip(lanes(acc_in, ACC), lanes(w_q, W)))))

        # -- tick sweep --------------------------------------------------------------------
        tiss = Signal()
        trow = Signal(rb)
        arrival = graph.arrival
        ready = {f: LAT + t for f, t in graph.ready.items()}
        clear_at = arrival["acc"] + RA + 1    # accumulator row cleared after its last read
        depth = max(max(ready.values()), clear_at)
        tv = [tiss] + [Signal(name=f"tv{k}") for k in range(1, depth + 1)]
        tr = [trow] + [Signal(rb, name=f"tr{k}") for k in range(1, depth + 1)]
        for k in range(1, depth + 1):
            m.d.sync += [tv[k].eq(tv[k - 1]), tr[k].eq(tr[k - 1])]
        with m.If(tiss):
            m.d.sync += trow.eq(trow + 1)
            with m.If(trow == rows - 1):
                m.d.sync += [tiss.eq(0), trow.eq(0)]

        # acc_in differs from acc_q only while integrating (forwarded rows).
        lane_in = {"v": lanes(mems["v"][2], V), "acc": lanes(acc_in if share else acc_q, ACC),
                   "bias": lanes(w_q, W)}
        if c.cuba:
            lane_in["i"] = lanes(mems["i"][2], c.current_bits)
        if c.refractory_bits:
            lane_in["ref"] = lanes(mems["ref"][2], c.refractory_bits, signed_=False)
        outs = [(mul_graph if n < n_mul else graph).build(
                    m, {k: v[n] for k, v in lane_in.items()}, prefix=f"l{n}_", hooks=hooks[n])
                for n in range(L)]
        if share:
            assert ready["sum"] == D
            m.d.comb += sums.eq(Cat(*(o["sum"][:ACC] for o in outs)))

        # -- configuration: decode ---------------------------------------------------------
        # A command is registered as it is taken and decoded in the next cycle; the decoded
        # fields are kept beside it.  The value is checked against every field's range at once,
        # beside the address decoder rather than after it.
        cmd_q = Signal(cfgbus.Command)
        is_write = Signal()
        data = cmd_q.data             # held until the response is taken
        ok = Signal()                 # the address exists
        tgt = Signal(range(7))
        sub = Signal(3)               # Param or Counter index
        # One range check per field and a one-hot of the field addressed, both registered as
        # the command is taken (side by side, from the payload): vok is a small AND-OR.
        vflags = {key: Signal(name=f"vok_{key[0]}_{key[1]}") for key in self._value_checks()}
        vsel = {key: Signal(name=f"vsel_{key[0]}_{key[1]}") for key in vflags}
        is_counter = Signal()
        vok = Signal()
        m.d.comb += vok.eq(is_counter | Cat(*(vsel[k] & vflags[k] for k in vflags)).any())
        off = Signal(range(wdepth * L))   # weight index a*N + n, or neuron n
        if l_pow2:
            lb = ceil_log2(L)
            maddr, lane = off[lb:], off[:lb]
        else:
            qb = ceil_log2(wdepth)
            maddr = Signal(max(1, qb))
            lane = Signal(range(L))
            dsor = Signal(len(off) + qb)
            div_n = Signal(range(qb + 1))
        cfg_row = maddr[:rb]
        # Memory write enables of a command come from registers: which target an accepted
        # write hits is registered in its execute cycle (marked by exec_now) from the decoded
        # fields, and the memories are written in the cycle after (exec_wr), off the path
        # from the command payload through the decoder.
        wr_hit = Signal(7)
        exec_now = Signal()
        exec_wr = Signal()
        m.d.sync += [exec_now.eq(0), exec_wr.eq(exec_now),
                     wr_hit.eq(Mux(ok & vok & is_write, 1 << tgt, 0))]

        def cfg_we(target):
            return exec_wr & wr_hit[target]
        # The lane's one-hot, registered: lane is set in the cycle before a command executes,
        # its write enables and read-back selection are used later.
        onehot = Signal(L)
        m.d.sync += onehot.eq(1 << lane)

        # -- memory ports ------------------------------------------------------------------
        m.d.comb += w_rd.addr.eq(Mux(tick_mode, A * rows + tr[arrival["bias"]],
                                     Mux(cfg_mode, maddr, waddr)))
        if self._memories["weights"] == "spram":
            # One port: the bank's address is a multiplexer between the read and the write
            # address, switched by the write enables.  A command writes the row the read port
            # already addresses (maddr), so giving both the same address leaves the bank
            # select off the path from the enables.
            w_waddr = m.submodules["weights"].read.addr
        else:
            w_waddr = maddr
        # Packed weights: the row read for the command (on w_q while the MERGE state waits)
        # with the lane replaced, registered, then written whole from registers.
        merge_we = Signal()
        if packed:
            merged = Signal(L * W, name="weights_merged")
            m.d.sync += [merge_we.eq(0), merged.eq(Cat(
                Mux(onehot[k], data[:W], w_q[k * W:(k + 1) * W]) for k in range(L)))]
            m.d.comb += [w_wr.addr.eq(w_waddr), w_wr.data.eq(merged), w_wr.en.eq(merge_we)]
        else:
            m.d.comb += [w_wr.addr.eq(w_waddr), w_wr.data.eq(Cat(*[data[:W]] * L)),
                         w_wr.en.eq(Mux(cfg_we(_T_WEIGHT), onehot, 0))]
        for f, b in widths.items():
            rd, wr, _ = mems[f]
            if f == "acc":
                m.d.comb += rd.addr.eq(Mux(tick_mode, tr[arrival["acc"]],
                                           Mux(cfg_mode, cfg_row, irow)))
                cfg_hit = cfg_we(_T_ACC)
                with m.If(tick_mode):
                    m.d.comb += [wr.addr.eq(tr[clear_at]), wr.data.eq(0),
                                 wr.en.eq(Mux(tv[clear_at], -1, 0))]
                with m.Elif(cfg_mode):
                    m.d.comb += [wr.addr.eq(cfg_row), wr.data.eq(Cat(*[data[:b]] * L)),
                                 wr.en.eq(Mux(cfg_hit, onehot, 0))]
                with m.Else():
                    m.d.comb += [wr.addr.eq(ir[D]), wr.data.eq(sums),
                                 wr.en.eq(Mux(iv[D], -1, 0))]
                continue
            t = ready[f]
            target = {"v": _T_V, "i": _T_I, "ref": _T_REF}[f]
            m.d.comb += rd.addr.eq(Mux(tick_mode, tr[arrival[f]], cfg_row))
            with m.If(tick_mode):
                m.d.comb += [wr.addr.eq(tr[t]), wr.data.eq(Cat(*(o[f][:b] for o in outs))),
                             wr.en.eq(Mux(tv[t], -1, 0))]
            with m.Else():
                m.d.comb += [wr.addr.eq(cfg_row), wr.data.eq(Cat(*[data[:b]] * L)),
                             wr.en.eq(Mux(cfg_we(target), onehot, 0))]

        # -- spike queue and serializer ----------------------------------------------------
        # The spike mask of a row is registered before it meets the queue control: the compare
        # that produces it is the end of the longest path of the sweep.
        ts = ready["spike"]
        mask = Signal(L)
        mask_valid = Signal()
        mask_row = Signal(rb)
        m.d.sync += [mask.eq(Cat(*(o["spike"] for o in outs))), mask_valid.eq(tv[ts]),
                     mask_row.eq(tr[ts])]
        push = Signal()
        push_base = Signal(nb)
        m.d.comb += [push.eq(mask_valid & mask.any()), push_base.eq(_times(mask_row, L))]
        # Queue entry: mask, neuron base, and whether the mask has a single bit (computed here,
        # from a register, rather than after the slow block RAM output).
        queue = Memory(shape=unsigned(L + nb + 1), depth=rows, init=[],
                       attrs={**_MEM_ATTRS, "ram_style": _RAM_STYLE[self._memories["queue"]]})
        m.submodules.spike_queue = queue
        q_wr, q_rd = queue.write_port(), _sync_read_port(m, queue, "spike_queue")
        wptr = Signal(range(rows + 1))
        rptr = Signal(range(rows + 1))
        rd_valid = Signal()
        head_valid = Signal()
        head_mask = Signal(L)
        head_base = Signal(nb)
        head_one = Signal()           # head_mask has one bit left: its transfer frees the head
        low = Signal(range(L))
        for k in reversed(range(L)):
            with m.If(head_mask[k]):
                m.d.comb += low.eq(k)
        m.d.comb += [self.spikes.valid.eq(head_valid),
                     self.spikes.payload.eq(head_base | low if l_pow2 else head_base + low)]
        xfer = self.spikes.valid & self.spikes.ready
        rest = head_mask & (head_mask - 1)
        head_free = ~head_valid | (xfer & head_one)
        # Queue writes go through a register (the block RAM data input is slow to reach on
        # ECP5); an entry counts as queued once written.
        wq_valid = Signal()
        wq_data = Signal(L + nb + 1)
        # Whether the queue is empty (wptr == rptr), kept as a register beside the count of
        # entries: the head's control depends on it, and a compare of the pointers there was
        # the longest path of the iCE40 core.
        q_empty = Signal(init=1)
        q_n = Signal(range(rows + 1))
        # rd_valid: q_data holds the next entry.  Deep pipeline, the block RAM's output is
        # registered first (s1_valid: an entry is on it): an unregistered ECP5 block RAM
        # output has no time left for the head's multiplexers.
        if R:
            s1_valid = Signal()
            q_data = Signal(L + nb + 1, name="spike_queue_q")
            reading = s1_valid | rd_valid
        else:
            q_data = q_rd.data
            reading = rd_valid
        take = head_free & rd_valid
        bypass = head_free & ~reading & q_empty & ~wq_valid & push
        with m.If(take):
            m.d.sync += [head_valid.eq(1), head_mask.eq(q_data[:L]),
                         head_base.eq(q_data[L:L + nb]), head_one.eq(q_data[-1])]
        with m.Elif(bypass):
            m.d.sync += [head_valid.eq(1), head_mask.eq(mask), head_base.eq(push_base),
                         head_one.eq(_single(mask))]
        with m.Elif(xfer):
            m.d.sync += [head_mask.eq(rest), head_valid.eq(~head_one),
                         head_one.eq(_at_most_two(head_mask))]
        m.d.sync += [wq_valid.eq(push & ~bypass),
                     wq_data.eq(Cat(mask, push_base, _single(mask)))]
        m.d.comb += [q_wr.addr.eq(wptr), q_wr.data.eq(wq_data), q_wr.en.eq(wq_valid)]
        with m.If(wq_valid):
            m.d.sync += wptr.eq(wptr + 1)
        if R:
            advance = s1_valid & (~rd_valid | take)
            issue = ~q_empty & (~s1_valid | advance)
            with m.If(advance):
                m.d.sync += [q_data.eq(q_rd.data), rd_valid.eq(1)]
            with m.Elif(take):
                m.d.sync += rd_valid.eq(0)
            with m.If(issue):
                m.d.sync += s1_valid.eq(1)
            with m.Elif(advance):
                m.d.sync += s1_valid.eq(0)
        else:
            issue = ~q_empty & (~rd_valid | take)
            with m.If(issue):
                m.d.sync += rd_valid.eq(1)
            with m.Elif(take):
                m.d.sync += rd_valid.eq(0)
        m.d.comb += [q_rd.addr.eq(rptr), q_rd.en.eq(issue)]
        with m.If(wq_valid & ~issue):
            m.d.sync += [q_n.eq(q_n + 1), q_empty.eq(0)]
        with m.Elif(issue & ~wq_valid):
            m.d.sync += [q_n.eq(q_n - 1), q_empty.eq(q_n == 1)]
        with m.If(issue):
            m.d.sync += rptr.eq(rptr + 1)
        with m.If(xfer):
            m.d.comb += ctr_inc["spikes"].eq(1)

        # -- tick control ------------------------------------------------------------------
        m.d.comb += self.tick.ready.eq(idle & ~self.events.valid)
        with m.If(self.tick.valid & self.tick.ready):
            m.d.sync += [tick_mode.eq(1), tiss.eq(1), ev_count.eq(0)]
        # Few registers wait on the tick handshake (it is a long path): trow is back to 0 when
        # a sweep's last row issues, the queue is empty when a tick ends (q_n 0, q_empty set),
        # and its pointers return to 0 while no tick runs.
        with m.If(~tick_mode):
            m.d.sync += [wptr.eq(0), rptr.eq(0)]
        finished = (tick_mode & ~Cat(*tv).any() & ~mask_valid & ~wq_valid & q_empty
                    & ~reading & ~head_valid)
        m.d.comb += self.done.eq(finished)
        if share:
            with m.If(self.tick.valid & self.tick.ready):
                m.d.sync += bias_shift.eq(prm["bias_shift"])
            with m.If(finished):
                m.d.sync += bias_shift.eq(0)
        with m.If(finished):
            m.d.sync += tick_mode.eq(0)
            m.d.comb += ctr_inc["ticks"].eq(1)

        # -- counters ----------------------------------------------------------------------
        # EVENTS, SPIKES, DROPPED and TICKS at their Counter index in a block RAM: at most one of
        # them counts up per cycle (events and the spike serializer never run together), so a
        # read-modify-write pipeline with one incrementer serves them all, instead of four
        # 32-bit registers, incrementers and a read multiplexer (about 450 iCE40 logic cells).
        # A request (cycle t) is registered (stage 1: read address), its entry leaves the block
        # RAM in stage 2 and, deep pipeline, is registered once more (stage 3: an unregistered
        # ECP5 block RAM output has no time left for a 32-bit carry chain).  The increment is
        # computed in stage CS = 2 + R into a register and written back from it in the next
        # cycle (a write straight from the incrementer costs the iCE40 core about 3 MHz for 40
        # logic cells).  The read of a request cannot see the writes of the F = CS requests
        # computed just before it: their values are forwarded from the registers f_val.
        # c_live marks the entries written since reset: the others read as zero, so reset
        # clears them all.  A command writes a counter two cycles after its execute cycle and
        # reads it later than other targets: every request made before the command was taken
        # has been written back.
        CB = cfgbus.COUNTER_BITS
        CS = 2 + R
        F = CS
        cmem = Memory(shape=CB, depth=8, init=[],
                      attrs={**_MEM_ATTRS, "ram_style": _RAM_STYLE[self._memories["counters"]]})
        m.submodules.counters = cmem
        c_rd, c_wr = _sync_read_port(m, cmem, "counters"), cmem.write_port()
        if R:
            c_data = Signal(CB, name="counters_q")
            m.d.sync += c_data.eq(c_rd.data)
        else:
            c_data = c_rd.data
        c_live = Signal(8)
        # c_req[k], c_idx[k]: the request in stage k.
        last = CS + F - 1
        c_req = [None] + [Signal(name=f"c_req{k}") for k in range(1, last + 1)]
        c_idx = [None] + [Signal(3, name=f"c_idx{k}") for k in range(1, last + 1)]
        f_val = [Signal(CB, name=f"f_val{k}") for k in range(F)]   # results, newest first
        with m.Switch(Cat(*ctr_inc.values())):
            for k, name in enumerate(ctr_inc):
                with m.Case(1 << k):
                    m.d.sync += c_idx[1].eq(_MEM_COUNTERS[name])
        m.d.sync += c_req[1].eq(Cat(*ctr_inc.values()).any())
        for k in range(2, last + 1):
            m.d.sync += [c_req[k].eq(c_req[k - 1]), c_idx[k].eq(c_idx[k - 1])]
        m.d.comb += c_rd.addr.eq(Mux(cfg_mode, sub, c_idx[1]))
        # Where the entry of the next increment comes from, registered one stage ahead: one
        # LUT between the entry and the incrementer's carry chain.  hit[j]: the request
        # computed j + 1 cycles before has the same index.
        hit = [Signal(name=f"c_hit{j}") for j in range(F)]
        live = Signal()
        m.d.sync += [h.eq(c_req[CS + j] & (c_idx[CS + j] == c_idx[CS - 1]))
                     for j, h in enumerate(hit)]
        m.d.sync += live.eq(c_live.bit_select(c_idx[CS - 1], 1))
        new = Mux(live, c_data, 0)
        for j in reversed(range(F)):
            new = Mux(hit[j], f_val[j], new)
        m.d.sync += f_val[0].eq((new + 1)[:CB])     # counters count modulo 2**32
        m.d.sync += [f_val[k].eq(f_val[k - 1]) for k in range(1, F)]
        with m.If(c_req[2]):
            m.d.sync += c_live.bit_select(c_idx[2], 1).eq(1)
        exec_d = Signal()
        m.d.sync += exec_d.eq(cfg_we(_T_COUNTER))
        c_cfg_we = exec_d & (sub != Counter.SOPS)
        with m.If(c_req[CS + 1]):
            m.d.comb += [c_wr.addr.eq(c_idx[CS + 1]), c_wr.data.eq(f_val[0]), c_wr.en.eq(1)]
        with m.Else():
            m.d.comb += [c_wr.addr.eq(sub), c_wr.data.eq(data), c_wr.en.eq(c_cfg_we)]
            with m.If(c_cfg_we):
                m.d.sync += c_live.bit_select(sub, 1).eq(1)

        # -- configuration: read-back value ------------------------------------------------
        # Each source's lane is picked by an AND-OR with a registered one-hot of the lane that
        # is also gated by the target (zero unless the command reads that source): a LUT
        # covers two lanes of a bit, and the sources then meet in a plain OR, with no
        # multiplexer decoding the target register in front of every bit of the response.
        # The OR over a group of 4 lanes is registered before the sources meet (the read waits
        # one cycle for it), with a deep pipeline after each group: no path crosses a 32-input
        # OR.
        sources = {_T_WEIGHT: (w_q, W, True)}
        for f, b in widths.items():
            target = {"v": _T_V, "i": _T_I, "ref": _T_REF, "acc": _T_ACC}[f]
            sources[target] = (mems[f][2], b, f != "ref")
        # Set in the same cycle as onehot, from the same lane.
        rsel = {t: Signal(L, name=f"rsel{t}") for t in sources}
        m.d.sync += [s.eq(Mux(tgt == t, 1 << lane, 0)) for t, s in rsel.items()]
        psel, csel = Signal(), Signal()
        m.d.sync += [psel.eq(tgt == _T_PARAM), csel.eq(is_counter)]
        picked = 0
        for target, (word, b, sgn) in sources.items():
            value = 0
            for g in range(0, L, 4):
                part = 0
                for k in range(g, min(L, g + 4)):
                    part = part | (word[k * b:(k + 1) * b] & rsel[target][k].replicate(b))
                if R:
                    r = Signal(b, name=f"rd{target}_g{g // 4}")
                    m.d.sync += r.eq(part)
                    part = r
                value = value | part
            if not R:
                r = Signal(b, name=f"rd{target}")
                m.d.sync += r.eq(value)
                value = r
            value = Value.cast(value)
            picked = picked | (value.as_signed() if sgn else value)
        param = Signal(signed(cfgbus.DATA_BITS))
        with m.Switch(sub):
            for p, name in _PARAM_NAME.items():
                with m.Case(p):
                    m.d.comb += param.eq(prm[name])
        counter = Signal(signed(cfgbus.DATA_BITS))
        m.d.comb += counter.eq(Mux(sub == Counter.SOPS, ctr["sops"],
                                   Mux(c_live.bit_select(sub, 1), c_data, 0)))
        # Every source but the one addressed is zero; the OR sign-extends each to 32 bits.
        lsel = Signal(signed(cfgbus.DATA_BITS))
        m.d.sync += lsel.eq(picked | Mux(psel, param, 0) | Mux(csel, counter, 0))

        # -- configuration: command sequencer ----------------------------------------------
        rsp_status = Signal(Status)
        rsp_data = Signal(signed(cfgbus.DATA_BITS))
        wait = Signal(3)
        m.d.comb += [self.rsp.payload.status.eq(rsp_status),
                     self.rsp.payload.data.eq(rsp_data)]
        with m.FSM(name="cfg_fsm"):
            def take(cmd):
                """Decode ``cmd`` into the command registers and go on to execute it."""
                m.d.sync += is_write.eq(cmd.op == Op.WRITE)
                m.d.sync += [flag.eq(_in_range(cmd.data, *self._value_checks()[key]))
                             for key, flag in vflags.items()]
                regs = [ok, tgt, sub, off, is_counter, *vsel.values()]
                dec = [Signal.like(x, name=f"{x.name}_next") for x in regs]
                self._decode(m, cmd, *dec[:5], dict(zip(vsel, dec[5:])))
                m.d.sync += [x.eq(y) for x, y in zip(regs, dec)]
                if l_pow2:
                    m.d.sync += exec_now.eq(1)
                    m.next = "EXECUTE"
                else:
                    m.d.sync += [dsor.eq(L << (qb - 1)), div_n.eq(qb), maddr.eq(0)]
                    m.next = "DIVIDE"

            with m.State("IDLE"):
                # cfg_mode is clear in this state: ready leaves it out.
                m.d.comb += self.cfg.ready.eq(~tick_mode & ~integrating & ~self.events.valid
                                              & ~self.tick.valid)
                # Registered first, decoded in the next cycle: the payload comes from the
                # host link or the array's multiplexers, the decoder is several LUTs deep.
                # The register follows the payload in every idle cycle and holds from the
                # cycle a command is taken: its enable is the state alone, off the path
                # through ready (one enable for all its bits).
                m.d.sync += cmd_q.eq(self.cfg.payload)
                with m.If(self.cfg.valid & self.cfg.ready):
                    m.d.sync += cfg_mode.eq(1)
                    m.next = "DECODE"
            with m.State("DECODE"):
                take(cmd_q)
            if not l_pow2:
                with m.State("DIVIDE"):
                    # Restoring division of off by L: maddr = off // L, lane = off % L.
                    with m.If(div_n == 0):
                        m.d.sync += [lane.eq(off), exec_now.eq(1)]
                        m.next = "EXECUTE"
                    with m.Else():
                        fits = off >= dsor
                        m.d.sync += [off.eq(Mux(fits, off - dsor, off)), dsor.eq(dsor >> 1),
                                     maddr.eq(Cat(fits, maddr)), div_n.eq(div_n - 1)]
            with m.State("EXECUTE"):
                m.d.sync += [rsp_status.eq(Status.OK), rsp_data.eq(0)]
                with m.If(~ok):
                    m.d.sync += rsp_status.eq(Status.BAD_ADDR)
                    m.next = "RESPOND"
                with m.Elif(is_write):
                    with m.If(~vok):
                        m.d.sync += rsp_status.eq(Status.BAD_VALUE)
                        m.next = "RESPOND"
                    if packed:
                        with m.Elif(tgt == _T_WEIGHT):
                            # The row is on w_q from RA + R cycles after MERGE is entered.
                            m.d.sync += wait.eq(RA + R)
                            m.next = "MERGE"
                    with m.Else():
                        m.next = "RESPOND"
                with m.Else():
                    # The address has been stable since the command was taken: the row is
                    # on the read ports now (one cycle later if registered, deep pipeline),
                    # its lane group is selected one cycle after that and its target one
                    # cycle after that.
                    m.d.sync += wait.eq(Mux(tgt == _T_COUNTER, RA + 2 * R + 3, RA + R + 2))
                    m.next = "READ"
            with m.State("READ"):
                m.d.sync += wait.eq(wait - 1)
                with m.If(wait == 0):
                    m.d.sync += rsp_data.eq(lsel)
                    m.next = "RESPOND"
            if packed:
                with m.State("MERGE"):
                    m.d.sync += wait.eq(wait - 1)
                    with m.If(wait == 0):
                        m.d.sync += merge_we.eq(1)
                        m.next = "RESPOND"
            with m.State("RESPOND"):
                m.d.comb += self.rsp.valid.eq(1)
                with m.If(self.rsp.ready):
                    m.d.sync += cfg_mode.eq(0)
                    m.next = "IDLE"
        # Registers are written with the memories, in the cycle after EXECUTE: their enables
        # come from wr_hit, off the path through the value check.
        self._write_registers(m, cfg_we, sub, data, prm, ctr)
        return m

    def _decode(self, m, cmd, ok, tgt, sub, off, is_counter, vsel):
        """Decode the address of ``cmd`` into target, index and offset, whether it is a counter
        and which field it addresses (``vsel``, keyed as :meth:`_value_checks`); combinational.
        """
        c = self._config
        N, addr = c.neurons, cmd.addr
        n_pow2 = N & (N - 1) == 0
        m.d.comb += [ok.eq(0), off.eq(addr), sub.eq(addr[:3]), is_counter.eq(0)]
        m.d.comb += [x.eq(0) for x in vsel.values()]
        with m.Switch(cmd.space):
            with m.Case(Space.WEIGHT):
                m.d.comb += [ok.eq(addr < (c.axons + 1) * N), tgt.eq(_T_WEIGHT),
                             vsel[(_T_WEIGHT, None)].eq(1)]
            with m.Case(Space.STATE):
                for f in StateField:
                    rng = cfgbus.field_range(c, Space.STATE, f)
                    if rng is None:
                        continue
                    if n_pow2:      # field and neuron are bit fields of the address
                        nb = ceil_log2(N)
                        hit, neuron = addr[nb:] == f, addr[:nb]
                    else:
                        hit, neuron = (addr >= f * N) & (addr < (f + 1) * N), addr - f * N
                    with m.If(hit):
                        m.d.comb += [ok.eq(1), tgt.eq(_STATE_TARGET[f]),
                                     off.eq(neuron), vsel[(_STATE_TARGET[f], None)].eq(1)]
            with m.Case(Space.PARAM):
                m.d.comb += tgt.eq(_T_PARAM)
                for p in Param:
                    if cfgbus.field_range(c, Space.PARAM, p) is not None:
                        with m.If(addr == p):
                            m.d.comb += [ok.eq(1), vsel[(_T_PARAM, p)].eq(1)]
            with m.Case(Space.COUNTER):
                m.d.comb += [tgt.eq(_T_COUNTER), is_counter.eq(1)]
                for cn in Counter:
                    with m.If(addr == cn):
                        m.d.comb += ok.eq(1)

    def _value_checks(self):
        """Return ``{(target, sub): (lo, hi)}``: the range of every field a command writes
        (``sub`` is the Param index for parameters, else None)."""
        c = self._config
        checks = {(_T_WEIGHT, None): c.weight_range}
        for f, target in _STATE_TARGET.items():
            rng = cfgbus.field_range(c, Space.STATE, f)
            if rng is not None:
                checks[(target, None)] = rng
        for p in Param:
            rng = cfgbus.field_range(c, Space.PARAM, p)
            if rng is not None:
                checks[(_T_PARAM, p)] = rng
        return checks

    @staticmethod
    def _write_registers(m, cfg_we, sub, data, prm, ctr):
        """Write a parameter register or counter (memories are written by their ports)."""
        with m.If(cfg_we(_T_PARAM)):
            with m.Switch(sub):
                for p, name in _PARAM_NAME.items():
                    with m.Case(p):
                        m.d.sync += prm[name].eq(data)
        with m.If(cfg_we(_T_COUNTER) & (sub == Counter.SOPS)):
            m.d.sync += ctr["sops"].eq(data)


def _times(x, k):
    """``x * k`` for a constant ``k``, as a sum of shifts: Yosys maps a multiplication to a DSP
    block (ECP5 ``MULT18X18D``, iCE40 ``SB_MAC16``), which the placement does not plan for."""
    terms = [x << i for i in range(k.bit_length()) if k >> i & 1]
    return sum(terms[1:], terms[0])


def _drive(m, statements, result):
    """Add ``statements`` to ``m`` and return ``result`` (a hook of the lane graph)."""
    m.d.comb += statements
    return result


def _at_most_two(x):
    """Return whether ``x`` has at most two bits set: a tree of 2-bit counts that saturate at
    3, two LUTs a node (``x & (x - 1)`` twice would chain two carry chains)."""
    counts = [(Value.cast(0), x[k]) if k + 1 == len(x) else (x[k] & x[k + 1], x[k] ^ x[k + 1])
              for k in range(0, len(x), 2)]
    while len(counts) > 1:
        merged = []
        for k in range(0, len(counts) - 1, 2):
            (a1, a0), (b1, b0) = counts[k], counts[k + 1]
            merged.append((a1 | b1 | (a0 & b0),
                           (a1 & (a0 | b1 | b0)) | (b1 & (b0 | a0)) | (~a1 & ~b1 & (a0 ^ b0))))
        if len(counts) % 2:
            merged.append(counts[-1])
        counts = merged
    c1, c0 = counts[0]
    return ~(c1 & c0)


def _single(x):
    """Return whether ``x`` has at most one bit set."""
    return ~(x & (x - 1)).any()


def _in_range(x, lo, hi):
    """Return whether the signed value ``x`` lies in ``[lo, hi]``, without carry chains.

    A signed range of a ``B``-bit field is a sign-extension check of the bits above ``B - 1``;
    a non-negative range checks that the bits above ``hi`` are zero and compares the rest, a
    few bits wide.  (A comparator built from a 32-bit carry chain costs 32 logic cells on
    iCE40; these checks cost a handful of LUTs.)
    """
    width = len(x)
    for b in range(1, width + 1):
        if (lo, hi) == (-(1 << (b - 1)), (1 << (b - 1)) - 1):
            top = x[b - 1:]
            return (top == 0) | (top == (1 << len(top)) - 1)
    if lo < 0:
        return (x >= lo) & (x <= hi)
    k = hi.bit_length()
    low = x[:k]
    ok = ~x[k:].any() if k < width else ~x[width - 1]
    if hi != (1 << k) - 1:
        ok &= low <= hi
    if lo == 1:
        ok &= low.any()
    elif lo > 1:
        ok &= low >= lo
    return ok


def _param_signals(cfg):
    """Return the parameter registers of a core (reset values as in ``CoreParams``)."""
    return {
        "threshold": Signal(range(1 << (cfg.membrane_bits - 1)), init=1, name="p_threshold"),
        "leak": Signal(range(cfg.max_leak + 1), name="p_leak"),
        "current_leak": Signal(range(cfg.max_current_leak + 1), name="p_current_leak"),
        "bias_shift": Signal(range(cfg.max_bias_shift + 1), name="p_bias_shift"),
        "refractory": Signal(range(cfg.max_refractory + 1), name="p_refractory"),
    }

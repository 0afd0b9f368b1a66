"""Where every memory of an array goes on a device: one plan for the gateware and the fit check.

:func:`plan` lists each memory :class:`~.array.NeuromorphicArray` builds, with the depth and
width the RTL gives it, and places it: ``"spram"`` (iCE40 UltraPlus SPRAM bank, weights only),
``"bram"`` (block RAM), ``"lutram"`` (ECP5 distributed RAM) or ``"regs"`` (flip-flops; what
Yosys makes of a small memory on iCE40, which has no distributed RAM).  The array reads the
plan to build its memories, and :mod:`spikeforge.fit` reads the same plan to count blocks, so a
memory cannot be placed one way and counted another.

The rules, in order:

1. iCE40: the cores' weights go to the SPRAM bank while SPRAMs remain (rows past the bank spill
   into block RAM, see :class:`~.memory.LaneMemory`); cores use the ``"compact"`` pipeline.
2. ECP5: cores use the ``"deep"`` pipeline; the weights go to block RAM, as one bank per row
   of blocks when the blocks stack more than one deep (``LIFCore(weight_bank_rows=...)``: each
   bank's output is registered beside it, and the read multiplexer follows the registers).
   They are packed (``LIFCore(packed_weights=True)``: a row-wide write enable, so lanes share
   the blocks' 9-bit bytes, and weight writes read-modify-write their row) when that takes
   fewer blocks: nine 8-bit lanes in eight blocks of 2048 x 9 instead of nine.
3. Every other memory of a core (state, spike queue, counters, spike FIFO, routing tables)
   goes to block RAM while the device's blocks last (the read is registered in the block and
   costs no logic), taken role by role for all cores, the most block-efficient roles first; on
   ECP5 the rest go to distributed RAM.  On iCE40 they all go to block RAM (a fit check then tells whether the
   blocks suffice).
4. Router input FIFOs are 16 entries of distributed RAM on ECP5, and 2 entries of flip-flops
   on iCE40 (a block RAM each would cost more than the FIFO's registers; shallow FIFOs only
   lower the fabric's peak rate, never its correctness).
5. iCE40 with ``dsps``: the DSP blocks that ``leak="mult"`` cores leave compute the membrane
   leak of ``leak="shift"`` lanes (``LIFCore(leak_multipliers=...)``, cores in order): two
   lanes a block up to 8-bit membranes, one up to 15 bits (:mod:`~.dsp`).  Each lane saves its
   barrel shifter, about 16 logic cells.

Without a family (simulation, plain Verilog) everything is block RAM and the pipeline deep.
"""

import dataclasses
import math

from ..golden_model.config import ArrayConfig
from . import aer
from .cfgbus import COUNTER_BITS
from .dsp import leak_blocks, leak_lanes
from .memory import bram_blocks, bram_tiling, lutram_luts, spram_blocks, weight_bank_depths
from .route_table import RouteTable

__all__ = ["MemoryUse", "CorePlacement", "Placement", "plan", "core_memories", "lane_bits",
           "mult_leak_dsps", "DSP_WIDTH",
           "ROUTER_FIFO_DEPTH", "LINK_MEMORIES", "CORE_ROLES"]

#: Entries of each router input FIFO (``Mesh(fifo_depth=...)``) per family.
ROUTER_FIFO_DEPTH = {None: 16, "ecp5": 16, "ice40": 2}

#: The host link's own memories (name, depth, width), counted with the array on a board.  On
#: ECP5 Yosys makes them distributed RAM (in the link's measured logic), on iCE40 block RAM.
LINK_MEMORIES = (("link payload", 64, 8), ("link replies", 64, 8))

# Roles other than the weights, in the order they claim block RAM: the ones that use a
# block's depth well (deep, narrow) first; wide, shallow state rows last.
_ROLE_ORDER = ("route_ptr", "spike_fifo", "route_ent", "queue", "ref", "i", "acc", "v",
               "counters")

_STYLE = {"bram": "block", "lutram": "distributed", "regs": "logic"}
CORE_ROLES = ("weights", "v", "acc", "i", "ref", "queue", "counters")


@dataclasses.dataclass(frozen=True)
class MemoryUse:
    """One memory: where it lives and what it costs there."""
    name: str
    core: object          # core index, or None (fabric, host link)
    role: str
    depth: int
    width: int
    kind: str             # "spram", "bram", "lutram" or "regs"
    brams: int = 0        # block RAMs (for "spram": those of the spilled rows)
    sprams: int = 0
    luts: int = 0         # ECP5 distributed RAM LUTs; "regs": the read multiplexer
    ffs: int = 0          # "regs": flip-flops; a weight bank: its output register

    @property
    def ram_style(self):
        """The Yosys ``ram_style`` attribute for this memory (not for ``"spram"``)."""
        return _STYLE[self.kind]


@dataclasses.dataclass(frozen=True)
class CorePlacement:
    """How one core is built: its pipeline and the kind of each of its memories, by role
    (``LIFCore`` roles plus ``"spike_fifo"``, ``"route_ptr"``, ``"route_ent"``)."""
    pipeline: str
    kinds: dict
    leak_multipliers: int = 0     # lanes whose membrane leak is a DSP multiplication
    leak_dsps: int = 0            # the DSP blocks they take
    weight_bank_rows: int = 0     # LIFCore(weight_bank_rows=...): 0, or the rows of a bank
    packed_weights: bool = False  # LIFCore(packed_weights=...)

    @property
    def core_memories(self):
        """The ``memories=`` argument of ``LIFCore``."""
        return {r: k for r, k in self.kinds.items() if r in CORE_ROLES}

    def ram_style(self, role):
        return _STYLE[self.kinds[role]]


@dataclasses.dataclass(frozen=True)
class Placement:
    family: object
    cores: tuple           # CorePlacement per core
    memories: tuple        # MemoryUse, every memory of the array (and link, if counted)
    router_fifo: str       # kind of the router input FIFOs
    router_fifo_depth: int

    @property
    def brams(self):
        return sum(u.brams for u in self.memories)

    @property
    def sprams(self):
        return sum(u.sprams for u in self.memories)

    @property
    def luts(self):
        return sum(u.luts for u in self.memories)

    @property
    def ffs(self):
        return sum(u.ffs for u in self.memories)

    @property
    def leak_dsps(self):
        """DSP blocks that compute ``leak="shift"`` lanes' membrane leak."""
        return sum(c.leak_dsps for c in self.cores)


def core_memories(array, c):
    """Return ``[(role, depth, width), ...]`` of core ``c``'s memories as the RTL builds them
    (``LIFCore``, its spike FIFO and its ``RouteTable``).  The lane memories are written one
    lane at a time (see :func:`lane_bits`)."""
    cfg = array.cores[c]
    rows, L = cfg.rows, cfg.lanes
    mems = [("weights", (cfg.axons + 1) * rows, L * cfg.weight_bits),
            ("v", rows, L * cfg.membrane_bits), ("acc", rows, L * cfg.acc_bits)]
    if cfg.cuba:
        mems.append(("i", rows, L * cfg.current_bits))
    if cfg.refractory_bits:
        mems.append(("ref", rows, L * cfg.refractory_bits))
    mems.append(("queue", rows, L + cfg.neuron_bits + 1))
    mems.append(("counters", 8, COUNTER_BITS))     # EVENTS, SPIKES, DROPPED, TICKS
    # SyncFIFOBuffered keeps depth - 1 entries in its memory and one in its output register.
    mems.append(("spike_fifo", cfg.neurons - 1, cfg.neuron_bits))
    ptr, ent = RouteTable.stored_layouts(array, c)
    mems += [("route_ptr", cfg.neurons, ptr.size), ("route_ent", array.routes_per_core, ent.size)]
    return mems


#: Width of a DSP block's multiplier inputs, by family.
DSP_WIDTH = {"ice40": 16, "ecp5": 18}


def mult_leak_dsps(array, family):
    """Return the DSP blocks the ``leak="mult"`` cores of ``array`` use on ``family``: one per
    lane and decay (membrane, and current with CUBA), four where an operand is wider than the
    block's multiplier."""
    width = DSP_WIDTH.get(family, 18)
    total = 0
    for cfg in array.cores:
        if cfg.leak != "mult":
            continue
        total += cfg.lanes * (1 if max(cfg.membrane_bits, cfg.decay_frac_bits + 1) <= width
                              else 4)
        if cfg.cuba:
            total += cfg.lanes * (1 if max(cfg.current_bits, cfg.decay_frac_bits + 1) <= width
                                  else 4)
    return total


def lane_bits(array, c, role):
    """Return the write granularity of a lane memory of core ``c`` (``None``: whole rows)."""
    cfg = array.cores[c]
    return {"weights": cfg.weight_bits, "v": cfg.membrane_bits, "acc": cfg.acc_bits,
            "i": cfg.current_bits, "ref": cfg.refractory_bits}.get(role)


def _router_fifos(array):
    """Return the number of router input FIFOs of the mesh and their width."""
    rows, cols = array.mesh
    links = 2 * (rows * (cols - 1) + cols * (rows - 1))     # one FIFO per direction per link
    return rows * cols + links + 1, aer.packet_layout(array).size   # + locals + host port


def plan(array, family=None, *, brams=None, sprams=0, dsps=0, link=False):
    """Return the :class:`Placement` of ``array`` on ``family`` (``"ice40"``, ``"ecp5"`` or
    ``None``) with ``brams`` block RAMs (``None``: unlimited), ``sprams`` SPRAMs and ``dsps``
    DSP blocks.  With ``link``, the host link's memories are counted too (a board build)."""
    if not isinstance(array, ArrayConfig):
        raise TypeError(f"array: expected an ArrayConfig, not {array!r}")
    if family not in (None, "ice40", "ecp5"):
        raise ValueError(f"family: expected 'ice40', 'ecp5' or None, not {family!r}")
    fam = family or "ecp5"        # block counts of a family-less plan: nominal only
    budget = math.inf if brams is None else brams
    uses = []

    def block(name, core, role, depth, width, packed=False):
        gran = lane_bits(array, core, role) if core is not None and not packed else None
        return MemoryUse(name, core, role, depth, width, "bram",
                         brams=bram_blocks(fam, depth, width, gran))

    def weight_banks(name, c, depth, width, packed):
        """The weights of core ``c`` in block RAM: one memory, or banks of a row of blocks
        (each but the first adds its output register; the core's logic counts one)."""
        gran = None if packed else array.cores[c].weight_bits
        _, bank = bram_tiling(fam, depth, width, gran)
        if depth <= bank:
            return [block(name, c, "weights", depth, width, packed)]
        return [dataclasses.replace(
            block(f"{name} bank {k}", c, "weights", rows, width, packed), ffs=width if k else 0)
            for k, rows in enumerate(weight_bank_depths(depth, bank, width, gran))]

    def lut(name, core, role, depth, width):
        return MemoryUse(name, core, role, depth, width, "lutram",
                         luts=lutram_luts(depth, width))

    if link and family != "ecp5":
        for name, depth, width in LINK_MEMORIES:
            uses.append(block(name, None, "link", depth, width))

    n_fifos, fifo_width = _router_fifos(array)
    fifo_kind = {None: "bram", "ecp5": "lutram", "ice40": "regs"}[family]
    fifo_depth = ROUTER_FIFO_DEPTH[family]
    for k in range(n_fifos):
        # SyncFIFOBuffered: depth - 1 entries in memory, one in the output register.
        name, d = f"router FIFO {k}", fifo_depth - 1
        if fifo_kind == "regs":
            uses.append(MemoryUse(name, None, "router_fifo", d, fifo_width, "regs",
                                  ffs=d * fifo_width, luts=d * fifo_width // 2))   # + read mux
        else:
            uses.append((lut if fifo_kind == "lutram" else block)(name, None, "router_fifo", d,
                                                                  fifo_width))

    spram_left = sprams if family == "ice40" else 0
    per_core = [dict() for _ in array.cores]
    packed = [False] * array.n_cores
    pending = []
    for c in range(array.n_cores):
        for role, depth, width in core_memories(array, c):
            name = f"core {c} {role}"
            if role != "weights":
                pending.append((role, c, name, depth, width))
                continue
            cfg = array.cores[c]
            use = None
            if spram_left:
                try:
                    n, spill, spill_width = spram_blocks(cfg.lanes, cfg.weight_bits, depth,
                                                         spram_left)
                except ValueError:
                    n = None
                if n is not None and n <= spram_left:
                    spram_left -= n
                    use = MemoryUse(name, c, role, depth, width, "spram", sprams=n,
                                    brams=bram_blocks(fam, spill, spill_width,
                                                      cfg.weight_bits))
            if use is None and family == "ecp5":
                # Deep pipeline: a bank per row of blocks, each read into its own register
                # (LIFCore weight_bank_rows), when the blocks stack more than one deep;
                # packed when that takes fewer blocks.
                lanes, rows = (weight_banks(name, c, depth, width, p) for p in (False, True))
                packed[c] = sum(u.brams for u in rows) < sum(u.brams for u in lanes)
                per_core[c][role] = rows if packed[c] else lanes
                continue
            per_core[c][role] = [use or block(name, c, role, depth, width)]

    left = budget - sum(u.brams for u in uses) - sum(
        u.brams for d in per_core for us in d.values() for u in us)
    pending.sort(key=lambda p: (_ROLE_ORDER.index(p[0]), p[1]))
    for role, c, name, depth, width in pending:
        use = block(name, c, role, depth, width)
        if family == "ecp5" and use.brams > left:
            use = lut(name, c, role, depth, width)
        else:
            left -= use.brams
        per_core[c][role] = [use]

    dsp_left = dsps - mult_leak_dsps(array, family) if family == "ice40" else 0
    cores = []
    for c in range(array.n_cores):
        d = per_core[c]
        uses += [u for role, _, _ in core_memories(array, c) for u in d[role]]
        cfg = array.cores[c]
        n = leak_lanes(cfg, dsp_left)
        dsp_left -= leak_blocks(cfg, n)
        weights = d["weights"]
        bank = weights[0].depth if len(weights) > 1 else 0     # a full first bank
        cores.append(CorePlacement("compact" if family == "ice40" else "deep",
                                   {role: us[0].kind for role, us in d.items()}, n,
                                   leak_blocks(cfg, n), bank, packed[c]))
    return Placement(family, tuple(cores), tuple(uses), fifo_kind, fifo_depth)

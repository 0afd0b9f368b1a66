"""Will an :class:`ArrayConfig` fit a board?  Predict block RAM, SPRAM, logic and DSP use.

:func:`fit` returns a :class:`FitReport`: per resource the predicted need, the board's
capacity and whether it fits; :func:`check_fit` raises :class:`FitError` when something does
not.  The model is conservative by construction: where it must guess, it guesses high.

Memories (exact, from widths and depths)
    Every memory of the array is listed by :func:`array_memories` with its depth and width,
    and packed into the family's block RAM aspect ratios by
    :func:`spikeforge.rtl.memory.bram_blocks` (the choice Yosys makes).  The layout assumed
    for one core (``N`` neurons, ``A`` axons, ``L`` lanes, ``R = N / L`` rows):

    ============  ===================  =========================================  =============
    memory        depth                width                                      kind
    ============  ===================  =========================================  =============
    weights       ``(A + 1) * R``      ``L * W`` (bias row is row ``A``)          SPRAM on UP5K
    membrane      ``R``                ``L * V``                                  block RAM
    acc           ``R``                ``L * acc_bits``                           block RAM
    current       ``R``                ``L * I`` (CUBA only)                      block RAM
    refractory    ``R``                ``L * refractory_bits`` (if any)           block RAM
    route ptrs    ``N``                ``2 * ceil(log2(routes + 1))``             block RAM
    route table   ``routes_per_core``  ``axon_bits + core_bits + 1``              block RAM
    event FIFO    16                   ``core_bits + 16``                         registers
    ============  ===================  =========================================  =============

    plus the host link (64 x 8 payload, 16 x 32 replies) and the host spike FIFO.  On ECP5
    every memory but the weights that holds at most 16 kbit is distributed RAM
    (``LaneMemory(kind="lutram")``; its LUTs are added to the logic), and the FIFOs too; on
    iCE40 the FIFOs are registers (16 entries: build them from flip-flops, not from a
    ``lib.fifo`` over a memory, which Yosys would put in a block RAM).  On the UP5K
    the first cores' weights go to the SPRAM bank while SPRAMs remain
    (:func:`spikeforge.rtl.memory.spram_blocks`; rows past the bank spill into block RAM).
    The routing fields are stored at their minimal widths: the router must do the same for
    these figures to hold.  **Re-check this table against ``rtl/core.py`` and
    ``rtl/router.py`` once they exist**; a memory the RTL adds and this table lacks breaks the
    promise.

Logic (a calibrated estimate, to be re-fit against synthesized cores)
    ``LUTs = link + sum over cores (core_base + L * lane) + routers``, with
    ``lane = k * (V + acc_bits + I + refractory_bits) + 2 * W`` (``k`` per family), the
    fixed parts from the measured host link and from published reference points (a 16-lane
    LIF datapath with SPRAM weights took 2,780 logic cells on the UP5K; a 32-lane one about
    126 LUTs per lane on the ECP5-85F).  Flip-flops are estimated the same way.  Logic is
    declared to fit only below :data:`LOGIC_HEADROOM` of the device (place and route on
    iCE40 fails well before 100 %).

DSPs
    A multiplicative leak takes one multiplier per lane (two with CUBA); a multiplier wider
    than the DSP's ports (16 x 16 on iCE40, 18 x 18 on ECP5) takes four.
"""

import dataclasses
import math

from .golden_model import ArrayConfig, ConfigError
from .rtl.memory import bram_blocks, lutram_luts, spram_blocks

__all__ = ["FitReport", "ResourceUse", "FitError", "fit", "check_fit", "array_memories",
           "LOGIC_HEADROOM", "LOGIC_MODEL"]

#: Fraction of the device's logic the estimate may fill and still be called a fit.
LOGIC_HEADROOM = 0.80

#: Calibration of the logic estimate per family (LUT4s; iCE40 logic cells = LUT4 + FF).
#: ``link``: UART host link with the link-check array, measured by the synth tests (iCE40
#: 1,706 logic cells, ECP5 1,614 LUTs, Yosys 0.70 / nextpnr via YoWASP); ``core_base``: a core's control,
#: configuration bus, five 32-bit counters and parameter registers; ``lane_k``: LUTs per
#: state bit per lane; ``router``: one mesh router (only when there is more than one core).
LOGIC_MODEL = {
    "ice40": {"link": 1750, "core_base": 700, "lane_k": 5, "router": 450, "ff_per_lut": 0.7},
    "ecp5": {"link": 1650, "core_base": 600, "lane_k": 4, "router": 400, "ff_per_lut": 0.7},
}
DSP_WIDTH = {"ice40": 16, "ecp5": 18}


class FitError(ConfigError):
    """An array configuration does not fit the board."""


@dataclasses.dataclass(frozen=True)
class ResourceUse:
    name: str
    required: int
    available: int
    limit: int          # what may be used: ``available`` or less (headroom)
    exact: bool         # derived exactly from the memory geometry, or estimated

    @property
    def fits(self):
        return self.required <= self.limit

    @property
    def utilization(self):
        return self.required / self.available if self.available else math.inf


@dataclasses.dataclass(frozen=True)
class FitReport:
    board: str
    resources: tuple
    memories: tuple     # (name, depth, width, kind, blocks)

    @property
    def fits(self):
        return all(r.fits for r in self.resources)

    def __getitem__(self, name):
        for r in self.resources:
            if r.name == name:
                return r
        raise KeyError(name)

    def problems(self):
        return [f"{r.name}: needs {r.required:,}, "
                f"{'at most ' + format(r.limit, ',') if r.limit < r.available else 'has'} "
                f"{r.limit:,} of {r.available:,}" if r.limit < r.available else
                f"{r.name}: needs {r.required:,}, has {r.available:,}"
                for r in self.resources if not r.fits]

    def table(self):
        """Return the report as text lines (resource, required, available, use, fits)."""
        lines = [f"{'resource':<14}{'required':>10}{'available':>11}{'use':>7}  fits"]
        for r in self.resources:
            mark = "yes" if r.fits else "NO"
            est = "" if r.exact else "  (estimate)"
            lines.append(f"{r.name:<14}{r.required:>10,}{r.available:>11,}"
                         f"{r.utilization:>7.0%}  {mark}{est}")
        return lines

    def to_dict(self):
        return {"board": self.board, "fits": self.fits,
                "resources": {r.name: {"required": r.required, "available": r.available,
                                       "limit": r.limit, "fits": r.fits, "exact": r.exact}
                              for r in self.resources},
                "memories": [dict(zip(("name", "depth", "width", "kind", "blocks"), m))
                             for m in self.memories]}


def _bits(n):
    return max(1, math.ceil(math.log2(n))) if n > 1 else 1


def memory_kind(family, role, depth, width):
    """Return where the assumed layout puts a memory: ``"bram"``, ``"lutram"`` or ``"regs"``.

    Small FIFOs (16 entries) are registers on iCE40 (no distributed RAM there) and
    distributed RAM on ECP5; on ECP5 every other memory of at most one block's bits
    (16 kbit) except the weights goes to distributed RAM too.  The host link's two small
    memories are counted as block RAM (Yosys's choice there is not forced)."""
    if role == "fifo":
        return "regs" if family == "ice40" else "lutram"
    if family == "ecp5" and role == "state" and depth * width <= 16384:
        return "lutram"
    return "bram"


def array_memories(array, family, sprams=0):
    """Return ``[(name, depth, width, kind), ...]`` for every memory of ``array`` on
    ``family``; ``kind`` is ``"bram"``, ``"lutram"``, ``"regs"`` or ``"spram"`` (SPRAMs are
    handed out to the cores' weights in order while they last)."""
    if not isinstance(array, ArrayConfig):
        raise TypeError(f"array: expected an ArrayConfig, not {array!r}")
    core_bits = _bits(array.n_cores)
    mems = [("link payload", 64, 8, "bram"), ("link replies", 16, 32, "bram"),
            ("host spike FIFO", 16, core_bits + 16, memory_kind(family, "fifo", 16, 0))]
    spram_left = sprams
    routes = array.routes_per_core
    max_axons = max(x.axons for x in array.cores)
    for c, cfg in enumerate(array.cores):
        rows = cfg.rows
        depth = (cfg.axons + 1) * rows
        kind = "bram"
        if spram_left:
            try:
                used, _, _ = spram_blocks(cfg.lanes, cfg.weight_bits, depth, spram_left)
            except ValueError:
                used = None
            if used is not None and used <= spram_left:
                kind, spram_left = "spram", spram_left - used
        mems.append((f"core {c} weights", depth, cfg.lanes * cfg.weight_bits, kind))
        state = [("membrane", rows, cfg.lanes * cfg.membrane_bits),
                 ("acc", rows, cfg.lanes * cfg.acc_bits)]
        if cfg.cuba:
            state.append(("current", rows, cfg.lanes * cfg.current_bits))
        if cfg.refractory_bits:
            state.append(("refractory", rows, cfg.lanes * cfg.refractory_bits))
        state += [("route ptrs", cfg.neurons, 2 * _bits(routes + 1)),
                  ("route table", routes,
                   _bits(max_axons) + (core_bits if array.n_cores > 1 else 0) + 1)]
        for name, d, w in state:
            mems.append((f"core {c} {name}", d, w, memory_kind(family, "state", d, w)))
        mems.append((f"core {c} event FIFO", 16, core_bits + 16,
                     memory_kind(family, "fifo", 16, 0)))
    return mems


def _logic(array, family):
    p = LOGIC_MODEL[family]
    luts = p["link"]
    for cfg in array.cores:
        state = cfg.membrane_bits + cfg.acc_bits + cfg.refractory_bits \
            + (cfg.current_bits if cfg.cuba else 0)
        lane = p["lane_k"] * state + 2 * cfg.weight_bits
        luts += p["core_base"] + cfg.lanes * lane
    if array.n_cores > 1:
        luts += p["router"] * array.mesh[0] * array.mesh[1]
    return luts, math.ceil(luts * p["ff_per_lut"])


def _dsps(array, family):
    width = DSP_WIDTH[family]
    total = 0
    for cfg in array.cores:
        if cfg.leak != "mult":
            continue
        per = 1 if max(cfg.membrane_bits, cfg.decay_frac_bits + 1) <= width else 4
        n = cfg.lanes * per
        if cfg.cuba:
            n += cfg.lanes * (1 if max(cfg.current_bits, cfg.decay_frac_bits + 1) <= width
                              else 4)
        total += n
    return total


def fit(board, array=None):
    """Return a :class:`FitReport` of ``array`` (default: the board's own) on ``board``
    (a :class:`~spikeforge.boards.Board` or its name)."""
    from .boards import get_board
    if isinstance(board, str):
        board = get_board(board)
    if array is None:
        array = board.default_array()
    cap = board.capacity
    family = board.family
    mems = array_memories(array, family, sprams=cap.sprams)
    table, brams, sprams, mem_luts, mem_ffs = [], 0, 0, 0, 0
    for name, depth, width, kind in mems:
        blocks = 0
        if kind == "spram":
            core = array.cores[int(name.split()[1])]
            used, spill, spill_width = spram_blocks(core.lanes, core.weight_bits, depth,
                                                    cap.sprams - sprams)
            blocks = bram_blocks(family, spill, spill_width)
            sprams += used
            where = f"spram x{used}" + (f" + {spill} rows in block RAM" if spill else "")
        elif kind == "bram":
            blocks = bram_blocks(family, depth, width)
            where = f"block RAM x{blocks}"
        elif kind == "lutram":
            luts = lutram_luts(depth, width)
            mem_luts += luts
            where = f"distributed RAM, {luts:,} LUTs"
        else:   # registers: a flip-flop per bit and a read multiplexer
            mem_ffs += depth * width
            mem_luts += depth * width // 2
            where = f"registers, {depth * width} FFs"
        table.append((name, depth, width, where, blocks))
        brams += blocks
    luts, ffs = _logic(array, family)
    luts, ffs = luts + mem_luts, ffs + mem_ffs
    dsps = _dsps(array, family)
    head = LOGIC_HEADROOM
    resources = (
        ResourceUse("block RAM", brams, cap.brams, cap.brams, True),
        ResourceUse("SPRAM", sprams, cap.sprams, cap.sprams, True),
        ResourceUse("logic (LUT4)", luts, cap.luts, int(cap.luts * head), False),
        ResourceUse("flip-flops", ffs, cap.ffs, int(cap.ffs * head), False),
        ResourceUse("DSP", dsps, cap.dsps, cap.dsps, True),
    )
    return FitReport(board=board.name, resources=resources, memories=tuple(table))


def check_fit(board, array=None):
    """Return the :class:`FitReport`, or raise :class:`FitError` naming what does not fit."""
    report = fit(board, array)
    if not report.fits:
        raise FitError(f"array does not fit {report.board}: " + "; ".join(report.problems()))
    return report

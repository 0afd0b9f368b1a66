"""Board clocking: PLL settings solved from the vendor constraints, and the clock and reset of
the ``sync`` domain made from them.

:func:`ice40_pll` and :func:`ecp5_pll` return the divider settings whose output is the closest
to the requested frequency *at or below* it (a design timed for ``f_out`` never runs faster
than that), or raise ``ValueError`` naming the field, the expected range and the value given.

iCE40 sysCLOCK PLL (``SB_PLL40_PAD``/``SB_PLL40_CORE``, simple feedback)::

    f_pfd = f_in / (DIVR + 1)            10 .. 133 MHz    (f_in 10 .. 133 MHz)
    f_vco = f_pfd * (DIVF + 1)          533 .. 1066 MHz
    f_out = f_vco / 2**DIVQ              16 .. 275 MHz
    DIVR 0..15, DIVF 0..127, DIVQ 1..6; FILTER_RANGE follows f_pfd (1..6)

ECP5 sysCLOCK PLL (``EHXPLLL``, feedback from CLKOP)::

    f_pfd = f_in / CLKI_DIV             3.125 .. 400 MHz  (f_in 8 .. 400 MHz)
    f_out = f_pfd * CLKFB_DIV           3.125 .. 400 MHz
    f_vco = f_out * CLKOP_DIV             400 .. 800 MHz
    CLKI_DIV 1..128, CLKFB_DIV 1..80, CLKOP_DIV 1..128

Frequencies are in Hz and computed exactly (``fractions.Fraction``), so a setting that meets a
rate exactly reports it exactly.

:class:`ICE40Clocking` and :class:`ECP5Clocking` instantiate the PLL on the board's oscillator
and make the clock and reset of ``sync``, which hold the design in reset until the PLL reports
lock.  The board top defines ``sync`` itself with :meth:`~ICE40Clocking.domain` (Amaranth 0.6
drops domains that propagate up from a submodule).
"""

import dataclasses
from fractions import Fraction

from amaranth import (ClockDomain, ClockSignal, Const, Elaboratable, Instance, Module,
                      ResetSignal, Signal)
from amaranth.lib import io
from amaranth.lib.cdc import FFSynchronizer

__all__ = ["ICE40PLL", "ECP5PLL", "ice40_pll", "ecp5_pll", "solve_pll", "ICE40Clocking",
           "ECP5Clocking", "clocking_for"]

MHZ = 1_000_000

# iCE40 LP/HX/UltraPlus sysCLOCK PLL limits (Hz).
ICE40_F_IN = (10 * MHZ, 133 * MHZ)
ICE40_F_PFD = (10 * MHZ, 133 * MHZ)
ICE40_F_VCO = (533 * MHZ, 1066 * MHZ)
ICE40_F_OUT = (16 * MHZ, 275 * MHZ)
ICE40_DIVR, ICE40_DIVF, ICE40_DIVQ = range(0, 16), range(0, 128), range(1, 7)
#: FILTER_RANGE by PFD frequency: the first upper bound (exclusive, Hz) above f_pfd.
ICE40_FILTER = ((17 * MHZ, 1), (26 * MHZ, 2), (44 * MHZ, 3), (66 * MHZ, 4), (101 * MHZ, 5))

# ECP5 EHXPLLL limits (Hz).
ECP5_F_IN = (8 * MHZ, 400 * MHZ)
ECP5_F_PFD = (Fraction(3125, 1000) * MHZ, 400 * MHZ)
ECP5_F_VCO = (400 * MHZ, 800 * MHZ)
ECP5_F_OUT = (Fraction(3125, 1000) * MHZ, 400 * MHZ)
ECP5_CLKI_DIV, ECP5_CLKFB_DIV, ECP5_CLKOP_DIV = range(1, 129), range(1, 81), range(1, 129)


def _mhz(f):
    return f"{float(f) / MHZ:g} MHz"


def _check_in(name, f, limits, what):
    lo, hi = limits
    if not (isinstance(f, (int, float, Fraction)) and lo <= f <= hi):
        shown = _mhz(f) if isinstance(f, (int, float, Fraction)) else repr(f)
        raise ValueError(f"{name}: expected {_mhz(lo)} .. {_mhz(hi)} for {what}, not {shown}")
    return Fraction(f)


def _no_setting(f_in, f_out, lo, what):
    raise ValueError(f"f_out: expected a rate with an {what} setting in {_mhz(lo)} .. "
                     f"{_mhz(f_out)} (at or below the request, from f_in {_mhz(f_in)}), "
                     f"not {_mhz(f_out)}")


@dataclasses.dataclass(frozen=True)
class ICE40PLL:
    """iCE40 PLL settings (simple feedback).  ``f_in`` and ``f_out`` in Hz; ``f_out`` is
    ``f_in * (divf + 1) / ((divr + 1) * 2**divq)`` exactly."""

    f_in: Fraction
    divr: int
    divf: int
    divq: int
    filter_range: int
    f_out: Fraction

    @property
    def f_pfd(self):
        return self.f_in / (self.divr + 1)

    @property
    def f_vco(self):
        return self.f_pfd * (self.divf + 1)


@dataclasses.dataclass(frozen=True)
class ECP5PLL:
    """ECP5 ``EHXPLLL`` settings, CLKOP fed back.  ``f_in`` and ``f_out`` in Hz; ``f_out`` is
    ``f_in * clkfb_div / clki_div`` exactly."""

    f_in: Fraction
    clki_div: int
    clkfb_div: int
    clkop_div: int
    f_out: Fraction

    @property
    def f_pfd(self):
        return self.f_in / self.clki_div

    @property
    def f_vco(self):
        return self.f_out * self.clkop_div

    @property
    def clkop_cphase(self):
        """Coarse phase of CLKOP in VCO cycles: half a period, as Lattice's tools set it."""
        return (self.clkop_div - 1) // 2


def ice40_pll(f_in, f_out):
    """Return the :class:`ICE40PLL` closest to ``f_out`` at or below it from ``f_in`` (Hz);
    among equal outputs the highest PFD frequency (smallest ``DIVR``) wins."""
    f_in = _check_in("f_in", f_in, ICE40_F_IN, "the iCE40 PLL reference")
    f_req = _check_in("f_out", f_out, ICE40_F_OUT, "the iCE40 PLL output")
    best = None
    for divr in ICE40_DIVR:
        f_pfd = f_in / (divr + 1)
        if not ICE40_F_PFD[0] <= f_pfd <= ICE40_F_PFD[1]:
            continue
        for divq in ICE40_DIVQ:
            # The largest DIVF whose output stays at or below the request and whose VCO stays
            # at or below its maximum (a smaller DIVF only lowers both).
            divf = min(int(f_req * 2**divq / f_pfd), int(ICE40_F_VCO[1] / f_pfd)) - 1
            divf = min(divf, ICE40_DIVF[-1])
            f_vco = f_pfd * (divf + 1)
            if divf < 0 or not ICE40_F_VCO[0] <= f_vco <= ICE40_F_VCO[1]:
                continue
            got = f_vco / 2**divq
            if got >= ICE40_F_OUT[0] and (best is None or got > best[0]):
                best = (got, divr, divf, divq)
    if best is None:
        _no_setting(f_in, f_req, ICE40_F_OUT[0], "iCE40 PLL")
    got, divr, divf, divq = best
    f_pfd = f_in / (divr + 1)
    filter_range = next((r for top, r in ICE40_FILTER if f_pfd < top), 6)
    return ICE40PLL(f_in=f_in, divr=divr, divf=divf, divq=divq, filter_range=filter_range,
                    f_out=got)


def ecp5_pll(f_in, f_out):
    """Return the :class:`ECP5PLL` closest to ``f_out`` at or below it from ``f_in`` (Hz);
    among equal outputs the VCO nearest 600 MHz (mid-range) wins, then the smallest
    dividers."""
    f_in = _check_in("f_in", f_in, ECP5_F_IN, "the ECP5 PLL input")
    f_req = _check_in("f_out", f_out, ECP5_F_OUT, "the ECP5 PLL output")
    best = None
    for clki_div in ECP5_CLKI_DIV:
        f_pfd = f_in / clki_div
        if not ECP5_F_PFD[0] <= f_pfd <= ECP5_F_PFD[1]:
            continue
        clkfb_div = min(int(f_req / f_pfd), ECP5_CLKFB_DIV[-1])
        if clkfb_div < 1:
            continue
        got = f_pfd * clkfb_div
        if got < ECP5_F_OUT[0]:
            continue
        divs = [d for d in ECP5_CLKOP_DIV if ECP5_F_VCO[0] <= got * d <= ECP5_F_VCO[1]]
        if not divs:
            continue
        clkop_div = min(divs, key=lambda d: abs(got * d - 600 * MHZ))
        key = (got, -abs(got * clkop_div - 600 * MHZ), -clki_div)
        if best is None or key > best[0]:
            best = (key, clki_div, clkfb_div, clkop_div)
    if best is None:
        _no_setting(f_in, f_req, ECP5_F_OUT[0], "ECP5 PLL")
    (got, _, _), clki_div, clkfb_div, clkop_div = best
    return ECP5PLL(f_in=f_in, clki_div=clki_div, clkfb_div=clkfb_div, clkop_div=clkop_div,
                   f_out=got)


def solve_pll(family, f_in, f_out):
    """Return the PLL settings of ``family`` (``"ice40"`` or ``"ecp5"``)."""
    solvers = {"ice40": ice40_pll, "ecp5": ecp5_pll}
    if family not in solvers:
        raise ValueError(f"family: expected one of {', '.join(solvers)}, not {family!r}")
    return solvers[family](f_in, f_out)


class _Clocking(Elaboratable):
    """What the board top needs of a clocking: ``clk``, ``rst`` and :meth:`domain`."""

    reset_less = False

    def domain(self, m):
        """Add the ``sync`` domain, driven by this clocking, to module ``m`` (the module that
        holds this one: the clocking's own registers are in ``sync``)."""
        m.domains += ClockDomain("sync", reset_less=self.reset_less)
        m.d.comb += ClockSignal("sync").eq(self.clk)
        if not self.reset_less:
            m.d.comb += ResetSignal("sync").eq(self.rst)


class ICE40Clocking(_Clocking):
    """The ``sync`` domain from an ``SB_PLL40_PAD`` on the board's clock pin.

    ``sync`` is held in reset until the PLL locks and for ``por_us`` microseconds after (the
    iCE40's block RAMs read as zero for about 3 us after configuration; Amaranth's own
    oscillator domain waits 15 us for the same reason), and again whenever lock is lost.

    Parameters
    ----------
    pll : ICE40PLL
    constraint_hz : float or None
        The frequency place and route times the PLL output for (``None``: its own rate).

    Members
    -------
    clk : Signal
        The PLL output (the ``sync`` clock); the net the clock constraint names (kept by
        name through synthesis: Yosys would otherwise name the net after a submodule's
        clock input and nextpnr would ignore the constraint).
    rst : Signal
        The ``sync`` reset.
    lock : Signal
        The PLL's lock output.
    """

    def __init__(self, pll, *, constraint_hz=None, por_us=15):
        if not isinstance(pll, ICE40PLL):
            raise TypeError(f"pll: expected an ICE40PLL, not {pll!r}")
        self.pll = pll
        self.constraint_hz = constraint_hz or float(pll.f_out)
        self.por_cycles = max(1, int(por_us * 1e-6 * pll.f_out))
        self.clk, self.rst = Signal(name="pll_clk", attrs={"keep": 1}), Signal(name="pll_rst")
        self.lock = Signal(name="pll_lock")

    def elaborate(self, platform):
        m = Module()
        p = self.pll
        # The pad feeds the PLL directly: the pin is not buffered into the fabric first.
        pin = platform.request(platform.default_clk, dir="-")
        m.submodules.pll = Instance(
            "SB_PLL40_PAD",
            p_FEEDBACK_PATH="SIMPLE", p_PLLOUT_SELECT="GENCLK",
            p_DIVR=p.divr, p_DIVF=p.divf, p_DIVQ=p.divq, p_FILTER_RANGE=p.filter_range,
            i_PACKAGEPIN=pin.io, i_RESETB=Const(1), i_BYPASS=Const(0),
            o_PLLOUTGLOBAL=self.clk, o_LOCK=self.lock)
        platform.add_clock_constraint(self.clk, self.constraint_hz)

        # Power-on reset: counts PLL cycles once lock (synchronized) holds.  Its registers are
        # reset-less, so the reset they make does not hold them (and no second domain renames
        # the PLL output net that the clock constraint names).
        locked = Signal()
        ready = Signal(reset_less=True)
        timer = Signal(range(self.por_cycles + 1), reset_less=True)
        m.submodules.lock_sync = FFSynchronizer(self.lock, locked, o_domain="sync")
        with m.If(~locked):
            m.d.sync += [timer.eq(0), ready.eq(0)]
        with m.Elif(timer == self.por_cycles):
            m.d.sync += ready.eq(1)
        with m.Else():
            m.d.sync += timer.eq(timer + 1)
        m.d.comb += self.rst.eq(~ready)
        return m


class ECP5Clocking(_Clocking):
    """The ``sync`` domain from an ``EHXPLLL`` (CLKOP fed back) on the board's oscillator.

    As Amaranth's own ECP5 clocking, ``sync`` is reset-less and the global set/reset (``SGSR``)
    holds every flip-flop at its initial value: here until the PLL locks (lock synchronized to
    the PLL output by two flip-flops outside GSR), and again whenever lock is lost.

    Parameters and members as :class:`ICE40Clocking` (``pll`` an :class:`ECP5PLL`), but
    ``rst`` is ``None``: the domain is reset-less.
    """

    reset_less = True

    def __init__(self, pll, *, constraint_hz=None):
        if not isinstance(pll, ECP5PLL):
            raise TypeError(f"pll: expected an ECP5PLL, not {pll!r}")
        self.pll = pll
        self.constraint_hz = constraint_hz or float(pll.f_out)
        self.clk, self.rst = Signal(name="pll_clk", attrs={"keep": 1}), None
        self.lock = Signal(name="pll_lock")

    def elaborate(self, platform):
        m = Module()
        p = self.pll
        pin = platform.request(platform.default_clk, dir="-")
        m.submodules.clk_buf = clk_buf = io.Buffer("i", pin)
        m.submodules.pll = Instance(
            "EHXPLLL",
            # Lattice's PLL-configuration attributes, as ecppll writes them.
            a_FREQUENCY_PIN_CLKI=f"{float(p.f_in) / MHZ:g}",
            a_FREQUENCY_PIN_CLKOP=f"{float(p.f_out) / MHZ:g}",
            a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
            a_MFG_GMCREF_SEL="2",
            p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
            p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_CLKOP_ENABLE="ENABLED",
            p_CLKI_DIV=p.clki_div, p_CLKFB_DIV=p.clkfb_div, p_CLKOP_DIV=p.clkop_div,
            p_CLKOP_CPHASE=p.clkop_cphase, p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP",
            i_CLKI=clk_buf.i, i_CLKFB=self.clk, i_RST=Const(0), i_STDBY=Const(0),
            i_PHASESEL0=Const(0), i_PHASESEL1=Const(0), i_PHASEDIR=Const(1),
            i_PHASESTEP=Const(1), i_PHASELOADREG=Const(1), i_PLLWAKESYNC=Const(0),
            i_ENCLKOP=Const(0),
            o_CLKOP=self.clk, o_LOCK=self.lock)
        platform.add_clock_constraint(self.clk, self.constraint_hz)

        gsr0, gsr1 = Signal(), Signal()
        m.submodules += [
            Instance("FD1S3AX", p_GSR="DISABLED", i_CK=self.clk, i_D=self.lock, o_Q=gsr0),
            Instance("FD1S3AX", p_GSR="DISABLED", i_CK=self.clk, i_D=gsr0, o_Q=gsr1),
            Instance("SGSR", i_CLK=self.clk, i_GSR=gsr1),      # GSR is active low
        ]
        return m


def clocking_for(pll, *, constraint_hz=None):
    """Return the clocking Elaboratable that runs ``sync`` from ``pll``."""
    cls = {ICE40PLL: ICE40Clocking, ECP5PLL: ECP5Clocking}.get(type(pll))
    if cls is None:
        raise TypeError(f"pll: expected an ICE40PLL or ECP5PLL, not {pll!r}")
    return cls(pll, constraint_hz=constraint_hz)

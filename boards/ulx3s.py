"""Radiona ULX3S: ECP5 12F/25F/45F/85F in CABGA381, 25 MHz, FTDI FT231X USB-UART."""

from amaranth_boards.ulx3s import (ULX3S_12F_Platform, ULX3S_25F_Platform, ULX3S_45F_Platform,
                                   ULX3S_85F_Platform)

from ..golden_model import ArrayConfig, CoreConfig
from .base import Board, Capacity

__all__ = ["ULX3S12F", "ULX3S25F", "ULX3S45F", "ULX3S85F"]


def _buildable(platform_class):
    """The platform without openFPGALoader among the tools a *build* requires (it only
    programs the board; ``spikeforge`` builds must run where it is not installed)."""
    class Platform(platform_class):
        @property
        def required_tools(self):
            return [t for t in super().required_tools if t != "openFPGALoader"]
    Platform.__name__ = Platform.__qualname__ = platform_class.__name__
    return Platform


class _ULX3S(Board):
    family = "ecp5"
    uart = ("uart", 0)          # FT231X: FPGA rx M1, tx L4
    baud = 1_000_000
    target_mhz = 90
    notes = "Host link on the FT231X (the US1 USB port), 1 Mbaud 8N1."
    cores, neurons, axons, lanes, weight_bits = 1, 256, 256, 4, 8

    def default_array(self):
        # 8-bit weights in block RAM, 4 lanes: a 32-bit row packs the 512 x 36 mode of a
        # DP16KD with little waste; state and routing tables go to distributed RAM
        # (see spikeforge.fit).  Sizes are the largest that fit with a few blocks spare.
        core = CoreConfig(neurons=self.neurons, axons=self.axons, weight_bits=self.weight_bits,
                          membrane_bits=16, lanes=self.lanes)
        return ArrayConfig.uniform(core, self.cores, phases=4, routes_per_core=self.neurons)


class ULX3S12F(_ULX3S):
    name = "ulx3s-12f"
    platform_class = _buildable(ULX3S_12F_Platform)
    # The 12F is a 25F die sold for 12K LUTs: Lattice's figures, not the die's.
    capacity = Capacity(luts=12_000, ffs=12_000, brams=32, sprams=0, dsps=28)
    cores, neurons, axons = 2, 256, 100        # 28 of 32 block RAMs


class ULX3S25F(_ULX3S):
    name = "ulx3s-25f"
    platform_class = _buildable(ULX3S_25F_Platform)
    capacity = Capacity(luts=24_288, ffs=24_288, brams=56, sprams=0, dsps=28)
    cores, neurons, axons = 4, 256, 100        # 54 of 56 block RAMs


class ULX3S45F(_ULX3S):
    name = "ulx3s-45f"
    platform_class = _buildable(ULX3S_45F_Platform)
    capacity = Capacity(luts=43_848, ffs=43_848, brams=108, sprams=0, dsps=72)
    cores, neurons, axons = 4, 512, 100        # 106 of 108 block RAMs


class ULX3S85F(_ULX3S):
    name = "ulx3s-85f"
    platform_class = _buildable(ULX3S_85F_Platform)
    capacity = Capacity(luts=83_640, ffs=83_640, brams=208, sprams=0, dsps=156)

    def default_array(self):
        # 16 lanes per core for 8 x 16 x Fmax synaptic operations per second.  A 128-bit row
        # of 16 weights packs four 512 x 36 blocks; six cores of 95 axons (96 rows with the
        # bias, 24 blocks) and two of 111 (28 blocks) hold 405,504 synapses in 200 of the 208
        # blocks; the state, FIFOs and routing tables go to distributed RAM
        # (spikeforge.rtl.placement).
        small = CoreConfig(neurons=512, axons=95, weight_bits=8, membrane_bits=16, lanes=16)
        return ArrayConfig(cores=(small,) * 6 + (small.replace(axons=111),) * 2, phases=4,
                           routes_per_core=512)

"""Radiona ULX3S: ECP5 12F/25F/45F/85F in CABGA381, 25 MHz, FTDI FT231X USB-UART."""

from amaranth_boards.ulx3s import (ULX3S_12F_Platform, ULX3S_25F_Platform, ULX3S_45F_Platform,
                                   ULX3S_85F_Platform)

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
    # 25 MHz x 3 from the PLL (UART divisor 75 at 1 Mbaud): below the Fmax of each
    # device's built-in array at every nextpnr seed measured (docs/boards.md).
    clock_mhz = 75
    notes = "Host link on the FT231X (the US1 USB port), 1 Mbaud 8N1."
    cores, neurons, lanes = 1, 512, 4

    def default_array(self):
        # 8-bit weights in block RAM; as many axons per core as the fit check allows (block
        # RAM for the weights and the deep routing/FIFO memories, distributed RAM for the
        # state rows, logic within the headroom).
        return self.sized_array(cores=self.cores, neurons=self.neurons, lanes=self.lanes)


class ULX3S12F(_ULX3S):
    name = "ulx3s-12f"
    platform_class = _buildable(ULX3S_12F_Platform)
    # The 12F is a 25F die sold for 12K LUTs: Lattice's figures, not the die's.
    capacity = Capacity(luts=12_000, ffs=12_000, brams=32, sprams=0, dsps=28)
    cores, neurons, lanes = 1, 512, 4


class ULX3S25F(_ULX3S):
    name = "ulx3s-25f"
    platform_class = _buildable(ULX3S_25F_Platform)
    capacity = Capacity(luts=24_288, ffs=24_288, brams=56, sprams=0, dsps=28)
    cores, neurons, lanes = 2, 512, 4


class ULX3S45F(_ULX3S):
    name = "ulx3s-45f"
    platform_class = _buildable(ULX3S_45F_Platform)
    capacity = Capacity(luts=43_848, ffs=43_848, brams=108, sprams=0, dsps=72)
    cores, neurons, lanes = 4, 512, 8


class ULX3S85F(_ULX3S):
    name = "ulx3s-85f"
    platform_class = _buildable(ULX3S_85F_Platform)
    capacity = Capacity(luts=83_640, ffs=83_640, brams=208, sprams=0, dsps=156)
    # 8 cores of 512 neurons, 8 lanes each, 87 axons (356,352 synapses), at 75 MHz.  Nine
    # packed lanes of 576 neurons hold 400,896 synapses in the same block RAM but reached
    # 73.93 MHz (78 % of the logic); 16 lanes a core (10 GSOP/s at 78 MHz) take more logic
    # than the device has (see "What bounds the built-in arrays" in docs/boards.md).
    cores, neurons, lanes = 8, 512, 8

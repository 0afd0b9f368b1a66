"""1BitSquared iCEBreaker: iCE40 UP5K, 12 MHz, FTDI FT2232H (channel B is the UART)."""

from amaranth_boards.icebreaker import ICEBreakerPlatform

from ..golden_model import ArrayConfig, CoreConfig
from .base import Board, Capacity

__all__ = ["ICEBreaker"]


class ICEBreaker(Board):
    name = "icebreaker"
    platform_class = ICEBreakerPlatform
    family = "ice40"
    capacity = Capacity(luts=5280, ffs=5280, brams=30, sprams=4, dsps=8)
    uart = ("uart", 0)          # FT2232H channel B: FPGA rx pin 6, tx pin 9
    baud = 1_000_000
    target_mhz = 36
    # The PLL runs the design at 33 MHz (12 MHz x 88 / 32, exact; UART divisor 33 at 1 Mbaud):
    # below the Fmax of the built-in array at every nextpnr seed measured (docs/boards.md).
    clock_mhz = 33
    notes = ("Host link on the FT2232H's second channel (the USB cable that powers the board; "
             "e.g. /dev/ttyUSB1), 1 Mbaud 8N1.")

    def default_array(self):
        # One core, all four SPRAMs: 8 lanes of 4-bit weights (two SPRAMs side by side, two
        # deep) hold 256 axons x 128 rows; the bias row spills into two block RAMs.  16 lanes
        # would double the peak rate but need about 5,600 logic cells with the host link
        # (measured), more than the UP5K's 5,280; 8 lanes placed and routed in 4,644.  8-bit
        # membranes and accumulators (16 events per neuron per timestep) and 255 fan-out
        # entries keep the state and the spill in 23 of the 30 block RAMs.
        core = CoreConfig(neurons=1024, axons=256, weight_bits=4, membrane_bits=8,
                          acc_bits=8, lanes=8, leak="shift", reset="zero")
        return ArrayConfig(cores=(core,), phases=1, routes_per_core=255)

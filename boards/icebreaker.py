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
    notes = ("Host link on the FT2232H's second channel (the USB cable that powers the board; "
             "e.g. /dev/ttyUSB1), 1 Mbaud 8N1.")

    def default_array(self):
        # One core, all four SPRAMs: 16 lanes of 4-bit weights (64 bits) per cycle, 16,384
        # rows: 255 axons x 64 rows plus the bias row (an axon more would spill the bias into
        # four block RAMs).  The UP5K's 30 block RAMs of 16 bits each bound the state: every
        # 16 bits of a 16-lane row cost a block whatever its depth, hence 8-bit membranes and
        # accumulators (16 events per neuron per timestep) and 255 fan-out entries.
        core = CoreConfig(neurons=1024, axons=255, weight_bits=4, membrane_bits=8,
                          acc_bits=8, lanes=16, leak="shift", reset="zero")
        return ArrayConfig(cores=(core,), phases=1, routes_per_core=255)

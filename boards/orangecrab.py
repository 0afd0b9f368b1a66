"""Good Stuff Department OrangeCrab r0.2: ECP5 25F in CSFBGA285, 48 MHz, Feather form factor.

The OrangeCrab has no USB-UART bridge (its USB port goes straight to the FPGA).  The host link
uses a 3.3 V USB-serial adapter on the Feather header: **pin 0 is the FPGA's RX** (connect the
adapter's TX) and **pin 1 the FPGA's TX** (the adapter's RX), plus GND; 115,200 baud by
default, which every adapter supports.
"""

from amaranth.build import Attrs
from amaranth_boards.orangecrab_r0_2 import OrangeCrabR0_2_25FPlatform
from amaranth_boards.resources import UARTResource

from .base import Board, Capacity

__all__ = ["OrangeCrab25F"]


class _Platform(OrangeCrabR0_2_25FPlatform):
    """The platform without the ``dfu-suffix`` step (it is not on PyPI, so the build could not
    run at all): ``top.bit`` is left without the DFU suffix; add it with ``dfu-suffix -v 1209
    -p 5af0 -a top.bit`` before ``dfu-util`` if the bootloader asks for it."""

    @property
    def required_tools(self):
        return [t for t in super().required_tools if t != "dfu-suffix"]

    @property
    def command_templates(self):
        return [c for c in super().command_templates if "dfu-suffix" not in c]


_Platform.__name__ = _Platform.__qualname__ = OrangeCrabR0_2_25FPlatform.__name__


class OrangeCrab25F(Board):
    name = "orangecrab-25f"
    platform_class = _Platform
    family = "ecp5"
    capacity = Capacity(luts=24_288, ffs=24_288, brams=56, sprams=0, dsps=28)
    uart = ("uart", 0)
    baud = 115_200
    target_mhz = 90
    # 48 MHz x 15 / 8 from the PLL, the target (UART divisor 781 at 115,200 baud, 0.03 %
    # off): below the Fmax of its built-in array at every nextpnr seed measured
    # (docs/boards.md).
    clock_mhz = 90
    notes = ("No USB-UART bridge: a 3.3 V USB-serial adapter on Feather pins 0 (FPGA RX) and "
             "1 (FPGA TX) and GND, 115,200 baud 8N1.")

    def extra_resources(self):
        return [UARTResource(0, rx="0", tx="1", conn=("io", 0),
                             attrs=Attrs(IO_TYPE="LVCMOS33", PULLMODE="UP"))]

    def default_array(self):
        # As the ULX3S-25F (same device).
        return self.sized_array(cores=2, neurons=512, lanes=4)

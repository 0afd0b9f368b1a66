"""spikeforge: an open FPGA neuromorphic hardware design kit.

Subpackages: :mod:`spikeforge.golden_model` (the bit-exact simulator and the configuration
objects), :mod:`spikeforge.rtl` (Amaranth gateware), :mod:`spikeforge.boards` (FPGA boards).
"""

__version__ = "0.1.0"

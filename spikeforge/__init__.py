"""spikeforge: an open FPGA neuromorphic hardware design kit.

Subpackages: :mod:`spikeforge.golden_model` (the bit-exact simulator and the configuration
objects), :mod:`spikeforge.rtl` (Amaranth gateware), :mod:`spikeforge.boards` (FPGA boards).
The path from a trained network to hardware: :func:`load_nir` (or :func:`from_snntorch`),
:func:`quantize`, :func:`map_network`, then :class:`Device`.
"""

__version__ = "0.1.0"

from .device import Device
from .mapper import fit_check, map_network
from .nir_import import FloatNetwork, load_nir, to_nir
from .quantize import quantize


def from_snntorch(module, sample, **kwargs):
    """Build a :class:`FloatNetwork` from an snnTorch module (needs the ``train`` extra)."""
    from .snntorch_import import from_snntorch as convert
    return convert(module, sample, **kwargs)


__all__ = ["Device", "FloatNetwork", "load_nir", "to_nir", "from_snntorch", "quantize",
           "map_network", "fit_check", "__version__"]

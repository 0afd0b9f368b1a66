"""Amaranth gateware of the spikeforge neuromorphic array.

:class:`LIFCore` is one time-multiplexed LIF core (:mod:`.core`, configuration bus in
:mod:`.cfgbus`); :class:`NeuromorphicArray` tiles cores on an AER mesh (:mod:`.array`,
:mod:`.mesh`, :mod:`.router`, :mod:`.route_table`, host bus in :mod:`.array_bus`).
"""

from .array import NeuromorphicArray
from .core import LIFCore

__all__ = ["LIFCore", "NeuromorphicArray"]

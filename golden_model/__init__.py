"""Bit-exact golden model of the spikeforge hardware: the specification in executable form.

* :mod:`.config` -- :class:`CoreConfig` and :class:`ArrayConfig`, what the hardware is built with;
* :mod:`.network` -- :class:`CoreParams`, :class:`Routes`, :class:`Network`, what is loaded into it;
* :mod:`.neuron` -- the integer LIF equations of one tick;
* :mod:`.simulator` -- :class:`Simulator`, the vectorized event-driven simulator.
"""

from .checks import ConfigError
from .config import ArrayConfig, CoreConfig
from .network import HOST, CoreParams, Network, Routes, assign_phases
from .neuron import decay, saturate, tick
from .simulator import RunResult, SimulationError, Simulator

__all__ = ["ConfigError", "SimulationError", "CoreConfig", "ArrayConfig", "CoreParams",
           "Routes", "Network", "HOST", "assign_phases", "Simulator", "RunResult",
           "decay", "saturate", "tick"]

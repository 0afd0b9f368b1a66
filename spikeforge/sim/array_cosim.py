"""Run a loaded network on the RTL of a ``NeuromorphicArray`` in Verilator, checked against the
golden model.

:func:`run_network` builds the array for the network's :class:`ArrayConfig` (cached, one build
per configuration), loads the network through the array's command stream as a host would, runs
the inputs timestep by timestep and compares every host spike, every neuron's state and every
counter with the golden model (:mod:`.array_check`).  It returns the RTL's host spikes and the
list of mismatches; with ``strict`` the first mismatch raises :class:`~.runner.CosimFailure`.
"""

import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from .runner import build

__all__ = ["CosimRun", "run_network"]


@dataclasses.dataclass
class CosimRun:
    """The result of :func:`run_network`.

    Members
    -------
    host_spikes : list of list of (core, neuron)
        What reached the host in each timestep, in arrival order.
    mismatches : list of str
        Every difference from the golden model (empty when bit-exact).
    membrane : int array (timesteps, neurons) or None
        Every neuron's membrane read from the RTL after each timestep (with ``record``).
    counters : list of dict
        Per segment, the counters of each core at its end: ``{core: {"EVENTS": ..., ...}}``.
    cycles : int
        Simulated clock cycles, loading included.
    seconds : float
        Wall time of the simulation (the build excluded).
    build_reused : bool
    """

    host_spikes: list
    mismatches: list
    membrane: np.ndarray | None
    counters: list
    cycles: int
    seconds: float
    build_reused: bool


def run_network(network, inputs, *, spike_ready="none", event_gaps="none", seed=0,
                strict=False, fifo_depth=8, root=None, name="run", segments=None,
                record=False, simulator=None):
    """Run ``inputs`` (shape (timesteps, axons), event counts) through the RTL of ``network``.

    ``segments`` splits the timesteps into runs that each start from a cleared state (the
    array's CLEAR register; the golden model is reset alike), e.g. one per sample of a data
    set, so many samples share one simulation.  With ``record`` the membranes are returned.
    ``simulator`` is ``"verilator"`` (the default) or ``"icarus"``.

    ``spike_ready`` is the backpressure on the host spike output (``none``, ``p10``, ``p50``,
    ``bursty``, ``pause34``, ``long``), ``event_gaps`` the idle cycles between host events
    (``none``, ``random``, ``bursty``).
    """
    from ..rtl.array import NeuromorphicArray
    inputs = np.asarray(inputs)
    b = build(NeuromorphicArray(network.array, fifo_depth=fifo_depth), root=root,
              simulator=simulator,
              label=f"array {network.array.mesh}, {network.array.n_cores} cores")
    with tempfile.TemporaryDirectory(prefix="spikeforge-cosim-") as tmp:
        net_file, in_file = Path(tmp) / "net.npz", Path(tmp) / "inputs.npy"
        network.save(net_file)
        np.save(in_file, inputs.astype(np.int64))
        result = b.run("spikeforge.sim.array_check", {
            "network": str(net_file), "inputs": str(in_file), "spike_ready": spike_ready,
            "event_gaps": event_gaps, "seed": seed, "fifo_depth": fifo_depth,
            "strict": strict, "record": record,
            "segments": list(segments) if segments is not None else [len(inputs)]}, name=name)
    r = result.results
    return CosimRun(host_spikes=[[tuple(s) for s in step] for step in r["rtl_spikes"]],
                    mismatches=r["mismatches"],
                    membrane=(np.array(r["rtl_membrane"], np.int64).reshape(len(inputs), -1)
                              if record else None),
                    counters=[{int(k): v for k, v in seg.items()} for seg in r["counters"]],
                    cycles=r["cycles"], seconds=result.seconds,
                    build_reused=b.reused)

"""One interface to run a mapped network, whatever executes it.

``Device("golden")`` runs on the bit-exact golden model, ``Device("cosim")`` on the RTL of the
array in Verilator (loaded through its command stream as a host would, and checked against the
golden model on every timestep), ``Device("serial:PORT")`` on a board through the UART host link
(:mod:`spikeforge.host`).  All take the same calls: load a network, run input spikes over the
*network's* inputs, get the *network's* outputs back::

    dev = Device("golden")
    dev.load(mapped)                       # a MappedNetwork (or a QuantizedNetwork)
    res = dev.run(spikes, timesteps=32)    # spikes: bool (timesteps, n_inputs)
    res.spikes, res.membrane               # (timesteps, n_outputs)

A backend implements :class:`Backend`: ``load(mapped)`` and ``run(axon_counts, record)``
returning a golden-model :class:`~spikeforge.golden_model.RunResult`; the translation between
network inputs/outputs and the array's axons/neurons lives here, once, for all backends.
"""

import dataclasses

import numpy as np

from .golden_model import Network, Simulator
from .golden_model.checks import ConfigError
from .mapper import MappedNetwork, map_network
from .quantize import QuantizedNetwork

__all__ = ["Device", "DeviceResult", "DeviceError", "BACKENDS"]

#: Backends and whether they are available in this version.
BACKENDS = {"golden": True, "cosim": True, "serial": True}


class DeviceError(ConfigError):
    """A backend that is not available, or a run before a network was loaded."""


@dataclasses.dataclass
class DeviceResult:
    """Outputs of one run.

    Members
    -------
    spikes : bool array (timesteps, n_outputs)
        Spikes of the output columns (readout columns never spike).
    membrane : float array (timesteps, n_outputs) or None
        Membrane of the output columns in float units (integer value / scale), when recorded.
    membrane_raw : int array (timesteps, n_outputs) or None
        The integer membrane values.
    events, sops, spike_counts : int arrays (cores,)
        The array's counters over the run.
    """

    spikes: np.ndarray
    membrane: np.ndarray | None
    membrane_raw: np.ndarray | None
    events: np.ndarray
    sops: np.ndarray
    spike_counts: np.ndarray


class Backend:
    """What executes a network: the golden model here; RTL cosimulation and boards later."""

    def load(self, network):
        raise NotImplementedError

    def run(self, axon_counts, record):
        raise NotImplementedError


class _Golden(Backend):
    def load(self, network):
        self.sim = Simulator(network)

    def run(self, axon_counts, record):
        self.sim.reset()
        return self.sim.run(axon_counts, record=record)


class _Cosim(Backend):
    """The array RTL in Verilator; every timestep is also compared with the golden model."""

    def load(self, network):
        self.network = network
        self.sim = Simulator(network)      # numbering of host outputs and neurons
        self.mismatches = []

    def run(self, axon_counts, record):
        return self.run_many([axon_counts], record)[0]

    def run_many(self, batches, record):
        from .golden_model.simulator import RunResult
        from .sim.array_cosim import run_network
        lengths = [len(b) for b in batches]
        run = run_network(self.network, np.concatenate(batches), segments=lengths,
                          record=record, name="device")
        self.mismatches = run.mismatches
        self.cycles = run.cycles
        sim = self.sim
        host_index = {}
        for k, (c, n) in enumerate(sim.host_outputs):
            host_index.setdefault((int(c), int(n)), []).append(k)
        results, t = [], 0
        for length, ctr in zip(lengths, run.counters):
            host = np.zeros((length, len(sim.host_outputs)), bool)
            for step in range(length):
                for c, n in set(run.host_spikes[t + step]):
                    host[step, host_index[(c, n)]] = True
            res = RunResult(spikes=np.zeros((length, len(sim.v)), bool), host_spikes=host)
            if record:
                res.membrane = run.membrane[t:t + length]
            res.events = np.array([ctr[c]["EVENTS"] for c in sorted(ctr)])
            res.sops = np.array([ctr[c]["SOPS"] for c in sorted(ctr)])
            res.spike_counts = np.array([ctr[c]["SPIKES"] for c in sorted(ctr)])
            results.append(res)
            t += length
        return results


class _Serial(Backend):
    """A board's array through the UART host link; ``transport`` replaces the port in tests."""

    def __init__(self, port, transport=None, baud=None):
        from .host import HostLink
        kwargs = {} if baud is None else {"baud": baud}
        try:
            self.link = HostLink(transport if transport is not None else port, **kwargs)
        except (OSError, ImportError) as exc:     # pyserial's SerialException is an OSError
            raise DeviceError(f"serial:{port}: cannot open the port ({exc})") from exc

    def load(self, network):
        self.link.load_network(network)
        self.sim = Simulator(network)      # numbering of host outputs and neurons
        self.network = network

    def run(self, axon_counts, record):
        from .golden_model.simulator import RunResult
        from .rtl.cfgbus import Space, StateField
        from .rtl.array_bus import Target
        link, net = self.link, self.network
        link.clear()
        steps = len(axon_counts)
        if not record:
            host = link.run(axon_counts).host_spikes
            membrane = None
        else:                              # one timestep at a time, membranes read after each
            host = np.zeros((steps, len(self.sim.host_outputs)), bool)
            membrane = np.zeros((steps, int(self.sim.neuron_offset[-1])), np.int64)
            for t in range(steps):
                host[t] = link.run(axon_counts[t:t + 1]).host_spikes[0]
                for c, cfg in enumerate(net.array.cores):
                    lo = self.sim.neuron_offset[c]
                    membrane[t, lo:lo + cfg.neurons] = link.read_block(
                        Target.CORE, c, Space.STATE, int(StateField.MEMBRANE) * cfg.neurons,
                        cfg.neurons)
        res = RunResult(spikes=np.zeros((steps, int(self.sim.neuron_offset[-1])), bool),
                        host_spikes=host, membrane=membrane)
        ctr = [link.counters(c) for c in range(net.array.n_cores)]
        res.events = np.array([c["events"] for c in ctr])
        res.sops = np.array([c["sops"] for c in ctr])
        res.spike_counts = np.array([c["spikes"] for c in ctr])
        return res


class Device:
    """A place to run mapped networks: ``"golden"``, ``"cosim"`` or ``"serial:PORT"``.

    Parameters
    ----------
    backend : str
        ``"golden"`` (the golden model), ``"cosim"`` (the array RTL in Verilator, needs the
        ``sim`` extra; :attr:`mismatches` lists any difference from the golden model seen in the
        last run) or ``"serial:PORT"`` (a board flashed with ``spikeforge build``, through its
        UART host link; e.g. ``"serial:/dev/ttyUSB1"``).
    transport : object, optional
        For ``"serial"``: an object with ``write(bytes)`` and ``read(n)`` used instead of
        opening ``PORT`` (a simulated board in tests).
    baud : int, optional
        For ``"serial"``: the bit rate of the bitstream's host link.
    """

    def __init__(self, backend="golden", *, transport=None, baud=None):
        if not isinstance(backend, str):
            raise DeviceError(f"backend: expected a string, got {backend!r}")
        kind = backend.split(":", 1)[0]
        if kind not in BACKENDS:
            raise DeviceError(f"backend: expected one of 'golden', 'cosim', 'serial:PORT', got "
                              f"{backend!r}")
        if not BACKENDS[kind]:
            raise DeviceError(f"backend {backend!r} is not available yet in this version of "
                              f"spikeforge; available: "
                              f"{', '.join(k for k, v in BACKENDS.items() if v)}")
        if kind == "serial" and not backend.partition(":")[2]:
            raise DeviceError("backend 'serial' needs a port: 'serial:/dev/ttyUSB1'")
        self.backend = backend
        if kind == "serial":
            self._impl = _Serial(backend.partition(":")[2], transport, baud)
        else:
            self._impl = _Cosim() if kind == "cosim" else _Golden()
        self.mapped = None

    @property
    def mismatches(self):
        """Differences between the RTL and the golden model in the last cosim run."""
        return getattr(self._impl, "mismatches", [])

    def load(self, network, **map_options):
        """Load a :class:`MappedNetwork`, or map a :class:`QuantizedNetwork` first
        (``map_options`` go to :func:`map_network`)."""
        if isinstance(network, QuantizedNetwork):
            network = map_network(network, **map_options)
        elif map_options:
            raise DeviceError(f"map options {sorted(map_options)} apply to a QuantizedNetwork "
                              f"only")
        if isinstance(network, Network):
            raise DeviceError("load: a bare Network has no network inputs or outputs; load "
                              "the MappedNetwork from map_network, or use golden_model.Simulator")
        if not isinstance(network, MappedNetwork):
            raise DeviceError(f"load: expected a MappedNetwork or QuantizedNetwork, got "
                              f"{type(network).__name__}")
        self._impl.load(network.network)
        self.mapped = network
        n_axons = sum(c.axons for c in network.network.array.cores)
        self._fanout = np.zeros((network.n_inputs, n_axons), np.int64)
        self._fanout[network.input_columns, network.input_axons] = 1
        return self

    def run(self, input_spikes=None, timesteps=None, *, record_membrane=None):
        """Run from reset; return a :class:`DeviceResult`.

        ``input_spikes`` is a bool (or 0/1) array (timesteps, n_inputs) over the network's
        inputs; ``timesteps`` pads it with silence (or gives the length when it is None).
        The membrane of the outputs is recorded when ``record_membrane`` is true, by default
        when the network has readout outputs.
        """
        xs, steps, record = self._inputs(input_spikes, timesteps, record_membrane)
        return self._outputs(self._impl.run(xs @ self._fanout, record), steps, record)

    def run_many(self, inputs, timesteps=None, *, record_membrane=None):
        """Run several input arrays, each from reset; return a list of :class:`DeviceResult`.

        On ``"cosim"`` they share one simulation (one network load), so this is the way to
        run a data set.
        """
        prepared = [self._inputs(x, timesteps, record_membrane) for x in inputs]
        if not prepared:
            return []
        record = prepared[0][2]
        counts = [xs @ self._fanout for xs, _, _ in prepared]
        if isinstance(self._impl, _Cosim):
            raw = self._impl.run_many(counts, record)
        else:
            raw = [self._impl.run(c, record) for c in counts]
        return [self._outputs(r, steps, record) for r, (_, steps, _) in zip(raw, prepared)]

    def _inputs(self, input_spikes, timesteps, record_membrane):
        m = self.mapped
        if m is None:
            raise DeviceError("run: no network loaded (call load first)")
        if input_spikes is None:
            if timesteps is None:
                raise DeviceError("run: give input_spikes or timesteps")
            input_spikes = np.zeros((0, m.n_inputs), bool)
        x = np.asarray(input_spikes)
        if x.ndim != 2 or x.shape[1] != m.n_inputs:
            raise DeviceError(f"input_spikes: expected shape (timesteps, {m.n_inputs}), got "
                              f"{x.shape}")
        if x.dtype.kind not in "biu" or (x.size and (x.min() < 0 or x.max() > 1)):
            raise DeviceError(f"input_spikes: expected booleans (or 0/1), got dtype {x.dtype}")
        steps = len(x) if timesteps is None else timesteps
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) \
                or steps < len(x):
            raise DeviceError(f"timesteps: expected an integer >= {len(x)} (the input length), "
                              f"got {timesteps!r}")
        xs = np.zeros((int(steps), m.n_inputs), np.int64)
        xs[:len(x)] = x
        record = (not m.output_spiking.all()) if record_membrane is None else bool(record_membrane)
        return xs, int(steps), record

    def _outputs(self, res, steps, record):
        m = self.mapped
        sim = self._impl.sim
        cols = sim.neuron_offset[m.output_cores] + m.output_neurons
        spikes = np.zeros((steps, m.n_outputs), bool)
        host = {(int(c), int(n)): k for k, (c, n) in enumerate(sim.host_outputs)}
        for j in np.flatnonzero(m.output_spiking):
            spikes[:, j] = res.host_spikes[:, host[(int(m.output_cores[j]),
                                                    int(m.output_neurons[j]))]]
        raw = mem = None
        if record:
            raw = res.membrane[:, cols]
            mem = raw / m.output_scale
        return DeviceResult(spikes, mem, raw, res.events, res.sops, res.spike_counts)

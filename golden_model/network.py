"""Run-time contents of the hardware: what a trained network loads into an array.

:class:`CoreParams` holds one core's weights, bias, threshold, leaks, refractory period and
phase; :class:`Routes` one core's routing table; :class:`Network` binds them to an
:class:`ArrayConfig`.  Everything is checked against the configuration on construction, so a
network that loads is one the hardware can hold exactly: no value is truncated on its way into
a memory image.
"""

import dataclasses
import io
import json
import os
import zipfile
import zlib
from contextlib import nullcontext as _keep

import numpy as np

from .checks import ConfigError, check_int, check_int_array, signed_range
from .config import ArrayConfig, CoreConfig

__all__ = ["HOST", "CoreParams", "Routes", "Network", "assign_phases"]

#: Destination core of a route that sends the spike to the host output.
HOST = -1


@dataclasses.dataclass(frozen=True, eq=False)
class CoreParams:
    """Run-time parameters of one core, checked against its :class:`CoreConfig`.

    Parameters
    ----------
    weights : array (axons, neurons)
        Signed ``weight_bits``-wide weights; ``weights[a, n]`` is added to neuron ``n`` for an
        event on axon ``a``.
    bias : array (neurons,)
        Signed ``weight_bits``-wide bias, added as ``bias << bias_shift`` at every tick.
    bias_shift : int
        0 to ``membrane_bits - weight_bits``.
    threshold : int
        1 to ``2**(membrane_bits-1) - 1``.
    leak : int
        Membrane leak: shift ``k`` in 0..V (0: no leak) or ``alpha`` in 0..2**F (mult mode).
    current_leak : int
        Synaptic current leak (CUBA), same encoding with the current width.
    refractory : int
        Refractory period in timesteps, 0 to ``2**refractory_bits - 1``.
    phase : int
        Tick phase of the core, checked against the array's phase count by :class:`Network`.
    """

    config: CoreConfig
    weights: np.ndarray
    bias: np.ndarray | None = None
    bias_shift: int = 0
    threshold: int = 1
    leak: int = 0
    current_leak: int = 0
    refractory: int = 0
    phase: int = 0

    def __post_init__(self):
        cfg = self.config
        if not isinstance(cfg, CoreConfig):
            raise ConfigError(f"config: expected a CoreConfig, got {cfg!r}")
        set_ = object.__setattr__
        lo, hi = cfg.weight_range
        set_(self, "weights", check_int_array("weights", self.weights,
                                              (cfg.axons, cfg.neurons), lo, hi))
        bias = np.zeros(cfg.neurons, np.int64) if self.bias is None else self.bias
        set_(self, "bias", check_int_array("bias", bias, (cfg.neurons,), lo, hi))
        set_(self, "bias_shift", check_int("bias_shift", self.bias_shift, 0, cfg.max_bias_shift))
        set_(self, "threshold", check_int("threshold", self.threshold, 1,
                                          signed_range(cfg.membrane_bits)[1]))
        set_(self, "leak", check_int("leak", self.leak, 0, cfg.max_leak))
        set_(self, "current_leak", check_int("current_leak", self.current_leak, 0,
                                             cfg.max_current_leak))
        set_(self, "refractory", check_int("refractory", self.refractory, 0,
                                           cfg.max_refractory))
        set_(self, "phase", check_int("phase", self.phase, 0, 15))

    def scalars(self):
        """Return the scalar parameters as a dict (the core's parameter registers)."""
        return {k: getattr(self, k) for k in
                ("bias_shift", "threshold", "leak", "current_leak", "refractory", "phase")}


@dataclasses.dataclass(frozen=True, eq=False)
class Routes:
    """Routing table of one core: where each neuron's spike goes.

    Entry ``e`` sends a spike of neuron ``source[e]`` to axon ``axon[e]`` of core ``core[e]``,
    or to the host output when ``core[e] == HOST``.  A neuron may have any number of entries
    (fan-out is replicated at the source, in entry order) or none.
    """

    source: np.ndarray
    core: np.ndarray
    axon: np.ndarray

    def __post_init__(self):
        try:
            n = np.asarray(self.source).shape
        except ValueError as exc:   # ragged nested lists
            raise ConfigError(f"routes.source: expected a 1-D integer array, got "
                              f"{self.source!r}") from exc
        if len(n) != 1:
            raise ConfigError(f"routes.source: expected a 1-D array, got shape {n}")
        big = (1 << 31) - 1
        set_ = object.__setattr__
        set_(self, "source", check_int_array("routes.source", self.source, n, 0, big))
        set_(self, "core", check_int_array("routes.core", self.core, n, HOST, big))
        set_(self, "axon", check_int_array("routes.axon", self.axon, n, 0, big))

    @classmethod
    def empty(cls):
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))

    @classmethod
    def to_host(cls, neurons):
        """Send every neuron's spike to the host output."""
        src = np.arange(neurons)
        return cls(src, np.full(neurons, HOST), np.zeros(neurons, np.int64))

    @classmethod
    def from_list(cls, entries):
        """Build from ``[(source, core, axon), ...]``."""
        arr = np.asarray(list(entries), dtype=np.int64).reshape(-1, 3)
        return cls(arr[:, 0], arr[:, 1], arr[:, 2])

    def __len__(self):
        return len(self.source)


@dataclasses.dataclass(frozen=True, eq=False)
class Network:
    """A complete set of run-time contents for an :class:`ArrayConfig`.

    ``cores[c]`` are the parameters of core ``c`` and ``routes[c]`` its routing table.
    Construction checks every route against the array (no route names a core or axon that does
    not exist, no table exceeds ``routes_per_core``) and every phase against ``phases``.
    """

    array: ArrayConfig
    cores: tuple
    routes: tuple

    def __post_init__(self):
        arr = self.array
        if not isinstance(arr, ArrayConfig):
            raise ConfigError(f"array: expected an ArrayConfig, got {arr!r}")
        for name in ("cores", "routes"):
            if not isinstance(getattr(self, name), (list, tuple)):
                kind = "CoreParams" if name == "cores" else "Routes"
                raise ConfigError(f"{name}: expected a sequence of {kind}, one per core, got "
                                  f"{getattr(self, name)!r}")
        cores, routes = tuple(self.cores), tuple(self.routes)
        object.__setattr__(self, "cores", cores)
        object.__setattr__(self, "routes", routes)
        if len(cores) != arr.n_cores:
            raise ConfigError(f"cores: expected {arr.n_cores} CoreParams, got {len(cores)}")
        if len(routes) != arr.n_cores:
            raise ConfigError(f"routes: expected {arr.n_cores} routing tables, got {len(routes)}")
        for c, (p, cfg) in enumerate(zip(cores, arr.cores)):
            if not isinstance(p, CoreParams):
                raise ConfigError(f"cores[{c}]: expected CoreParams, got {p!r}")
            if p.config != cfg:
                raise ConfigError(f"cores[{c}].config: expected the array's core {c} "
                                  f"config {cfg}, got {p.config}")
            if p.phase >= arr.phases:
                raise ConfigError(f"cores[{c}].phase: expected an integer in "
                                  f"[0, {arr.phases - 1}], got {p.phase}")
        for c, r in enumerate(routes):
            self._check_routes(c, r)

    def _check_routes(self, c, r):
        arr = self.array
        if not isinstance(r, Routes):
            raise ConfigError(f"routes[{c}]: expected Routes, got {r!r}")
        if len(r) > arr.routes_per_core:
            raise ConfigError(f"routes[{c}]: expected at most routes_per_core="
                              f"{arr.routes_per_core} entries, got {len(r)}")
        n = arr.cores[c].neurons
        for e in range(len(r)):
            src, dst, axon = int(r.source[e]), int(r.core[e]), int(r.axon[e])
            if src >= n:
                raise ConfigError(f"routes[{c}].source[{e}]: expected a neuron in "
                                  f"[0, {n - 1}], got {src}")
            if dst >= arr.n_cores:
                raise ConfigError(f"routes[{c}].core[{e}]: expected a core in "
                                  f"[0, {arr.n_cores - 1}] or HOST ({HOST}), got {dst}")
            limit = 0 if dst == HOST else arr.cores[dst].axons - 1
            if axon > limit:
                raise ConfigError(f"routes[{c}].axon[{e}]: expected an axon in [0, {limit}] "
                                  f"of core {dst}, got {axon}")

    @classmethod
    def single(cls, params, routes=None):
        """Return a one-core network; by default every neuron's spike goes to the host."""
        arr = ArrayConfig((params.config,), phases=1)
        if routes is None:
            routes = Routes.to_host(params.config.neurons)
        return cls(arr, (params,), (routes,))

    @property
    def phases(self):
        return np.array([p.phase for p in self.cores], dtype=np.int64)

    # Serialization: one .npz holding the array config as JSON and every array.
    def save(self, path):
        """Write the network (and its array config) to ``path`` (a ``.npz`` file)."""
        arrays = {"meta": np.frombuffer(json.dumps({
            "format": "spikeforge-network", "version": 1, "array": self.array.to_dict(),
            "cores": [p.scalars() for p in self.cores]}).encode(), dtype=np.uint8)}
        for c, (p, r) in enumerate(zip(self.cores, self.routes)):
            arrays[f"weights{c}"] = p.weights
            arrays[f"bias{c}"] = p.bias
            arrays[f"routes{c}"] = np.stack([r.source, r.core, r.axon]).astype(np.int64)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path):
        """Read a network written by :meth:`save`; a corrupt file raises :class:`ConfigError`."""
        where = path if isinstance(path, io.IOBase) else os.fspath(path)
        try:
            with open(path, "rb") if not isinstance(path, io.IOBase) else _keep(path) as fh, \
                    np.load(fh, allow_pickle=False) as f:
                data = {k: f[k] for k in f.files}
            meta = json.loads(bytes(data["meta"]).decode())
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error,
                NotImplementedError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}: not a readable spikeforge network ({exc})") from exc
        if not isinstance(meta, dict) or meta.get("format") != "spikeforge-network":
            got = meta.get("format") if isinstance(meta, dict) else meta
            raise ConfigError(f"format: expected 'spikeforge-network', got {got!r}")
        for key in ("array", "cores"):
            if key not in meta:
                raise ConfigError(f"{where}: network metadata lacks {key!r}")
        arr = ArrayConfig.from_dict(meta["array"])
        if not isinstance(meta["cores"], list) or len(meta["cores"]) != arr.n_cores:
            raise ConfigError(f"{where}: expected parameters of {arr.n_cores} cores, got "
                              f"{meta['cores']!r:.80}")
        cores, routes = [], []
        try:
            for c, scalars in enumerate(meta["cores"]):
                if not isinstance(scalars, dict):
                    raise ConfigError(f"cores[{c}]: expected a mapping, got {scalars!r}")
                cores.append(CoreParams(arr.cores[c], data[f"weights{c}"], data[f"bias{c}"],
                                        **scalars))
                s, d, a = data[f"routes{c}"]
                routes.append(Routes(s, d, a))
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"{where}: network file is incomplete ({exc!r})") from exc
        return cls(arr, cores, routes)


def assign_phases(n_cores, routes):
    """Return a phase per core from the core-to-core routes, in topological order.

    Every route between two different cores is taken as feed-forward (zero delay in the same
    timestep); a core's self-routes are recurrent.  A cycle among feed-forward routes cannot be
    phased and raises :class:`ConfigError` naming the cores on the cycle; mark one of its edges
    recurrent by giving explicit phases instead.
    """
    succ = [set() for _ in range(n_cores)]
    for c, r in enumerate(routes):
        for d in np.unique(r.core):
            if d != HOST and d != c:
                succ[c].add(int(d))
    phase = [0] * n_cores
    state = [0] * n_cores  # 0 new, 1 on the stack, 2 done
    order = []

    def visit(c, path):
        if state[c] == 1:
            cycle = path[path.index(c):] + [c]
            raise ConfigError("phases: feed-forward routes form a cycle "
                              + " -> ".join(f"core {x}" for x in cycle)
                              + "; give explicit phases to make one of these edges recurrent")
        if state[c] == 2:
            return
        state[c] = 1
        for d in sorted(succ[c]):
            visit(d, path + [c])
        state[c] = 2
        order.append(c)

    for c in range(n_cores):
        visit(c, [])
    for c in reversed(order):
        for d in succ[c]:
            phase[d] = max(phase[d], phase[c] + 1)
    return phase

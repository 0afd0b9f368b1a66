"""Placement of a :class:`~spikeforge.quantize.QuantizedNetwork` onto neuron cores.

Rules:

* **Splitting.**  A layer's neurons are grouped by their leak codes (one leak per core), then cut
  into chunks of at most ``max_neurons`` (or the target core's size); each chunk is one core.
  A core's axons are the source neurons (inputs or layer neurons) with a non-zero weight into
  the chunk, one axon per (projection, source neuron).  A fan-in larger than a core's axons
  cannot be split (the sum must happen in one neuron) and does not fit.
* **Phases.**  Every core of a layer gets the layer's phase, the longest feed-forward path from
  the inputs (:meth:`FloatNetwork.order`).  Feed-forward projections go from a lower to a higher
  phase and arrive in the same timestep; recurrent ones (closing a cycle, self-loops too) go to
  the same or a lower phase and arrive one timestep later: the float and integer semantics.
* **Routes.**  A source neuron has one entry per (core, axon) it feeds; a spiking output layer's
  neurons get a ``HOST`` entry first.  Host inputs are injected on every axon an input feeds.
* **Widths.**  Generated cores take ``acc_bits = W + ceil(log2 axons)``, so ``max_events`` covers
  one event on every axon per timestep, the most the mapped network can deliver (each axon has
  one source and the device sends at most one event per input per timestep).

:func:`map_network` returns a :class:`MappedNetwork` (a golden-model :class:`Network` plus the
tables that translate network inputs and outputs), :func:`fit_check` a :class:`FitReport` that
lists what does not fit a given :class:`ArrayConfig` or set of limits, and by how much.  The
module is also the ``spikeforge map`` command (``add_arguments`` / ``run``).
"""

import dataclasses
import math

import numpy as np

from .golden_model import (HOST, ArrayConfig, CoreConfig, CoreParams, Network, Routes)
from .golden_model.checks import ConfigError, check_int
from .quantize import QuantizedNetwork

__all__ = ["MappingError", "FitReport", "CorePlacement", "MappedNetwork", "map_network",
           "fit_check", "add_arguments", "run"]

#: Core size used when neither limits nor a target array are given.
DEFAULT_MAX_NEURONS = 256
DEFAULT_MAX_AXONS = 1024
MAX_CORES = 64          # an 8 x 8 mesh


class MappingError(ConfigError):
    """A network that does not fit the target; the message lists every problem."""


@dataclasses.dataclass
class FitReport:
    """Whether a network fits; ``problems`` says what does not fit and by how much."""

    problems: list
    cores_needed: int
    phases_needed: int

    @property
    def ok(self):
        return not self.problems

    def __str__(self):
        if self.ok:
            return (f"fits: {self.cores_needed} cores, {self.phases_needed} phases")
        return ("does not fit:\n" + "\n".join(f"  - {p}" for p in self.problems))

    def raise_if_failed(self):
        if not self.ok:
            raise MappingError(str(self))


@dataclasses.dataclass(eq=False)
class CorePlacement:
    """One core's share of a layer.

    ``neurons[k]`` is the layer neuron on core neuron ``k``; axon ``a`` carries source neuron
    ``axon_index[a]`` of ``axon_source[a]`` (an input or a layer name) through projection
    ``axon_projection[a]``.
    """

    core: int
    layer: str
    neurons: np.ndarray
    axon_source: list
    axon_index: np.ndarray
    axon_projection: np.ndarray
    config: CoreConfig
    params: CoreParams | None = None


class MappedNetwork:
    """A quantized network placed on an array: the golden-model network plus its I/O tables.

    Members
    -------
    network : Network
    quantized : QuantizedNetwork
    placements : list of CorePlacement, one per used core (core order)
    input_columns, input_axons : int arrays (k,)
        Network input ``input_columns[e]`` is injected on global axon ``input_axons[e]``.
    output_cores, output_neurons : int arrays (n_outputs,)
        Where each network output column lives (core, neuron of the core).
    output_spiking : bool array (n_outputs,)
        False for readout columns (read their membrane).
    output_scale : float array (n_outputs,)
        Integer membrane units per float unit of each output column.
    """

    def __init__(self, network, quantized, placements, input_columns, input_axons, outputs):
        self.network = network
        self.quantized = quantized
        self.placements = placements
        self.input_columns = input_columns
        self.input_axons = input_axons
        self.output_cores = np.array([o[0] for o in outputs], np.int64)
        self.output_neurons = np.array([o[1] for o in outputs], np.int64)
        self.output_spiking = np.array([o[2] for o in outputs], bool)
        self.output_scale = np.array([o[3] for o in outputs], np.float64)

    @property
    def n_inputs(self):
        return self.quantized.n_inputs

    @property
    def n_outputs(self):
        return len(self.output_cores)

    def utilization(self):
        """Return one dict per core: neurons, axons, synapses and routes used of capacity."""
        rows = []
        arr = self.network.array
        used = {p.core: p for p in self.placements}
        for c, cfg in enumerate(arr.cores):
            p = used.get(c)
            w = self.network.cores[c].weights
            rows.append(dict(
                core=c, layer=p.layer if p else "-",
                neurons=len(p.neurons) if p else 0, neurons_cap=cfg.neurons,
                axons=len(p.axon_index) if p else 0, axons_cap=cfg.axons,
                synapses=int(np.count_nonzero(w)), synapses_cap=cfg.axons * cfg.neurons,
                routes=len(self.network.routes[c]), routes_cap=arr.routes_per_core,
                phase=int(self.network.cores[c].phase)))
        return rows

    def summary(self):
        """Return the placement and utilization table as text."""
        q = self.quantized
        arr = self.network.array
        lines = [f"{arr.n_cores} cores on a {arr.mesh[0]}x{arr.mesh[1]} mesh, {arr.phases} "
                 f"phases, {q.weight_bits}-bit weights, {q.membrane_bits}-bit membrane",
                 f"{'core':>4} {'layer':>12} {'phase':>5} {'neurons':>11} {'axons':>11} "
                 f"{'synapses':>15} {'routes':>11}"]
        tot = dict(neurons=0, neurons_cap=0, axons=0, axons_cap=0, synapses=0, synapses_cap=0)
        for u in self.utilization():
            lines.append(f"{u['core']:>4} {u['layer']:>12} {u['phase']:>5} "
                         f"{u['neurons']:>5}/{u['neurons_cap']:<5} {u['axons']:>5}/"
                         f"{u['axons_cap']:<5} {u['synapses']:>7}/{u['synapses_cap']:<7} "
                         f"{u['routes']:>5}/{u['routes_cap']:<5}")
            for k in tot:
                tot[k] += u[k]
        lines.append("utilization: " + ", ".join(
            f"{k} {tot[k]}/{tot[k + '_cap']} ({100 * tot[k] / tot[k + '_cap']:.1f}%)"
            for k in ("neurons", "axons", "synapses")))
        return "\n".join(lines)


def _limits(array, max_neurons, max_axons, lanes):
    if array is not None:
        if not isinstance(array, ArrayConfig):
            raise MappingError(f"array: expected an ArrayConfig, got {type(array).__name__}")
        return None, None, None
    max_neurons = check_int("max_neurons", DEFAULT_MAX_NEURONS if max_neurons is None
                            else max_neurons, 1, 65536)
    max_axons = check_int("max_axons", DEFAULT_MAX_AXONS if max_axons is None else max_axons,
                          1, 65536)
    lanes = check_int("lanes", lanes, 1, 64)
    if max_neurons < lanes:
        raise MappingError(f"max_neurons: expected at least lanes={lanes}, got {max_neurons}")
    return max_neurons - max_neurons % lanes, max_axons, lanes


def _plan(q, array, max_neurons, max_axons, lanes, routes_per_core):
    """Place every layer; return ``(placements, problems)`` (no Network is built)."""
    if not isinstance(q, QuantizedNetwork):
        raise MappingError(f"network: expected a QuantizedNetwork, got {type(q).__name__}")
    max_neurons, max_axons, lanes = _limits(array, max_neurons, max_axons, lanes)
    problems, placements = [], []
    projections = q.projections
    core = 0
    for name, lay in q.layers.items():
        into = [k for k, p in enumerate(projections) if p.target == name]
        keys = {}
        for n, key in enumerate(zip(lay.leak.tolist(), lay.current_leak.tolist())):
            keys.setdefault(key, []).append(n)
        for key, idx in keys.items():
            idx = np.asarray(idx, np.int64)
            while len(idx):
                if array is not None:
                    if core < array.n_cores:
                        cfg = array.cores[core]
                        cap = cfg.neurons
                    else:
                        cfg, cap = None, max(c.neurons for c in array.cores)
                else:
                    cfg, cap = None, max_neurons
                chunk, idx = idx[:cap], idx[cap:]
                src, sidx, sproj = [], [], []
                for k in into:
                    w = projections[k].weight[chunk]
                    used = np.flatnonzero(np.any(w != 0, axis=0))
                    src += [projections[k].source] * len(used)
                    sidx.append(used)
                    sproj.append(np.full(len(used), k, np.int64))
                sidx = np.concatenate(sidx) if sidx else np.zeros(0, np.int64)
                sproj = np.concatenate(sproj) if sproj else np.zeros(0, np.int64)
                n_ax = len(sidx)
                where = f"core {core} (layer {name!r}, {len(chunk)} neurons)"
                if array is None:
                    if n_ax > max_axons:
                        problems.append(f"{where}: fan-in of {n_ax} axons, more than "
                                        f"max_axons={max_axons} by {n_ax - max_axons}")
                    cfg = _core_config(q, lay, len(chunk), n_ax, lanes)
                elif cfg is not None:
                    problems += _compat(q, lay, cfg, n_ax, where)
                placements.append(CorePlacement(core, name, chunk, src, sidx, sproj, cfg))
                core += 1
    n_cores = core
    cap_cores = array.n_cores if array is not None else MAX_CORES
    if n_cores > cap_cores:
        problems.append(f"needs {n_cores} cores, the {'array has' if array else 'mesh holds'} "
                        f"{cap_cores}: short by {n_cores - cap_cores}")
    phases = q.phases
    cap_phases = array.phases if array is not None else 16
    if phases > cap_phases:
        problems.append(f"needs {phases} phases (feed-forward depth), the array has "
                        f"{cap_phases}: short by {phases - cap_phases}")
    # Route counts, without building the tables.
    if placements:
        pos_core = {n: np.zeros(lay.size, np.int64) for n, lay in q.layers.items()}
        for p in placements:
            pos_core[p.layer][p.neurons] = p.core
        counts = np.zeros(n_cores, np.int64)
        for p in placements:
            for s, j in zip(p.axon_source, p.axon_index.tolist()):
                if s in q.layers:
                    counts[pos_core[s][j]] += 1
        for name in q.outputs:
            if q.layers[name].spiking:
                np.add.at(counts, pos_core[name], 1)
        cap = routes_per_core if routes_per_core is not None else (
            array.routes_per_core if array is not None else None)
        if cap is not None:
            for c in np.flatnonzero(counts > cap):
                problems.append(f"core {c}: {counts[c]} routing entries, more than "
                                f"routes_per_core={cap} by {counts[c] - cap}")
    return placements, problems


def _core_config(q, lay, neurons, axons, lanes):
    return CoreConfig(
        neurons=max(lanes, math.ceil(neurons / lanes) * lanes), axons=max(1, axons),
        weight_bits=q.weight_bits, membrane_bits=q.membrane_bits, cuba=lay.cuba,
        current_bits=q.current_bits, leak=q.leak, decay_frac_bits=q.decay_frac_bits,
        reset=lay.reset, compare=lay.compare, refractory_bits=lay.refractory.bit_length(),
        lanes=lanes)


def _compat(q, lay, cfg, axons, where):
    """Return what keeps layer ``lay`` from running exactly on a core built with ``cfg``."""
    out = []

    def need(field, want, have):
        if want != have:
            out.append(f"{where}: needs {field}={want!r}, the core has {have!r}")

    if axons > cfg.axons:
        out.append(f"{where}: fan-in of {axons} axons, the core has {cfg.axons}: short by "
                   f"{axons - cfg.axons}")
    if axons > cfg.max_events:
        out.append(f"{where}: up to {axons} events per timestep, max_events={cfg.max_events} "
                   f"(acc_bits={cfg.acc_bits}): raise acc_bits to "
                   f"{cfg.weight_bits + math.ceil(math.log2(axons))}")
    if cfg.weight_bits < q.weight_bits:
        out.append(f"{where}: needs weight_bits >= {q.weight_bits}, the core has "
                   f"{cfg.weight_bits}")
    need("membrane_bits", q.membrane_bits, cfg.membrane_bits)
    need("cuba", lay.cuba, cfg.cuba)
    if lay.cuba:
        need("current_bits", q.current_bits, cfg.current_bits)
    need("leak", q.leak, cfg.leak)
    if q.leak == "mult":
        need("decay_frac_bits", q.decay_frac_bits, cfg.decay_frac_bits)
    if lay.spiking:
        need("reset", lay.reset, cfg.reset)
    need("compare", lay.compare, cfg.compare)
    if cfg.refractory_bits < lay.refractory.bit_length():
        out.append(f"{where}: refractory period {lay.refractory} needs refractory_bits >= "
                   f"{lay.refractory.bit_length()}, the core has {cfg.refractory_bits}")
    if lay.bias_shift > cfg.max_bias_shift:
        out.append(f"{where}: bias_shift {lay.bias_shift} exceeds the core's "
                   f"{cfg.max_bias_shift}")
    return out


def fit_check(quantized, *, array=None, max_neurons=None, max_axons=None, lanes=1,
              routes_per_core=None):
    """Return a :class:`FitReport`: does ``quantized`` fit ``array`` (or the limits)?"""
    placements, problems = _plan(quantized, array, max_neurons, max_axons, lanes,
                                 routes_per_core)
    return FitReport(problems, len(placements), quantized.phases)


def map_network(quantized, *, array=None, max_neurons=None, max_axons=None, lanes=1,
                routes_per_core=None):
    """Place ``quantized`` on cores and return a :class:`MappedNetwork`.

    Parameters
    ----------
    quantized : QuantizedNetwork
    array : ArrayConfig or None
        Target array: layers are placed on its cores in order, and every core must match the
        layer's widths and modes (unused cores stay empty).  ``None`` builds an array of
        cores sized to their contents, at most ``max_neurons`` x ``max_axons`` each.
    lanes : int
        Lanes of generated cores (neurons are padded to a multiple).
    routes_per_core : int or None
        Routing-table capacity to check against (generated arrays default to what is needed).

    Raises :class:`MappingError` listing every problem when the network does not fit.
    """
    placements, problems = _plan(quantized, array, max_neurons, max_axons, lanes,
                                 routes_per_core)
    if problems:
        raise MappingError("does not fit:\n" + "\n".join(f"  - {p}" for p in problems))
    q = quantized
    n_cores = len(placements)
    if array is None:
        cfgs = tuple(p.config for p in placements)
    else:
        cfgs = array.cores
    # Where every layer neuron lives.
    pos = {n: (np.zeros(lay.size, np.int64), np.zeros(lay.size, np.int64))
           for n, lay in q.layers.items()}
    for p in placements:
        pos[p.layer][0][p.neurons] = p.core
        pos[p.layer][1][p.neurons] = np.arange(len(p.neurons))
    routes = [[] for _ in cfgs]
    for name in q.outputs:
        if q.layers[name].spiking:
            for c, n in zip(*pos[name]):
                routes[c].append((int(n), HOST, 0))
    axon_offset = np.concatenate([[0], np.cumsum([c.axons for c in cfgs])])
    in_offs = q.input_offsets()
    in_cols, in_axons = [], []
    params = []
    for p in placements:
        lay = q.layers[p.layer]
        cfg = cfgs[p.core]
        w = np.zeros((cfg.axons, cfg.neurons), np.int64)
        for a, (s, j, k) in enumerate(zip(p.axon_source, p.axon_index.tolist(),
                                          p.axon_projection.tolist())):
            w[a, :len(p.neurons)] = q.projections[k].weight[p.neurons, j]
            if s in q.layers:
                c, n = pos[s][0][j], pos[s][1][j]
                routes[c].append((int(n), p.core, a))
            else:
                in_cols.append(in_offs[s] + j)
                in_axons.append(int(axon_offset[p.core]) + a)
        bias = np.zeros(cfg.neurons, np.int64)
        bias[:len(p.neurons)] = lay.bias[p.neurons]
        p.params = CoreParams(cfg, w, bias, bias_shift=lay.bias_shift, threshold=lay.threshold,
                              leak=int(lay.leak[p.neurons[0]]),
                              current_leak=int(lay.current_leak[p.neurons[0]]),
                              refractory=lay.refractory, phase=lay.phase)
        params.append(p.params)
    for c in range(n_cores, len(cfgs)):       # unused cores of a target array
        params.append(CoreParams(cfgs[c], np.zeros((cfgs[c].axons, cfgs[c].neurons), np.int64)))
    need = max([len(r) for r in routes] + [1])
    if array is None:
        cap = max(need, 2 * max(c.neurons for c in cfgs)) if routes_per_core is None \
            else routes_per_core
        arr = ArrayConfig(cfgs, phases=q.phases, routes_per_core=cap)
    else:
        arr = array
    net = Network(arr, params, [Routes.from_list(r) for r in routes])
    outputs = []
    for name in q.outputs:
        lay = q.layers[name]
        for n in range(lay.size):
            outputs.append((int(pos[name][0][n]), int(pos[name][1][n]), lay.spiking,
                            float(lay.scale[n])))
    return MappedNetwork(net, q, placements, np.asarray(in_cols, np.int64),
                         np.asarray(in_axons, np.int64), outputs)


# -- ``spikeforge map`` ----------------------------------------------------------------------------

def add_arguments(parser):
    parser.add_argument("network", help="a NIR file (nir.write)")
    parser.add_argument("--board", help="map onto the core array of a board (when the board "
                                        "module provides one)")
    parser.add_argument("--array", metavar="JSON", help="map onto the ArrayConfig in this file")
    parser.add_argument("--weight-bits", type=int, default=8)
    parser.add_argument("--membrane-bits", type=int, default=16)
    parser.add_argument("--leak", choices=("shift", "mult"), default="shift")
    parser.add_argument("--max-neurons", type=int, default=DEFAULT_MAX_NEURONS,
                        help="neurons per generated core")
    parser.add_argument("--max-axons", type=int, default=DEFAULT_MAX_AXONS,
                        help="axons per generated core")
    parser.add_argument("--lanes", type=int, default=1)
    parser.add_argument("--dt", type=float, default=None,
                        help="NIR time step (default: the file's metadata, else 1e-4)")
    parser.add_argument("--reset", choices=("zero", "subtract"), default=None)


def _board_array(name):
    from . import boards

    get = getattr(boards, "array_config", None)
    if get is None:
        raise MappingError(f"--board {name}: the board module has no core arrays yet; give "
                           f"the target with --array FILE.json or the --max-* limits")
    return get(name)


def run(args):
    from .nir_import import load_nir
    from .quantize import quantize

    array = None
    if args.array and args.board:
        raise MappingError("give --array or --board, not both")
    if args.array:
        try:
            with open(args.array) as f:
                array = ArrayConfig.from_json(f.read())
        except OSError as exc:
            raise MappingError(f"--array {args.array}: {exc}") from exc
    elif args.board:
        array = _board_array(args.board)
    net = load_nir(args.network, dt=args.dt, reset=args.reset)
    q = quantize(net, args.weight_bits, args.membrane_bits, leak=args.leak)
    print(q.report_text())
    kw = dict(array=array) if array is not None else dict(
        max_neurons=args.max_neurons, max_axons=args.max_axons, lanes=args.lanes)
    report = fit_check(q, **kw)
    if not report.ok:
        print(report)
        return 1
    print(map_network(q, **kw).summary())
    return 0

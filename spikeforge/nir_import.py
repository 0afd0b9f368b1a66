r"""Trained networks into spikeforge: the float network description and the NIR loader.

:class:`FloatNetwork` is the intermediate description every importer produces (NIR graphs with
:func:`load_nir`, snnTorch modules with :func:`spikeforge.snntorch_import.from_snntorch`, plain
numpy arrays with the builder methods) and that :mod:`spikeforge.quantize` turns into integers.
It holds *layers* (populations of neurons with float parameters), *projections* (float weight
matrices between an input or a layer and a layer) and the ordered *outputs*.

Float semantics of one timestep
-------------------------------
They are the hardware equations of ``docs/semantics.md`` in real numbers, so that quantization
is the only difference between a :class:`FloatNetwork` and the mapped hardware.  Layers update
in topological order; ``a`` is the input of a layer in timestep ``t``::

    a     = sum over projections P into the layer of  P.weight @ x_P
            x_P = input spikes of t, or spikes of the source layer in t (feed-forward),
                  or in t - 1 for a recurrent projection (one that closes a cycle, self-loops too)
    CUBA:   i = alpha * i + a;   x = i          otherwise  x = a
    active = (ref == 0)
    v     = beta * v + (x + bias  if active else 0)
    s     = active and v > threshold            (compare "gt";  v >= threshold for "ge")
    v     = 0 if s else v                       (reset "zero";  v - threshold for "subtract")
    ref   = refractory if s else max(ref - 1, 0)

A non-spiking readout layer (kind ``"li"`` / ``"cuba_li"``) never fires; its membrane is read.
Weights follow the NIR and ``torch.nn.Linear`` convention: shape ``(target, source)``.

NIR conventions pinned by :func:`load_nir`
------------------------------------------
NIR gives continuous-time equations and leaves the discretization open.  spikeforge uses
forward Euler with a step ``dt`` (the convention of snnTorch's NIR exporter and importer), zero
delay through feed-forward edges and a one-timestep delay on edges that close a cycle::

    LIF      tau dv/dt = (v_leak - v) + r I
             v[t] = v + dt/tau (v_leak - v + r I[t])
                  -> beta = 1 - dt/tau,  input gain r dt/tau,  bias dt/tau v_leak
    IF       dv/dt = r I          -> v[t] = v + r I[t]  (beta = 1, gain r: snnTorch's importer)
    LI       as LIF without firing (a readout layer)
    CubaLIF  tau_syn dI/dt = -I + w_in S;  tau_mem dv/dt = (v_leak - v) + r I
             -> alpha = 1 - dt/tau_syn, beta = 1 - dt/tau_mem,
                gain (w_in dt/tau_syn) (r dt/tau_mem) folded into the weights
    CubaLI   as CubaLIF without firing

The input gain is folded into the weight rows of the target neuron (and its upstream bias), so
thresholds keep their NIR values.  A neuron fires when ``v > v_threshold`` (NIR's strict
comparison; ``compare="gt"``), in the same timestep as its input arrives, after decay and
integration, and then resets: ``reset="zero"`` sets ``v`` to 0 and requires ``v_reset == 0``
(the hardware cannot reset to another value); ``reset="subtract"`` subtracts the threshold
(NIR cannot express it; snnTorch's default) and ignores ``v_reset``.  ``tau`` must be at least
``dt`` (``beta`` in ``[0, 1]``), ``tau = inf`` means no leak, ``v_threshold`` must be positive.

Between spiking nodes, ``Linear``, ``Affine``, ``Scale`` and ``Flatten`` nodes (any chain or
sum of them) are composed into one weight matrix and one bias: exact, since they are linear.
An ``Affine`` bias in front of a CUBA layer feeds its synaptic current, which the hardware
cannot do; it becomes the equal steady-state membrane bias ``gain b / (1 - alpha)`` and a note
on the layer says so (the transient of the first ``~tau_syn/dt`` steps differs).

Nested ``NIRGraph`` nodes (snnTorch writes recurrent layers that way) are inlined.
"""

import dataclasses
import math
import os

import numpy as np

from .golden_model.checks import ConfigError

__all__ = ["NIRImportError", "Layer", "Projection", "FloatNetwork", "FloatResult", "load_nir",
           "to_nir", "LAYER_KINDS", "SUPPORTED_NODES", "DEFAULT_DT"]

#: Layer kinds: spiking LIF, spiking current-based LIF, and the two non-spiking readouts.
LAYER_KINDS = ("lif", "cuba", "li", "cuba_li")
#: NIR node types :func:`load_nir` accepts.
SUPPORTED_NODES = ("Input", "Output", "Affine", "Linear", "Scale", "Flatten", "LIF", "IF",
                   "LI", "CubaLIF", "CubaLI", "NIRGraph")
#: The time step assumed when neither the caller nor the graph's metadata gives one: snnTorch's
#: NIR exporter writes ``tau = dt / (1 - beta)`` with this ``dt``.
DEFAULT_DT = 1e-4
#: Largest node (values per tensor) :func:`load_nir` accepts: weights are held as dense matrices.
MAX_NODE_SIZE = 65536


class NIRImportError(ConfigError):
    """A network description that cannot be imported (unsupported node, bad value, bad file)."""


# -- the float network ----------------------------------------------------------------------------

def _float_vector(field, value, size, *, allow_inf=False, error=ConfigError):
    """Return ``value`` as a float array of shape ``(size,)`` (a scalar or 1-element broadcasts)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise error(f"{field}: expected numbers, got {value!r}") from exc
    if arr.size == 1:
        arr = np.full(size, float(arr.reshape(-1)[0]))
    arr = arr.reshape(-1) if arr.ndim > 1 and arr.size == size else arr
    if arr.shape != (size,):
        raise error(f"{field}: expected {size} values (or one), got shape {arr.shape}")
    bad = np.isnan(arr) | (np.isinf(arr) if not allow_inf else False)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise error(f"{field}[{i}]: expected a finite number, got {arr[i]}")
    return arr


def _float_matrix(field, value, shape, error=ConfigError):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise error(f"{field}: expected a numeric matrix, got {type(value).__name__}") from exc
    if arr.shape != tuple(shape):
        raise error(f"{field}: expected shape {tuple(shape)} (target, source), got {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise error(f"{field}{list(idx)}: expected a finite number, got {arr[idx]}")
    return arr


@dataclasses.dataclass(eq=False)
class Layer:
    """A population of neurons with float parameters (one value per neuron).

    Members
    -------
    name : str
    size : int
    kind : str
        ``"lif"``, ``"cuba"`` (spiking) or ``"li"``, ``"cuba_li"`` (non-spiking readout).
    beta, alpha : float arrays (size,)
        Membrane and synaptic-current decay per timestep, in ``[0, 1]`` (``alpha`` CUBA only).
    threshold : float array (size,)
        Positive firing thresholds; ``inf`` for a readout.
    bias : float array (size,)
        Added to the membrane at every timestep (while not refractory).
    reset, compare : str
        ``"zero"`` / ``"subtract"`` and ``"gt"`` / ``"ge"``.
    refractory : int
        Refractory period in timesteps.
    notes : list of str
        Approximations made while importing the layer.
    """

    name: str
    size: int
    kind: str
    beta: np.ndarray
    alpha: np.ndarray | None
    threshold: np.ndarray
    bias: np.ndarray
    reset: str = "zero"
    compare: str = "gt"
    refractory: int = 0
    notes: list = dataclasses.field(default_factory=list)

    @property
    def spiking(self):
        return self.kind in ("lif", "cuba")

    @property
    def cuba(self):
        return self.kind in ("cuba", "cuba_li")


@dataclasses.dataclass(eq=False)
class Projection:
    """Float weights from ``source`` (an input or a layer) to ``target`` (a layer).

    ``weight`` has shape ``(target size, source size)``.  ``recurrent`` is set by
    :meth:`FloatNetwork.order`: the projection closes a cycle and delivers one timestep later.
    """

    source: str
    target: str
    weight: np.ndarray
    recurrent: bool = False


@dataclasses.dataclass
class FloatResult:
    """What :meth:`FloatNetwork.simulate` returns.

    Members
    -------
    spikes : bool array ([batch,] timesteps, outputs)
        Spikes of the output layers, concatenated in output order (readout columns stay False).
    membrane : float array ([batch,] timesteps, outputs)
        Membrane of the output layers after each timestep.
    peaks : dict
        Per layer, the largest ``|v|`` before reset and (CUBA) ``|i|`` seen: calibration data
        for :func:`spikeforge.quantize.quantize`.
    """

    spikes: np.ndarray
    membrane: np.ndarray
    peaks: dict


class FloatNetwork:
    """Float description of a spiking network: inputs, layers, projections, outputs.

    Build one by hand (the builder methods take plain numpy arrays), or get one from
    :func:`load_nir` or :func:`spikeforge.snntorch_import.from_snntorch`::

        net = FloatNetwork()
        net.add_input("x", 64)
        net.add_layer("hidden", 128, beta=0.875, threshold=1.0, reset="subtract")
        net.add_layer("out", 10, kind="li", beta=0.9375)
        net.connect("x", "hidden", w1)          # w1.shape == (128, 64)
        net.connect("hidden", "out", w2)
        net.add_output("out")

    Every value is checked when it is added; a bad one raises :class:`ConfigError` naming it.
    """

    def __init__(self, dt=None):
        self.dt = dt
        self.inputs = {}          # name -> size, in order
        self.layers = {}          # name -> Layer, in order of addition
        self.projections = []
        self.outputs = []         # layer names

    # -- builder ---------------------------------------------------------------------------------
    def add_input(self, name, size):
        """Add a network input of ``size`` spike lines; inputs are concatenated in order."""
        self._check_new(name)
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ConfigError(f"input {name!r}: size expected a positive integer, got {size!r}")
        self.inputs[name] = int(size)
        return name

    def add_layer(self, name, size, *, kind="lif", beta=1.0, alpha=None, threshold=1.0, bias=0.0,
                  reset="zero", compare="gt", refractory=0, notes=()):
        """Add a layer of ``size`` neurons; scalars broadcast, arrays give one value per neuron.

        ``beta`` and ``alpha`` are decay factors per timestep in ``[0, 1]`` (``alpha`` only for
        the CUBA kinds, default 0); a readout (``"li"``, ``"cuba_li"``) has no threshold.
        """
        self._check_new(name)
        where = f"layer {name!r}"
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ConfigError(f"{where}: size expected a positive integer, got {size!r}")
        size = int(size)
        if kind not in LAYER_KINDS:
            raise ConfigError(f"{where}: kind expected one of {LAYER_KINDS}, got {kind!r}")
        if reset not in ("zero", "subtract"):
            raise ConfigError(f"{where}: reset expected 'zero' or 'subtract', got {reset!r}")
        if compare not in ("gt", "ge"):
            raise ConfigError(f"{where}: compare expected 'gt' or 'ge', got {compare!r}")
        if isinstance(refractory, bool) or not isinstance(refractory, (int, np.integer)) \
                or not 0 <= refractory <= 255:
            raise ConfigError(f"{where}: refractory expected an integer in [0, 255], "
                              f"got {refractory!r}")
        beta = self._decay(f"{where}: beta", beta, size)
        cuba = kind in ("cuba", "cuba_li")
        if alpha is not None and not cuba:
            raise ConfigError(f"{where}: alpha is the synaptic decay of a CUBA layer; kind "
                              f"{kind!r} has no synaptic current")
        alpha = self._decay(f"{where}: alpha", 0.0 if alpha is None else alpha, size) \
            if cuba else None
        if kind in ("lif", "cuba"):
            threshold = _float_vector(f"{where}: threshold", threshold, size)
            if np.any(threshold <= 0):
                i = int(np.flatnonzero(threshold <= 0)[0])
                raise ConfigError(f"{where}: threshold[{i}] expected > 0, got {threshold[i]}")
        else:
            threshold = np.full(size, np.inf)
        bias = _float_vector(f"{where}: bias", bias, size)
        self.layers[name] = Layer(name, size, kind, beta, alpha, threshold, bias, reset,
                                  compare, int(refractory), list(notes))
        return name

    def connect(self, source, target, weight):
        """Add a projection ``source -> target`` with ``weight`` of shape (target, source)."""
        n_src = self.inputs.get(source) or (self.layers[source].size if source in self.layers
                                            else None)
        if n_src is None:
            raise ConfigError(f"connect: source {source!r} is neither an input nor a layer; "
                              f"known: {sorted(self.inputs) + sorted(self.layers)}")
        if target not in self.layers:
            raise ConfigError(f"connect: target {target!r} is not a layer; "
                              f"known: {sorted(self.layers)}")
        w = _float_matrix(f"weight {source!r} -> {target!r}", weight,
                          (self.layers[target].size, n_src))
        self.projections.append(Projection(source, target, w))

    def add_output(self, name):
        """Mark layer ``name`` as an output; outputs are concatenated in the order marked."""
        if name not in self.layers:
            raise ConfigError(f"add_output: {name!r} is not a layer; known: {sorted(self.layers)}")
        if name in self.outputs:
            raise ConfigError(f"add_output: {name!r} is already an output")
        self.outputs.append(name)

    def _check_new(self, name):
        if not isinstance(name, str) or not name:
            raise ConfigError(f"name: expected a non-empty string, got {name!r}")
        if name in self.inputs or name in self.layers:
            raise ConfigError(f"name {name!r} is already used")

    @staticmethod
    def _decay(field, value, size):
        arr = _float_vector(field, value, size)
        if np.any((arr < 0) | (arr > 1)):
            i = int(np.flatnonzero((arr < 0) | (arr > 1))[0])
            raise ConfigError(f"{field}[{i}]: expected a decay factor in [0, 1], got {arr[i]}")
        return arr

    # -- structure -------------------------------------------------------------------------------
    @property
    def n_inputs(self):
        return sum(self.inputs.values())

    @property
    def n_outputs(self):
        return sum(self.layers[n].size for n in self.outputs)

    def input_offsets(self):
        """Return ``{input name: first column}`` in the concatenated input vector."""
        out, pos = {}, 0
        for name, size in self.inputs.items():
            out[name] = pos
            pos += size
        return out

    def check(self):
        """Raise :class:`ConfigError` unless the network has inputs, layers and outputs."""
        if not self.inputs:
            raise ConfigError("network: no inputs")
        if not self.layers:
            raise ConfigError("network: no layers")
        if not self.outputs:
            raise ConfigError("network: no outputs (mark output layers with add_output)")

    def order(self):
        """Return the layer names in topological order and mark recurrent projections.

        Depth-first from the layers fed by inputs (then the rest, in order of addition); a
        projection to a layer that is still on the search path closes a cycle and becomes
        recurrent (delivered one timestep later).  Returns ``(order, phase)`` with ``phase`` the
        longest feed-forward path to each layer.
        """
        succ = {n: [] for n in self.layers}
        for p in self.projections:
            if p.source in self.layers:
                succ[p.source].append(p)
        fed = [p.target for p in self.projections if p.source in self.inputs]
        roots = list(dict.fromkeys(fed + list(self.layers)))
        state, post = {}, []
        for root in roots:
            if root in state:
                continue
            state[root] = 1
            stack = [(root, iter(succ[root]))]
            while stack:
                node, it = stack[-1]
                for p in it:
                    t = p.target
                    if state.get(t) == 1:
                        p.recurrent = True
                    else:
                        p.recurrent = False
                        if t not in state:
                            state[t] = 1
                            stack.append((t, iter(succ[t])))
                            break
                else:
                    state[node] = 2
                    post.append(node)
                    stack.pop()
        order = post[::-1]
        phase = {n: 0 for n in order}
        for n in order:
            for p in succ[n]:
                if not p.recurrent:
                    phase[p.target] = max(phase[p.target], phase[n] + 1)
        return order, phase

    # -- float reference ---------------------------------------------------------------------------
    def simulate(self, inputs):
        """Run the float equations (module docstring) on ``inputs``; return a FloatResult.

        ``inputs`` is a (timesteps, n_inputs) or (batch, timesteps, n_inputs) array of spikes
        (or any real input values).
        """
        self.check()
        x = np.asarray(inputs, dtype=np.float64)
        single = x.ndim == 2
        if single:
            x = x[None]
        if x.ndim != 3 or x.shape[2] != self.n_inputs:
            raise ConfigError(f"inputs: expected shape ([batch,] timesteps, {self.n_inputs}), "
                              f"got {np.shape(inputs)}")
        batch, steps, _ = x.shape
        order, _ = self.order()
        offs = self.input_offsets()
        into = {n: [p for p in self.projections if p.target == n] for n in order}
        st = {n: dict(v=np.zeros((batch, l.size)), i=np.zeros((batch, l.size)),
                      ref=np.zeros((batch, l.size), np.int64), s=np.zeros((batch, l.size)))
              for n, l in self.layers.items()}
        peaks = {n: {"v": 0.0, "i": 0.0} for n in self.layers}
        outs = [(n, self.layers[n].size) for n in self.outputs]
        spikes = np.zeros((batch, steps, self.n_outputs), bool)
        membrane = np.zeros((batch, steps, self.n_outputs))
        for t in range(steps):
            prev = {n: s["s"] for n, s in st.items()}
            for n in order:
                lay, s = self.layers[n], st[n]
                a = np.zeros((batch, lay.size))
                for p in into[n]:
                    if p.source in self.inputs:
                        o = offs[p.source]
                        src = x[:, t, o:o + self.inputs[p.source]]
                    else:
                        src = prev[p.source] if p.recurrent else st[p.source]["s"]
                    a += src @ p.weight.T
                if lay.cuba:
                    s["i"] = lay.alpha * s["i"] + a
                    a = s["i"]
                    peaks[n]["i"] = max(peaks[n]["i"], float(np.abs(a).max(initial=0)))
                active = s["ref"] == 0
                s["v"] = lay.beta * s["v"] + np.where(active, a + lay.bias, 0.0)
                peaks[n]["v"] = max(peaks[n]["v"], float(np.abs(s["v"]).max(initial=0)))
                if lay.spiking:
                    above = s["v"] > lay.threshold if lay.compare == "gt" \
                        else s["v"] >= lay.threshold
                    fired = active & above
                    if lay.reset == "zero":
                        s["v"] = np.where(fired, 0.0, s["v"])
                    else:
                        s["v"] = np.where(fired, s["v"] - lay.threshold, s["v"])
                    s["ref"] = np.where(fired, lay.refractory, np.maximum(s["ref"] - 1, 0))
                    s["s"] = fired.astype(np.float64)
            col = 0
            for n, size in outs:
                spikes[:, t, col:col + size] = st[n]["s"] > 0
                membrane[:, t, col:col + size] = st[n]["v"]
                col += size
        if single:
            spikes, membrane = spikes[0], membrane[0]
        return FloatResult(spikes, membrane, peaks)


# -- NIR ------------------------------------------------------------------------------------------

_LINEAR = ("Linear", "Affine", "Scale", "Flatten", "_Identity")
_NEURON = ("LIF", "IF", "LI", "CubaLIF", "CubaLI")


class _Identity:
    """Stand-in for the Input and Output nodes of an inlined subgraph."""


def load_nir(source, *, dt=None, reset=None, compare=None):
    """Read a NIR graph (a path or a ``nir.NIRGraph``) into a :class:`FloatNetwork`.

    Parameters
    ----------
    source : str, os.PathLike or nir.NIRGraph
        A file written by ``nir.write`` or a graph in memory.
    dt : float or None
        Time step of the Euler discretization (see the module docstring).  ``None`` takes
        ``graph.metadata["dt"]`` when the graph carries one (spikeforge writes it), else
        :data:`DEFAULT_DT` (1e-4, snnTorch's convention).
    reset : {"zero", "subtract"} or None
        Reset of every spiking layer: ``"zero"`` (NIR's ``v_reset``, which must be 0) or
        ``"subtract"`` (what snnTorch trains by default; NIR cannot say so).  ``None`` takes
        ``graph.metadata["reset"]`` (written by :func:`to_nir`), else ``"zero"``.
    compare : {"gt", "ge"} or None
        ``"gt"`` is NIR's ``v > v_threshold``; ``None`` takes the metadata's, else ``"gt"``.

    Network inputs and outputs are the ``Input`` and ``Output`` nodes in the order of
    ``graph.metadata["input_order"]`` / ``["output_order"]`` (newline-separated ids, written by
    :func:`to_nir`), else in the graph's node order: alphabetical for a graph read from a file.

    Raises :class:`NIRImportError` (a :class:`ConfigError`) for an unreadable file, an
    unsupported node (naming its id and type), a bad parameter or an inconsistent shape.
    """
    import nir

    if isinstance(source, (str, os.PathLike)):
        try:
            graph = nir.read(source)
        except Exception as exc:   # h5py and nir raise anything from OSError to AssertionError
            raise NIRImportError(f"{os.fspath(source)}: not a readable NIR file "
                                 f"({type(exc).__name__}: {exc})") from exc
    else:
        graph = source
    if not isinstance(graph, nir.NIRGraph):
        raise NIRImportError(f"source: expected a path or a nir.NIRGraph, got "
                             f"{type(source).__name__}")
    meta = graph.metadata if isinstance(getattr(graph, "metadata", None), dict) else {}
    reset = _meta_str(meta, "reset", "zero") if reset is None else reset
    compare = _meta_str(meta, "compare", "gt") if compare is None else compare
    if reset not in ("zero", "subtract"):
        raise NIRImportError(f"reset: expected 'zero' or 'subtract', got {reset!r}")
    if compare not in ("gt", "ge"):
        raise NIRImportError(f"compare: expected 'gt' or 'ge', got {compare!r}")
    if dt is None:
        dt = meta.get("dt", DEFAULT_DT)
    try:
        dt = float(np.asarray(dt).reshape(-1)[0]) if np.size(dt) == 1 else float("nan")
    except (TypeError, ValueError):
        dt = float("nan")
    if not math.isfinite(dt) or dt <= 0:
        raise NIRImportError(f"dt: expected a positive time step, got {dt!r}")
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            return _Importer(graph, dt, reset, compare, meta).run()
    except NIRImportError:
        raise
    except ConfigError as exc:
        raise NIRImportError(str(exc)) from exc
    except FloatingPointError as exc:   # e.g. 1e308 weights times a gain
        raise NIRImportError(f"graph: parameters overflow in float arithmetic ({exc})") from exc


def _meta_str(meta, key, default):
    value = meta.get(key, default)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
        value = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return value


class _Importer:
    def __init__(self, graph, dt, reset, compare, meta):
        import nir

        self.meta = meta
        self.nir = nir
        self.dt, self.reset, self.compare = dt, reset, compare
        self.nodes, self.edges = {}, []
        self._inline(graph, "", top=True)

    # Flatten nested graphs: inner nodes are renamed "outer.inner"; an edge into a subgraph goes
    # to its Input node, an edge out of it leaves from its Output node (both become identities).
    def _inline(self, graph, prefix, top):
        nodes, edges = graph.nodes, graph.edges
        if not isinstance(nodes, dict):
            raise NIRImportError(f"graph {prefix or '<top>'}: nodes expected a dict, got "
                                 f"{type(nodes).__name__}")
        sub_io = {}
        for key, node in nodes.items():
            name = prefix + str(key)
            kind = type(node).__name__
            if isinstance(node, self.nir.NIRGraph):
                ins = [k for k, n in node.nodes.items() if isinstance(n, self.nir.Input)]
                outs = [k for k, n in node.nodes.items() if isinstance(n, self.nir.Output)]
                if len(ins) != 1 or len(outs) != 1:
                    raise NIRImportError(f"node {name!r} (NIRGraph): a nested graph needs one "
                                         f"Input and one Output, got {len(ins)} and {len(outs)}")
                sub_io[key] = (f"{name}.{ins[0]}", f"{name}.{outs[0]}")
                self._inline(node, name + ".", top=False)
            elif not top and kind in ("Input", "Output"):
                self.nodes[name] = _Identity()
            else:
                self.nodes[name] = node
        try:
            edge_list = [(str(a), str(b)) for a, b in edges]
        except (TypeError, ValueError) as exc:
            raise NIRImportError(f"graph {prefix or '<top>'}: edges expected (source, target) "
                                 f"pairs ({exc})") from exc
        for a, b in edge_list:
            for end in (a, b):
                if end not in nodes and end not in {str(k) for k in nodes}:
                    raise NIRImportError(f"edge ({a!r}, {b!r}): node {end!r} does not exist")
            a = sub_io[a][1] if a in sub_io else prefix + a
            b = sub_io[b][0] if b in sub_io else prefix + b
            self.edges.append((a, b))

    def kind(self, name):
        node = self.nodes[name]
        return "_Identity" if isinstance(node, _Identity) else type(node).__name__

    def run(self):
        for name in self.nodes:
            k = self.kind(name)
            if k not in _LINEAR + _NEURON + ("Input", "Output"):
                raise NIRImportError(
                    f"node {name!r} of type {k} is not supported; spikeforge maps "
                    f"{', '.join(SUPPORTED_NODES)}")
        self.succ = {n: [] for n in self.nodes}
        self.pred = {n: [] for n in self.nodes}
        seen = set()
        for a, b in self.edges:
            if (a, b) in seen:
                raise NIRImportError(f"edge ({a!r}, {b!r}) appears twice")
            seen.add((a, b))
            self.succ[a].append(b)
            self.pred[b].append(a)
        for n in self.nodes:
            if self.kind(n) == "Input" and self.pred[n]:
                raise NIRImportError(f"node {n!r} (Input) has incoming edges")
            if self.kind(n) == "Output" and self.succ[n]:
                raise NIRImportError(f"node {n!r} (Output) has outgoing edges")
        self._sizes()
        self._matrices()
        return self._build()

    # -- sizes -------------------------------------------------------------------------------------
    def _param(self, name, field):
        node = self.nodes[name]
        value = getattr(node, field, None)
        if value is None:
            raise NIRImportError(f"node {name!r} ({self.kind(name)}): missing {field}")
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise NIRImportError(f"node {name!r} ({self.kind(name)}): {field} expected numbers, "
                                 f"got {type(value).__name__}") from exc
        return arr

    def _own_size(self, name):
        """Return ``(input size, output size)`` fixed by the node's own data (None: unknown)."""
        k = self.kind(name)
        if k in ("Linear", "Affine"):
            w = self._param(name, "weight")
            if w.ndim != 2:
                raise NIRImportError(f"node {name!r} ({k}): weight expected a 2-D (out, in) "
                                     f"matrix, got shape {w.shape}")
            if w.shape[0] < 1 or w.shape[1] < 1:
                raise NIRImportError(f"node {name!r} ({k}): weight has an empty shape {w.shape}")
            return w.shape[1], w.shape[0]
        if k in ("Input", "Output"):
            attr = "input_type" if k == "Input" else "output_type"
            types = getattr(self.nodes[name], attr, None)
            try:
                shape = np.asarray(list(types.values())[0], dtype=np.int64).reshape(-1)
                n = int(np.prod(shape)) if shape.size else None
            except (AttributeError, IndexError, TypeError, ValueError, OverflowError):
                raise NIRImportError(f"node {name!r} ({k}): no readable shape") from None
            if n is None or n < 1 or np.any(shape < 1):
                raise NIRImportError(f"node {name!r} ({k}): expected a positive shape, "
                                     f"got {shape.tolist()}")
            return n, n
        if k == "Flatten":
            try:
                shape = np.asarray(self.nodes[name].input_type["input"], dtype=np.int64)
                n = int(np.prod(shape)) if shape.size else None
            except (AttributeError, KeyError, TypeError, ValueError, OverflowError):
                n = None
            if n is not None and n < 1:
                raise NIRImportError(f"node {name!r} (Flatten): expected a positive input shape, "
                                     f"got {shape.tolist()}")
            return n, n
        fields = {"Scale": ("scale",), "LIF": ("tau", "r", "v_leak", "v_threshold"),
                  "IF": ("r", "v_threshold"), "LI": ("tau", "r", "v_leak"),
                  "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold"),
                  "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak")}.get(k, ())
        sizes = {self._param(name, f).size for f in fields} - {1}
        if len(sizes) > 1:
            raise NIRImportError(f"node {name!r} ({k}): parameters {', '.join(fields)} have "
                                 f"different sizes {sorted(sizes)}")
        if 0 in sizes:
            raise NIRImportError(f"node {name!r} ({k}): a parameter is empty")
        n = sizes.pop() if sizes else None
        return n, n

    def _sizes(self):
        size_in, size_out = {}, {}
        for n in self.nodes:
            size_in[n], size_out[n] = self._own_size(n)
            for s in (size_in[n], size_out[n]):
                if s is not None and s > MAX_NODE_SIZE:
                    raise NIRImportError(f"node {n!r} ({self.kind(n)}): {s} values, more than "
                                         f"the {MAX_NODE_SIZE} spikeforge imports per node")
        changed = True
        while changed:       # propagate along edges through size-preserving nodes
            changed = False
            for a, b in self.edges:
                oa, ib = size_out[a], size_in[b]
                if oa is not None and ib is not None and oa != ib:
                    raise NIRImportError(
                        f"edge ({a!r}, {b!r}): {a!r} ({self.kind(a)}) gives {oa} values, "
                        f"{b!r} ({self.kind(b)}) takes {ib}")
                if oa is None and ib is not None:
                    size_out[a] = ib
                elif ib is None and oa is not None:
                    size_in[b] = oa
                else:
                    continue
                changed = True
                for n in (a, b):
                    if self.kind(n) not in ("Linear", "Affine"):
                        size_in[n] = size_out[n] = size_in[n] or size_out[n]
        for n in self.nodes:
            if size_in[n] is None or size_out[n] is None:
                raise NIRImportError(f"node {n!r} ({self.kind(n)}): cannot infer its size (no "
                                     f"parameter or neighbour fixes it)")
        self.size = size_out

    # -- linear paths ------------------------------------------------------------------------------
    def _op(self, name):
        """Return ``(matrix or None for identity, bias or None)`` of a linear node."""
        k, n = self.kind(name), self.size[name]
        where = f"node {name!r} ({k})"
        if k in ("Linear", "Affine"):
            w = _float_matrix(f"{where}: weight", self._param(name, "weight"),
                              self._param(name, "weight").shape, NIRImportError)
            b = None
            if k == "Affine":
                b = _float_vector(f"{where}: bias", self._param(name, "bias"), n,
                                  error=NIRImportError)
            return w, b
        if k == "Scale":
            s = _float_vector(f"{where}: scale", self._param(name, "scale"), n,
                              error=NIRImportError)
            return np.diag(s), None
        return None, None

    def _matrices(self):
        """For every linear node X: ``down[X][T]`` maps X's output to the input of target T."""
        self.ops = {n: self._op(n) for n in self.nodes if self.kind(n) in _LINEAR}
        self.down, busy = {}, set()

        def down(x):
            if x in self.down:
                return self.down[x]
            if x in busy:
                raise NIRImportError(f"node {x!r} ({self.kind(x)}): a cycle of linear nodes "
                                     f"without a neuron on it (an algebraic loop)")
            busy.add(x)
            acc = {}
            for y in self.succ[x]:
                for t, m in self._through(y, down).items():
                    acc[t] = m if t not in acc else _add(acc[t], m, self.size[x])
            busy.discard(x)
            self.down[x] = acc
            return acc

        self._down = down

    def _through(self, y, down):
        """Map from the input of node ``y`` to each neuron/Output target reached through it."""
        if self.kind(y) not in _LINEAR:
            return {y: None}
        m, _ = self.ops[y]
        return {t: _mul(mt, m) for t, mt in down(y).items()}

    def _incoming(self, source):
        """Return ``{target: matrix (target, source)}`` for a source node's output."""
        acc = {}
        for y in self.succ[source]:
            for t, m in self._through(y, self._down).items():
                acc[t] = m if t not in acc else _add(acc[t], m, self.size[source])
        return {t: (np.eye(self.size[source]) if m is None else m) for t, m in acc.items()}

    def _bias_into(self):
        bias = {}
        for x, (_, b) in self.ops.items():
            if b is None:
                continue
            for t, m in self._down(x).items():
                contrib = b if m is None else m @ b
                bias[t] = bias.get(t, 0.0) + contrib
        return bias

    # -- layers ------------------------------------------------------------------------------------
    def _build(self):
        net = FloatNetwork(dt=self.dt)
        inputs = self._ordered("Input")
        outputs = self._ordered("Output")
        neurons = [n for n in self.nodes if self.kind(n) in _NEURON]
        if not inputs:
            raise NIRImportError("graph: no Input node")
        if not outputs:
            raise NIRImportError("graph: no Output node")
        if not neurons:
            raise NIRImportError(f"graph: no neuron node; spikeforge maps "
                                 f"{', '.join(_NEURON)}")
        for n in inputs:
            net.add_input(n, self.size[n])
        links = {}     # (source, target) -> matrix
        for src in inputs + neurons:
            for t, m in self._incoming(src).items():
                links[(src, t)] = m
        upstream_bias = self._bias_into()
        gains = {}
        for n in neurons:
            gains[n] = self._layer(net, n, upstream_bias.get(n))
        for (src, t), m in links.items():
            if self.kind(t) == "Output":
                continue
            net.connect(src, t, m * gains[t][:, None])
        for o in outputs:
            srcs = [s for (s, t) in links if t == o]
            if o in upstream_bias:
                raise NIRImportError(f"node {o!r} (Output): reads an Affine bias; an output must "
                                     f"be driven by one neuron node")
            if len(srcs) != 1 or srcs[0] not in neurons:
                raise NIRImportError(
                    f"node {o!r} (Output): expected to be driven by exactly one neuron node "
                    f"({', '.join(_NEURON)}), got {srcs or 'nothing'}")
            m = links[(srcs[0], o)]
            if m.shape[0] != m.shape[1] or not np.array_equal(m, np.eye(len(m))):
                raise NIRImportError(f"node {o!r} (Output): the path from {srcs[0]!r} is not "
                                     f"the identity (a weighted analog output cannot be mapped)")
            if srcs[0] in net.outputs:
                raise NIRImportError(f"node {o!r} (Output): layer {srcs[0]!r} drives two outputs")
            net.add_output(srcs[0])
        net.order()          # mark the recurrent projections
        return net

    def _ordered(self, kind):
        """Input or Output node ids in the metadata's order (to_nir writes it), else the
        graph's node order (alphabetical for a graph read from a file)."""
        found = [n for n in self.nodes if self.kind(n) == kind]
        order = _meta_str(self.meta, f"{kind.lower()}_order", None)
        if isinstance(order, str):
            listed = order.split("\n")
            if sorted(listed) == sorted(found):
                return listed
        return found

    def _layer(self, net, name, upstream_bias):
        """Add the layer of neuron node ``name``; return its per-neuron input gain."""
        k, n, dt = self.kind(name), self.size[name], self.dt
        where = f"node {name!r} ({k})"
        p = {}
        for f in ("tau", "tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"):
            if getattr(self.nodes[name], f, None) is not None:
                p[f] = _float_vector(f"{where}: {f}", self._param(name, f), n,
                                     allow_inf=f.startswith("tau"), error=NIRImportError)

        def decay(field):
            tau = p[field]
            if np.any(tau <= 0) or np.any(tau < dt * (1 - 1e-9)):
                i = int(np.flatnonzero((tau <= 0) | (tau < dt * (1 - 1e-9)))[0])
                raise NIRImportError(f"{where}: {field}[{i}] = {tau[i]} must be at least "
                                     f"dt = {dt} (forward Euler is unstable below)")
            frac = np.where(np.isinf(tau), 0.0, dt / tau)
            return np.clip(1.0 - frac, 0.0, 1.0), frac

        notes = []
        bias = np.zeros(n)
        alpha = None
        if k == "IF":
            beta, gain = np.ones(n), p["r"]
        elif k in ("LIF", "LI"):
            beta, frac = decay("tau")
            gain = p["r"] * frac
            bias = frac * p["v_leak"]
        else:   # CubaLIF, CubaLI
            alpha, frac_s = decay("tau_syn")
            beta, frac_m = decay("tau_mem")
            gain = p.get("w_in", np.ones(n)) * frac_s * p["r"] * frac_m
            bias = frac_m * p["v_leak"]
        if upstream_bias is not None:
            ub = gain * np.asarray(upstream_bias, dtype=np.float64)
            if alpha is not None:
                if np.any((alpha >= 1) & (ub != 0)):
                    raise NIRImportError(f"{where}: an Affine bias into a synaptic current that "
                                         f"never decays (tau_syn = inf) cannot be mapped")
                ub = np.where(ub != 0, ub / np.where(alpha < 1, 1 - alpha, 1), 0.0)
                if np.any(ub != 0) and np.any(alpha > 0):
                    notes.append("Affine bias into the synaptic current mapped to its "
                                 "steady-state membrane bias")
            bias = bias + ub
        spiking = k in ("LIF", "IF", "CubaLIF")
        threshold = 1.0
        if spiking:
            threshold = p["v_threshold"]
            if np.any(threshold <= 0):
                i = int(np.flatnonzero(threshold <= 0)[0])
                raise NIRImportError(f"{where}: v_threshold[{i}] expected > 0, "
                                     f"got {threshold[i]}")
            if self.reset == "zero" and "v_reset" in p and np.any(p["v_reset"] != 0):
                i = int(np.flatnonzero(p["v_reset"] != 0)[0])
                raise NIRImportError(f"{where}: v_reset[{i}] = {p['v_reset'][i]}; the hardware "
                                     f"resets to 0 (reset='zero') or subtracts the threshold "
                                     f"(load_nir(..., reset='subtract'))")
        kind = {"LIF": "lif", "IF": "lif", "LI": "li", "CubaLIF": "cuba",
                "CubaLI": "cuba_li"}[k]
        if not np.all(np.isfinite(gain)) or not np.all(np.isfinite(bias)):
            raise NIRImportError(f"{where}: parameters give a non-finite gain or bias")
        net.add_layer(name, n, kind=kind, beta=beta, alpha=alpha, threshold=threshold,
                      bias=bias, reset=self.reset, compare=self.compare, notes=notes)
        return gain


def _mul(a, b):
    """Matrix product where None is the identity."""
    if a is None:
        return b
    if b is None:
        return a
    return a @ b


def _add(a, b, n):
    a = np.eye(n) if a is None else a
    b = np.eye(n) if b is None else b
    if a.shape != b.shape:
        raise NIRImportError(f"paths of different shapes {a.shape} and {b.shape} meet")
    return a + b


def to_nir(net, dt=None, *, weight_dtype=np.float64):
    """Return a ``nir.NIRGraph`` of a :class:`FloatNetwork` (the inverse of :func:`load_nir`).

    Each projection becomes a ``Linear`` node, each layer a ``LIF``/``CubaLIF``/``LI``/``CubaLI``
    with ``r`` chosen so that the input gain is 1 (``r = tau/dt``, as snnTorch writes it) and
    ``v_leak = bias / (1 - beta)`` carrying the bias; a leak-free LIF layer without bias becomes
    an ``IF``.  NIR has no reset by subtraction and no compare mode: ``dt``, ``reset`` and
    ``compare`` go into the graph's metadata (which :func:`load_nir` reads), so every spiking
    layer must share them; so does the order of the inputs and outputs (a file lists nodes
    alphabetically).  Refractory periods cannot be exported.  ``weight_dtype`` is the
    dtype of the stored weights (``np.float32`` halves the file; exact for float32-trained nets).
    """
    import nir

    net.check()
    dt = float(dt or net.dt or DEFAULT_DT)
    modes = {(lay.reset, lay.compare) for lay in net.layers.values() if lay.spiking}
    if len(modes) > 1:
        raise NIRImportError(f"layers mix reset/compare modes {sorted(modes)}; NIR cannot say "
                             f"which layer resets how")
    reset, compare = modes.pop() if modes else ("zero", "gt")
    nodes, edges = {}, []
    for name, size in net.inputs.items():
        nodes[name] = nir.Input(input_type=np.array([size]))
    for name, lay in net.layers.items():
        if lay.refractory:
            raise NIRImportError(f"layer {name!r}: NIR has no refractory period")
        frac = 1.0 - lay.beta
        if lay.kind == "lif" and np.all(frac == 0) and not np.any(lay.bias):
            nodes[name] = nir.IF(r=np.ones(lay.size), v_threshold=lay.threshold.copy(),
                                 v_reset=np.zeros(lay.size))
            continue
        if np.any(frac == 0):
            raise NIRImportError(f"layer {name!r}: beta = 1 (no leak) has a NIR form only as an "
                                 f"IF layer without bias")
        tau, r, v_leak = dt / frac, 1.0 / frac, lay.bias / frac
        if lay.kind == "lif":
            nodes[name] = nir.LIF(tau=tau, r=r, v_leak=v_leak, v_threshold=lay.threshold.copy(),
                                  v_reset=np.zeros(lay.size))
        elif lay.kind == "li":
            nodes[name] = nir.LI(tau=tau, r=r, v_leak=v_leak)
        else:
            fs = 1.0 - lay.alpha
            if np.any(fs == 0):
                raise NIRImportError(f"layer {name!r}: alpha = 1 has no CubaLIF form; "
                                     f"use alpha < 1")
            tau_syn = dt / fs
            w_in = 1.0 / fs
            cls = nir.CubaLIF if lay.kind == "cuba" else nir.CubaLI
            kw = dict(tau_syn=tau_syn, tau_mem=tau, r=r, v_leak=v_leak, w_in=w_in)
            if lay.kind == "cuba":
                kw.update(v_threshold=lay.threshold.copy(), v_reset=np.zeros(lay.size))
            nodes[name] = cls(**kw)
    for i, p in enumerate(net.projections):
        key = f"w{i}_{p.source}_{p.target}"
        nodes[key] = nir.Linear(weight=np.asarray(p.weight, dtype=weight_dtype))
        edges += [(p.source, key), (key, p.target)]
    for name in net.outputs:
        key = f"out_{name}"
        nodes[key] = nir.Output(output_type=np.array([net.layers[name].size]))
        edges.append((name, key))
    meta = {"dt": dt, "reset": reset, "compare": compare,
            "input_order": "\n".join(net.inputs),
            "output_order": "\n".join(f"out_{name}" for name in net.outputs)}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)

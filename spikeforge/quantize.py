r"""Quantization of a :class:`~spikeforge.nir_import.FloatNetwork` to the hardware's integers.

Per layer (all its incoming projections together), with ``W`` = ``weight_bits``,
``qmax = 2**(W-1) - 1`` and ``V`` = ``membrane_bits``:

* **Spiking layer.**  Each neuron's incoming weights and bias are divided by its threshold
  (per-neuron weight scaling: the hardware has one threshold per core), so every neuron fires at
  1.  The layer scale ``S`` is an integer, the integer threshold ``theta = S``::

      S = max(1, round(qmax / m))        m = max |w / threshold|  (or the clip_percentile of it)
      S = min(S, (2**(V-1) - 1) // headroom)          leave room above the threshold
      w_int = clip(round(S w / threshold), -2**(W-1), qmax)

  so ``w_int / theta`` approximates ``w / threshold``: the spike train is preserved up to
  rounding.  The integer membrane of neuron ``n`` is ``v * S / threshold[n]``.
* **Readout layer** (non-spiking): ``S = qmax / m`` (any real), reduced when calibration data
  shows the membrane would leave ``headroom`` inside the ``V``-bit range; its threshold is the
  largest membrane value with ``compare="gt"``, so it never fires.
* **Bias** ``S b / threshold`` becomes ``code << bias_shift``, the smallest shift for which every
  code fits in ``W`` bits.
* **Decay** per neuron: ``leak="shift"`` picks ``k`` minimising ``|(1 - 2**-k) - beta|`` (``k = 0``
  is no leak); ``leak="mult"`` uses ``alpha = round(beta * 2**F)``.  The same for the synaptic
  decay of CUBA layers.

The report (:class:`LayerReport`) gives per layer the scale, the fraction of weights clipped, the
relative RMS weight error (of ``w_int / S`` against ``w / threshold``), the largest bias and
decay errors, and the notes of the import.

:meth:`QuantizedNetwork.simulate` is a plain numpy model of the quantized layer stack with the
integer equations of ``docs/semantics.md``: what the mapped hardware must reproduce exactly.
"""

import dataclasses
import math

import numpy as np

from .golden_model.checks import ConfigError, check_choice, check_int, signed_range
from .nir_import import FloatNetwork

__all__ = ["QuantizationError", "QLayer", "QProjection", "QuantizedNetwork", "LayerReport",
           "QuantResult", "quantize", "decay_factor"]


class QuantizationError(ConfigError):
    """A network or a setting that cannot be quantized."""


def decay_factor(code, leak, frac_bits):
    """Return the decay factor per timestep that leak parameter ``code`` stands for."""
    code = np.asarray(code, dtype=np.float64)
    if leak == "shift":
        return np.where(code == 0, 1.0, 1.0 - 2.0 ** -code)
    return code / (1 << frac_bits)


def _decay_codes(beta, leak, frac_bits, bits):
    if leak == "shift":
        ks = np.arange(bits + 1)
        table = decay_factor(ks, "shift", frac_bits)
        return ks[np.argmin(np.abs(table[None, :] - beta[:, None]), axis=1)].astype(np.int64)
    return np.rint(beta * (1 << frac_bits)).astype(np.int64)


@dataclasses.dataclass(eq=False)
class QProjection:
    """Integer weights ``weight`` (target, source) from ``source`` to ``target``."""

    source: str
    target: str
    weight: np.ndarray
    recurrent: bool


@dataclasses.dataclass(eq=False)
class QLayer:
    """One quantized layer: integer parameters plus the scale back to float units.

    Members
    -------
    bias : int array (size,)
        ``W``-bit codes, added as ``bias << bias_shift``.
    threshold : int
        The one integer threshold of every core of the layer.
    leak, current_leak : int arrays (size,)
        Per-neuron decay codes (the mapper puts neurons with equal codes on the same core).
    scale : float array (size,)
        Integer membrane units per float membrane unit, per neuron.
    phase : int
        Tick phase (longest feed-forward path from the inputs).
    """

    name: str
    size: int
    kind: str
    reset: str
    compare: str
    bias: np.ndarray
    bias_shift: int
    threshold: int
    leak: np.ndarray
    current_leak: np.ndarray
    refractory: int
    scale: np.ndarray
    phase: int

    @property
    def spiking(self):
        return self.kind in ("lif", "cuba")

    @property
    def cuba(self):
        return self.kind in ("cuba", "cuba_li")


@dataclasses.dataclass
class LayerReport:
    """Quantization figures of one layer (see the module docstring)."""

    name: str
    kind: str
    scale: float
    threshold: int
    clipped_fraction: float
    weight_rel_rms: float
    bias_max_error: float
    decay_max_error: float
    current_decay_max_error: float
    bias_shift: int
    notes: list

    def line(self):
        return (f"{self.name:>12} {self.kind:>7}  scale {self.scale:9.3f}  "
                f"theta {self.threshold:6d}"
                f"  clipped {100 * self.clipped_fraction:5.2f}%  w rms err "
                f"{100 * self.weight_rel_rms:5.2f}%  decay err {self.decay_max_error:.4f}"
                + (f"  syn decay err {self.current_decay_max_error:.4f}"
                   if self.kind.startswith("cuba") else "")
                + "".join(f"\n{'':>14}note: {n}" for n in self.notes))


@dataclasses.dataclass
class QuantResult:
    """What :meth:`QuantizedNetwork.simulate` returns (layout as :class:`FloatResult`).

    ``membrane`` holds the integer membrane, ``membrane_float`` the same divided by the scale.
    """

    spikes: np.ndarray
    membrane: np.ndarray
    membrane_float: np.ndarray


class QuantizedNetwork:
    """A network in hardware integers, layer by layer, not yet placed on cores.

    Members
    -------
    inputs : dict name -> size
    layers : dict name -> QLayer, in topological order
    projections : list of QProjection
    outputs : list of layer names
    weight_bits, membrane_bits, current_bits, leak, decay_frac_bits : the widths and modes
        every core of the mapped network is built with.
    report : list of LayerReport
    """

    def __init__(self, inputs, layers, projections, outputs, report, *, weight_bits,
                 membrane_bits, current_bits, leak, decay_frac_bits):
        self.inputs = dict(inputs)
        self.layers = layers
        self.projections = projections
        self.outputs = list(outputs)
        self.report = report
        self.weight_bits = weight_bits
        self.membrane_bits = membrane_bits
        self.current_bits = current_bits
        self.leak = leak
        self.decay_frac_bits = decay_frac_bits

    @property
    def n_inputs(self):
        return sum(self.inputs.values())

    @property
    def n_outputs(self):
        return sum(self.layers[n].size for n in self.outputs)

    @property
    def phases(self):
        return 1 + max(layer.phase for layer in self.layers.values())

    def input_offsets(self):
        out, pos = {}, 0
        for name, size in self.inputs.items():
            out[name] = pos
            pos += size
        return out

    def report_text(self):
        """Return the per-layer report as text, one layer per line."""
        head = (f"quantized to {self.weight_bits}-bit weights, {self.membrane_bits}-bit "
                f"membrane, {self.leak} leak")
        return "\n".join([head] + [r.line() for r in self.report])

    def simulate(self, inputs):
        """Run the integer equations on ``([batch,] timesteps, n_inputs)`` spikes."""
        x = np.asarray(inputs)
        if x.dtype.kind not in "biu":
            raise QuantizationError(f"inputs: expected spikes (bool or 0/1 integers), got "
                                    f"dtype {x.dtype}")
        single = x.ndim == 2
        x = (x[None] if single else x).astype(np.int64)
        if x.ndim != 3 or x.shape[2] != self.n_inputs:
            raise QuantizationError(f"inputs: expected shape ([batch,] timesteps, "
                                    f"{self.n_inputs}), got {np.shape(inputs)}")
        batch, steps, _ = x.shape
        V, I, F = self.membrane_bits, self.current_bits, self.decay_frac_bits
        vlo, vhi = signed_range(V)
        ilo, ihi = signed_range(I)
        offs = self.input_offsets()
        into = {n: [p for p in self.projections if p.target == n] for n in self.layers}
        st = {n: {k: np.zeros((batch, lay.size), np.int64) for k in ("v", "i", "ref", "s")}
              for n, lay in self.layers.items()}
        out_cols = [(n, self.layers[n].size) for n in self.outputs]
        spikes = np.zeros((batch, steps, self.n_outputs), bool)
        membrane = np.zeros((batch, steps, self.n_outputs), np.int64)

        def decay(v, code):
            if self.leak == "shift":
                return np.where(code == 0, v, v - (v >> code))
            return (v * code) >> F

        for t in range(steps):
            prev = {n: s["s"] for n, s in st.items()}
            for n, lay in self.layers.items():
                s = st[n]
                acc = np.zeros((batch, lay.size), np.int64)
                for p in into[n]:
                    if p.source in self.inputs:
                        src = x[:, t, offs[p.source]:offs[p.source] + self.inputs[p.source]]
                    else:
                        src = prev[p.source] if p.recurrent else st[p.source]["s"]
                    acc += src @ p.weight.T
                if lay.cuba:
                    s["i"] = np.clip(decay(s["i"], lay.current_leak) + acc, ilo, ihi)
                    acc = s["i"]
                active = s["ref"] == 0
                drive = acc + (lay.bias << lay.bias_shift)
                v1 = np.clip(decay(s["v"], lay.leak) + np.where(active, drive, 0), vlo, vhi)
                fired = active & ((v1 > lay.threshold) if lay.compare == "gt"
                                  else (v1 >= lay.threshold))
                if lay.reset == "zero":
                    s["v"] = np.where(fired, 0, v1)
                else:
                    s["v"] = np.where(fired, v1 - lay.threshold, v1)
                s["ref"] = np.where(fired, lay.refractory, np.maximum(s["ref"] - 1, 0))
                s["s"] = fired.astype(np.int64)
            col = 0
            for n, size in out_cols:
                spikes[:, t, col:col + size] = st[n]["s"] > 0
                membrane[:, t, col:col + size] = st[n]["v"]
                col += size
        scale = np.concatenate([self.layers[n].scale for n in self.outputs])
        mf = membrane / scale
        if single:
            spikes, membrane, mf = spikes[0], membrane[0], mf[0]
        return QuantResult(spikes, membrane, mf)


def quantize(net, weight_bits=8, membrane_bits=16, *, current_bits=None, leak="shift",
             decay_frac_bits=8, clip_percentile=100.0, headroom=2.0, calibration=None):
    """Quantize a :class:`FloatNetwork` layer by layer; return a :class:`QuantizedNetwork`.

    Parameters
    ----------
    weight_bits, membrane_bits : int
        ``W`` (1 to 8) and ``V`` (``max(2, W)`` to 32), as in :class:`CoreConfig`.
    current_bits : int or None
        Synaptic current width of CUBA layers; ``None`` uses ``membrane_bits``.
    leak : {"shift", "mult"}
        Leak mode of the cores; ``decay_frac_bits`` is ``F`` of the ``"mult"`` mode.
    clip_percentile : float
        Percentile of ``|w / threshold|`` that maps to ``qmax`` (100: no clipping); lower values
        trade a few clipped weights for finer steps.
    headroom : float
        Spiking layers keep ``theta <= (2**(V-1) - 1) / headroom``; readouts keep the calibrated
        peak membrane below ``(2**(V-1) - 1) / headroom``.
    calibration : array or None
        Sample input spikes ``([batch,] timesteps, n_inputs)``; the float network is run on them
        to find the peak readout membrane, so that readouts do not saturate.
    """
    if not isinstance(net, FloatNetwork):
        raise QuantizationError(f"net: expected a FloatNetwork, got {type(net).__name__}")
    net.check()
    W = check_int("weight_bits", weight_bits, 1, 8)
    V = check_int("membrane_bits", membrane_bits, max(2, W), 32)
    I = V if current_bits is None else check_int("current_bits", current_bits, 2, 32)
    check_choice("leak", leak, ("shift", "mult"))
    F = check_int("decay_frac_bits", decay_frac_bits, 1, 16)
    try:
        clip_percentile = float(clip_percentile)
        headroom = float(headroom)
    except (TypeError, ValueError) as exc:
        raise QuantizationError(f"clip_percentile/headroom: expected numbers ({exc})") from exc
    if not 0 < clip_percentile <= 100:
        raise QuantizationError(f"clip_percentile: expected a number in (0, 100], got "
                                f"{clip_percentile}")
    if not 1 <= headroom <= 1 << 16:
        raise QuantizationError(f"headroom: expected a number in [1, 65536], got {headroom}")
    _check_finite(net)
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            return _quantize(net, W, V, I, leak, F, clip_percentile, headroom, calibration)
    except FloatingPointError as exc:
        raise QuantizationError(f"network: values overflow while quantizing ({exc})") from exc


def _quantize(net, W, V, I, leak, F, clip_percentile, headroom, calibration):
    order, phase = net.order()
    peaks = net.simulate(calibration).peaks if calibration is not None else None

    wlo, whi = signed_range(W)
    qmax = max(whi, 1)
    vhi = signed_range(V)[1]
    layers, projections, report = {}, [], []
    for name in order:
        lay = net.layers[name]
        into = [p for p in net.projections if p.target == name]
        norm = 1.0 / lay.threshold if lay.spiking else np.ones(lay.size)
        wn = [p.weight * norm[:, None] for p in into]
        bn = lay.bias * norm
        mags = np.concatenate([np.abs(w).reshape(-1) for w in wn] + [np.zeros(1)])
        mags = mags[mags > 0]
        m = float(np.percentile(mags, clip_percentile)) if mags.size else 0.0
        if m == 0:
            m = float(np.abs(bn).max(initial=0)) or 1.0
        if lay.spiking:
            if not math.isfinite(qmax / m):
                raise QuantizationError(f"layer {name!r}: weights too small to scale ({m!r})")
            s = max(1, min(round(qmax / m), int(vhi // headroom)))
            threshold = s
        else:
            s = qmax / m
            if not math.isfinite(s):
                raise QuantizationError(f"layer {name!r}: weights too small to scale ({m!r})")
            if peaks is not None and peaks[name]["v"] > 0:
                s = min(s, (vhi / headroom) / peaks[name]["v"])
            threshold = vhi
        qw, clipped, err2, ref2 = [], 0, 0.0, 0.0
        for p, w in zip(into, wn):
            raw = np.rint(w * s)
            q = np.clip(raw, wlo, whi).astype(np.int64)
            clipped += int(np.count_nonzero(q != raw))
            err2 += float(((q / s - w) ** 2).sum())
            ref2 += float((w ** 2).sum())
            qw.append(q)
        n_w = sum(w.size for w in wn)
        braw = bn * s
        shift = 0
        while shift < V - W and np.abs(np.rint(braw / (1 << shift))).max(initial=0) > qmax:
            shift += 1
        bq = np.clip(np.rint(braw / (1 << shift)), wlo, whi).astype(np.int64)
        berr = float(np.abs((bq << shift) / s - bn).max(initial=0))
        leak_codes = _decay_codes(lay.beta, leak, F, V)
        derr = float(np.abs(decay_factor(leak_codes, leak, F) - lay.beta).max())
        if lay.cuba:
            cl_codes = _decay_codes(lay.alpha, leak, F, I)
            cerr = float(np.abs(decay_factor(cl_codes, leak, F) - lay.alpha).max())
        else:
            cl_codes, cerr = np.zeros(lay.size, np.int64), 0.0
        notes = list(lay.notes)
        if lay.spiking and s == int(vhi // headroom) and round(qmax / m) > s:
            notes.append(f"threshold capped at {s} by membrane_bits={V}: weights use fewer "
                         f"than {W} bits")
        if np.any(np.abs(np.rint(braw / (1 << shift))) > qmax):
            notes.append(f"bias clipped: it needs more than bias_shift={V - W}")
        if lay.refractory.bit_length() > 8:
            raise QuantizationError(f"layer {name!r}: refractory {lay.refractory} needs more "
                                    f"than 8 bits")
        layers[name] = QLayer(
            name=name, size=lay.size, kind=lay.kind, reset=lay.reset,
            compare=lay.compare if lay.spiking else "gt", bias=bq, bias_shift=shift,
            threshold=int(threshold), leak=leak_codes, current_leak=cl_codes,
            refractory=lay.refractory, scale=s * norm, phase=phase[name])
        projections += [QProjection(p.source, p.target, q, p.recurrent)
                        for p, q in zip(into, qw)]
        report.append(LayerReport(
            name=name, kind=lay.kind, scale=float(s), threshold=int(threshold),
            clipped_fraction=clipped / n_w if n_w else 0.0,
            weight_rel_rms=math.sqrt(err2 / ref2) if ref2 else 0.0, bias_max_error=berr,
            decay_max_error=derr, current_decay_max_error=cerr, bias_shift=shift, notes=notes))
    return QuantizedNetwork(net.inputs, layers, projections, net.outputs, report,
                            weight_bits=W, membrane_bits=V, current_bits=I, leak=leak,
                            decay_frac_bits=F)


def _check_finite(net):
    """Refuse NaN, infinities and bad shapes that crept in after the network was built."""
    for p in net.projections:
        src = net.inputs.get(p.source) or net.layers[p.source].size
        w = np.asarray(p.weight)
        if w.shape != (net.layers[p.target].size, src):
            raise QuantizationError(f"weight {p.source!r} -> {p.target!r}: expected shape "
                                    f"{(net.layers[p.target].size, src)}, got {w.shape}")
        if w.dtype.kind not in "biuf" or not np.all(np.isfinite(w)):
            raise QuantizationError(f"weight {p.source!r} -> {p.target!r}: NaN, infinity or "
                                    f"non-numeric values")
    for name, lay in net.layers.items():
        for field in ("beta", "alpha", "bias", "threshold"):
            v = getattr(lay, field)
            if v is None:
                continue
            v = np.asarray(v)
            if v.shape != (lay.size,) or v.dtype.kind not in "biuf":
                raise QuantizationError(f"layer {name!r}: {field} expected {lay.size} numbers, "
                                        f"got shape {v.shape} dtype {v.dtype}")
            bad = np.isnan(v) | (np.isinf(v) if field != "threshold" or lay.spiking else False)
            if np.any(bad):
                raise QuantizationError(f"layer {name!r}: {field}[{int(np.flatnonzero(bad)[0])}]"
                                        f" is not finite")

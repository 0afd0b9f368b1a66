"""snnTorch models into spikeforge, read layer by layer (no NIR export on the way).

snnTorch 1.0.0's ``export_to_nir`` fails with nir 1.0.8 / nirtorch 2.6 ("Type inference
error"), so :func:`from_snntorch` reads an ``nn.Sequential`` directly and builds the
:class:`~spikeforge.nir_import.FloatNetwork` that :func:`~spikeforge.nir_import.load_nir` would.

Supported layers, in order: ``nn.Linear`` (any number in a row are composed), ``nn.Flatten``,
``nn.Identity``, ``nn.Dropout`` (identity at inference), ``snn.Leaky`` and ``snn.Synaptic``.
snnTorch's equations with ``x = W s + b`` the output of the preceding linear layers::

    Leaky:     mem = beta mem + x                         -> kind "lif"
    Synaptic:  syn = alpha syn + x;  mem = beta mem + syn  -> kind "cuba"
    spk = mem > threshold;  then reset "subtract" (mem -= threshold) or "zero" (mem = 0)

which are the spikeforge float equations when ``reset_delay=False``, with one corner case:
when a subtraction leaves the membrane still above the threshold, snnTorch subtracts once more
*before* the next comparison while spikeforge compares first.  With snnTorch's default
``reset_delay=True`` the reset lands one timestep late in snnTorch; spikeforge (and the
hardware) reset at once, and the layer carries a note saying so.  A neuron layer with
``reset_mechanism="none"`` becomes a non-spiking readout (``"li"`` / ``"cuba_li"``): read its
membrane, as snnTorch models with a membrane readout do.  A ``Linear`` bias in front of a
``Synaptic`` layer feeds the synaptic current; it is mapped to the equal steady-state membrane
bias ``b / (1 - alpha)`` (with a note).  Torch is imported only when this function runs (the
``train`` extra).
"""

import numpy as np

from .golden_model.checks import ConfigError
from .nir_import import FloatNetwork

__all__ = ["SnnTorchImportError", "from_snntorch", "SUPPORTED_LAYERS"]

SUPPORTED_LAYERS = ("nn.Linear", "nn.Flatten", "nn.Identity", "nn.Dropout", "snn.Leaky",
                    "snn.Synaptic")


class SnnTorchImportError(ConfigError):
    """An snnTorch model that cannot be imported (unsupported layer or setting)."""


def _array(tensor):
    return np.asarray(tensor.detach().cpu().numpy(), dtype=np.float64)


def from_snntorch(module, sample=None, *, input_name="input"):
    """Return the :class:`FloatNetwork` of an ``nn.Sequential`` of snnTorch layers.

    Parameters
    ----------
    module : torch.nn.Sequential
        The model (see the module docstring for the layers it may contain).
    sample : tensor or array, optional
        One timestep of input with a batch dimension, e.g. ``torch.zeros(1, 1, 8, 8)``; gives
        the input size when the model does not start with ``nn.Linear``.
    input_name : str
        Name of the network input.

    The last neuron layer is the output.  Raises :class:`SnnTorchImportError` naming the layer
    index and type of anything that cannot be mapped.
    """
    import torch
    import snntorch as snn

    if not isinstance(module, torch.nn.Sequential):
        raise SnnTorchImportError(f"module: expected a torch.nn.Sequential, got "
                                  f"{type(module).__name__}")
    layers = list(module)
    size = None
    if sample is not None:
        shape = tuple(np.shape(sample.detach().cpu().numpy() if torch.is_tensor(sample)
                               else sample))
        if len(shape) < 2:
            raise SnnTorchImportError(f"sample: expected (batch, features...), got shape {shape}")
        size = int(np.prod(shape[1:]))
    elif layers and isinstance(layers[0], torch.nn.Linear):
        size = layers[0].in_features
    if not size:
        raise SnnTorchImportError("sample: needed to know the input size (the model does not "
                                  "start with nn.Linear)")
    net = FloatNetwork()
    net.add_input(input_name, size)
    source, width = input_name, size
    w = None           # pending composed linear map (out, in) from `source`; None: identity
    b = None
    last = None
    for i, layer in enumerate(layers):
        where = f"layer {i} ({type(layer).__name__})"
        if isinstance(layer, torch.nn.Linear):
            if layer.in_features != (w.shape[0] if w is not None else width):
                raise SnnTorchImportError(f"{where}: in_features={layer.in_features}, the "
                                          f"previous layer gives "
                                          f"{w.shape[0] if w is not None else width}")
            lw = _array(layer.weight)
            lb = _array(layer.bias) if layer.bias is not None else np.zeros(layer.out_features)
            w = lw if w is None else lw @ w
            b = lb if b is None else lw @ b + lb
        elif isinstance(layer, (torch.nn.Flatten, torch.nn.Identity, torch.nn.Dropout)):
            continue
        elif isinstance(layer, (snn.Leaky, snn.Synaptic)):
            name = f"{i}_{type(layer).__name__.lower()}"
            n = w.shape[0] if w is not None else width
            last = _neuron_layer(net, layer, name, n, b, where, snn)
            net.connect(source, name, w if w is not None else np.eye(n))
            source, width, w, b = name, n, None, None
        else:
            raise SnnTorchImportError(f"{where}: not supported; spikeforge reads "
                                      f"{', '.join(SUPPORTED_LAYERS)}")
    if last is None:
        raise SnnTorchImportError("module: no snn.Leaky or snn.Synaptic layer")
    if w is not None:
        raise SnnTorchImportError("module: nn.Linear after the last neuron layer gives analog "
                                  "outputs, which cannot be mapped; end with a neuron layer "
                                  "(reset_mechanism='none' for a membrane readout)")
    net.add_output(last)
    return net


def _neuron_layer(net, layer, name, n, bias, where, snn):
    for attr, ok in (("inhibition", False), ("state_quant", False)):
        if bool(getattr(layer, attr, ok)) != ok:
            raise SnnTorchImportError(f"{where}: {attr} is not supported")
    gsf = _array(layer.graded_spikes_factor) if hasattr(layer, "graded_spikes_factor") else 1.0
    if np.any(np.asarray(gsf) != 1):
        raise SnnTorchImportError(f"{where}: graded_spikes_factor must be 1 (binary spikes)")
    mech = layer.reset_mechanism
    if mech not in ("subtract", "zero", "none"):
        raise SnnTorchImportError(f"{where}: reset_mechanism {mech!r} is not supported")
    beta = np.clip(_array(layer.beta), 0, 1)        # snnTorch clamps beta to [0, 1]
    threshold = _array(layer.threshold)
    cuba = isinstance(layer, snn.Synaptic)
    alpha = np.clip(_array(layer.alpha), 0, 1) if cuba else None
    notes = []
    if getattr(layer, "reset_delay", False) and mech != "none":
        notes.append("snnTorch reset_delay=True resets one timestep late; the hardware resets "
                     "at once")
    b = np.zeros(n) if bias is None else bias
    if cuba and np.any(b != 0):
        a = np.broadcast_to(alpha, (n,))
        if np.any(a >= 1):
            raise SnnTorchImportError(f"{where}: a Linear bias into a synaptic current that never "
                                      f"decays (alpha = 1) cannot be mapped")
        b = b / (1 - a)
        notes.append("Linear bias into the synaptic current mapped to its steady-state "
                     "membrane bias")
    if mech == "none":
        kind = "cuba_li" if cuba else "li"
        threshold = 1.0
    else:
        kind = "cuba" if cuba else "lif"
    try:
        net.add_layer(name, n, kind=kind, beta=beta, alpha=alpha, threshold=threshold, bias=b,
                      reset="subtract" if mech == "subtract" else "zero", compare="gt",
                      notes=notes)
    except ConfigError as exc:
        raise SnnTorchImportError(f"{where}: {exc}") from exc
    return name

r"""The integer LIF neuron: the equations every core computes at a tick.

All arithmetic is on Python/numpy integers with no intermediate rounding except where stated;
``>>`` is an arithmetic shift that rounds toward minus infinity (Python's ``>>`` and Amaranth's
signed ``>>`` agree).  ``sat_B(x)`` clamps ``x`` to ``[-2**(B-1), 2**(B-1) - 1]``.

Leak, with leak parameter ``k`` (shift mode) or ``alpha`` (mult mode, F = ``decay_frac_bits``)::

    shift:  decay(x) = x - (x >> k)          for k >= 1;  decay(x) = x  for k = 0 (no leak)
    mult:   decay(x) = (x * alpha) >> F      alpha in [0, 2**F];  alpha = 2**F is no leak

Tick of one neuron in timestep t, given the accumulated input ``a`` (the exact sum of the
weights of every event the neuron received for timestep t; ``|a| <= 2**(acc_bits - 1)``)::

    CUBA only:  i[t] = sat_I(decay_i(i[t-1]) + a);   x = i[t]
    otherwise:                                          x = a
    r = ref[t-1]
    u     = decay_v(v[t-1]) + (x + (bias << bias_shift)   if r == 0 else 0)
    v1    = sat_V(u)                            # saturate once, after the exact sum
    s[t]  = (r == 0) and (v1 >= theta)          # compare "ge";  v1 > theta for "gt"
    v[t]  = 0 if s[t] else v1                   # reset "zero"
          = v1 - theta if s[t] else v1          # reset "subtract" (no overflow: v1 >= theta > 0)
    ref[t] = R if s[t] else max(r - 1, 0)       # R = refractory period
    a      = 0                                  # the accumulator starts the next timestep empty

A refractory neuron (``r > 0``) ignores its input and bias, still leaks, and cannot fire.
"""

import numpy as np

__all__ = ["saturate", "decay", "tick"]


def saturate(x, bits):
    """Clamp ``x`` to the signed ``bits``-wide range."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return np.clip(x, lo, hi)


def decay(x, leak, mode, frac_bits):
    """Apply one timestep of leak to ``x`` (see the module docstring)."""
    x = np.asarray(x, dtype=np.int64)
    if mode == "shift":
        return np.where(np.asarray(leak) == 0, x, x - (x >> leak))
    return (x * leak) >> frac_bits


def tick(cfg, params, v, i, ref, acc):
    """Return ``(spikes, v, i, ref)`` after one tick of every neuron of a core.

    ``cfg`` is the core's :class:`CoreConfig`, ``params`` its :class:`CoreParams`; ``v``, ``i``,
    ``ref`` and ``acc`` are integer arrays of shape ``(neurons,)``.  This is the reference form
    of the equations, written for clarity; :class:`Simulator` computes the same thing
    vectorized across cores.
    """
    v = np.asarray(v, dtype=np.int64)
    ref = np.asarray(ref, dtype=np.int64)
    acc = np.asarray(acc, dtype=np.int64)
    if cfg.cuba:
        i = saturate(decay(i, params.current_leak, cfg.leak, cfg.decay_frac_bits) + acc,
                     cfg.current_bits)
        x = i
    else:
        i = np.zeros_like(v)
        x = acc
    active = ref == 0
    drive = x + (params.bias.astype(np.int64) << params.bias_shift)
    u = decay(v, params.leak, cfg.leak, cfg.decay_frac_bits) + np.where(active, drive, 0)
    v1 = saturate(u, cfg.membrane_bits)
    above = v1 >= params.threshold if cfg.compare == "ge" else v1 > params.threshold
    spikes = active & above
    if cfg.reset == "zero":
        v_new = np.where(spikes, 0, v1)
    else:
        v_new = np.where(spikes, v1 - params.threshold, v1)
    ref_new = np.where(spikes, params.refractory, np.maximum(ref - 1, 0))
    return spikes, v_new, i, ref_new

"""Shared builders for the mapping tests: NIR graphs, float networks and a NIR reference."""

import numpy as np
import nir

from spikeforge.nir_import import FloatNetwork


def lif(n, tau=2e-4, r=None, v_leak=0.0, thr=1.0, dt=1e-4):
    """A NIR LIF whose input gain r dt/tau is 1 unless ``r`` is given."""
    tau = np.full(n, tau)
    return nir.LIF(tau=tau, r=np.full(n, tau[0] / dt) if r is None else np.full(n, r),
                   v_leak=np.full(n, v_leak), v_threshold=np.full(n, thr), v_reset=np.zeros(n))


def nir_reference(nodes, x, dt):
    """Run a sequential list of NIR nodes with forward Euler, written from NIR's equations.

    ``x`` is (timesteps, inputs); returns the output of the last node per timestep (spikes for
    firing nodes, the membrane for LI/CubaLI).  Independent of spikeforge's own code.
    """
    state = [dict() for _ in nodes]
    out = []
    for t in range(len(x)):
        y = x[t].astype(np.float64)
        for node, st in zip(nodes, state):
            k = type(node).__name__
            if k == "Linear":
                y = node.weight @ y
            elif k == "Affine":
                y = node.weight @ y + node.bias
            elif k == "Scale":
                y = node.scale * y
            elif k == "Flatten":
                y = y.reshape(-1)
            elif k in ("LIF", "LI", "IF"):
                v = st.get("v", np.zeros_like(y))
                if k == "IF":
                    v = v + node.r * y
                else:
                    v = v + dt / node.tau * (node.v_leak - v + node.r * y)
                if k == "LI":
                    st["v"] = v
                    y = v
                    continue
                z = v > node.v_threshold
                st["v"] = np.where(z, node.v_reset, v)
                y = z.astype(np.float64)
            elif k in ("CubaLIF", "CubaLI"):
                i = st.get("i", np.zeros_like(y))
                v = st.get("v", np.zeros_like(y))
                i = i + dt / node.tau_syn * (-i + node.w_in * y)
                v = v + dt / node.tau_mem * (node.v_leak - v + node.r * i)
                st["i"] = i
                if k == "CubaLI":
                    st["v"] = v
                    y = v
                    continue
                z = v > node.v_threshold
                st["v"] = np.where(z, node.v_reset, v)
                y = z.astype(np.float64)
            else:
                raise AssertionError(k)
        out.append(y)
    return np.array(out)


def random_float_network(rng, n_in=12, sizes=(20, 15, 6), recurrent=True, kinds=None):
    """A feed-forward stack with optional recurrence, mixed kinds, per-neuron parameters."""
    net = FloatNetwork()
    net.add_input("x", n_in)
    prev, n_prev = "x", n_in
    kinds = kinds or ["lif", "cuba", "li"]
    for k, n in enumerate(sizes):
        kind = kinds[k % len(kinds)] if k < len(sizes) - 1 else "li"
        name = f"l{k}"
        net.add_layer(name, n, kind=kind, beta=rng.choice([0.5, 0.75, 0.875], n),
                      alpha=0.5 if kind.startswith("cuba") else None,
                      threshold=rng.uniform(0.5, 1.5, n) if kind in ("lif", "cuba") else 1.0,
                      bias=rng.normal(0, 0.05, n), reset=["zero", "subtract"][k % 2])
        net.connect(prev, name, rng.normal(0, 1.0 / np.sqrt(n_prev), (n, n_prev)))
        if recurrent and kind in ("lif", "cuba"):
            net.connect(name, name, rng.normal(0, 0.3 / np.sqrt(n), (n, n)))
        prev, n_prev = name, n
    net.add_output(prev)
    return net

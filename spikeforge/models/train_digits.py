"""Train the shipped demo network on scikit-learn's 8x8 digits and write ``digits.nir``.

Network: 64 rate-coded pixels -> 128 LIF (beta 0.875, threshold 1, reset by subtraction) ->
10 leaky-integrator readouts (beta 0.9375); the class is the argmax of the readout membrane
summed over the timesteps.  Both decays are exact in the hardware's shift leak (k = 3 and 4).
Input: each pixel (0..16) fires with probability ``pixel / 16`` in each of 20 timesteps.

Training runs the float equations of :mod:`spikeforge.nir_import` in plain torch (so the NIR
file and the trained model agree exactly) with a fast-sigmoid surrogate gradient, fixed seeds,
on the CPU in well under a minute.  Afterwards the script evaluates the test split three ways,
on the same encoded spikes: the float network read back from the NIR file, and the network
quantized to 8 and to 4 bits run on the golden model through ``Device("golden")``::

    python -m spikeforge.models.train_digits            # train, write digits.nir, evaluate
    python -m spikeforge.models.train_digits --eval     # evaluate the shipped digits.nir

Needs the ``train`` extra (torch, scikit-learn); evaluation alone needs scikit-learn.
"""

import argparse
import json
import os
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NIR_PATH = os.path.join(HERE, "digits.nir")
SEED = 2026
TIMESTEPS = 20
HIDDEN = 128
BETA_HIDDEN = 1 - 2 ** -3
BETA_OUT = 1 - 2 ** -4
EPOCHS = 60
BATCH = 64
LR = 2e-3


def load_split():
    """Return ``(x_train, y_train, x_test, y_test)``: pixels scaled to [0, 1], 80/20 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0,
                                                        stratify=y)
    return x_train, y_train, x_test, y_test


def encode(x, timesteps=TIMESTEPS, seed=SEED):
    """Rate-code pixel intensities: bool spikes (batch, timesteps, 64)."""
    rng = np.random.default_rng(seed)
    return rng.random((len(x), timesteps, x.shape[1])) < x[:, None, :]


def train(x_train, y_train, epochs=EPOCHS, log=print):
    import torch

    torch.manual_seed(SEED)
    torch.set_num_threads(1)          # tiny matrices: one thread is fastest, and fair to others
    rng = np.random.default_rng(SEED + 1)

    class Spike(torch.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            return (v > 0).float()

        @staticmethod
        def backward(ctx, grad):
            (v,) = ctx.saved_tensors
            return grad / (1 + 5 * v.abs()) ** 2          # fast sigmoid, slope 5

    fc1 = torch.nn.Linear(64, HIDDEN)
    fc2 = torch.nn.Linear(HIDDEN, 10, bias=False)
    params = list(fc1.parameters()) + list(fc2.parameters())
    opt = torch.optim.Adam(params, lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    xt = torch.from_numpy(x_train)
    yt = torch.from_numpy(np.asarray(y_train, np.int64))

    def forward(spikes):                       # spikes (batch, T, 64) float
        v1 = torch.zeros(len(spikes), HIDDEN)
        v2 = torch.zeros(len(spikes), 10)
        total = torch.zeros(len(spikes), 10)
        for t in range(spikes.shape[1]):
            v1 = BETA_HIDDEN * v1 + fc1(spikes[:, t])
            s1 = Spike.apply(v1 - 1.0)
            v1 = v1 - s1 * 1.0                 # reset by subtraction, threshold 1
            v2 = BETA_OUT * v2 + fc2(s1)
            total = total + v2
        return total / spikes.shape[1]

    for epoch in range(epochs):
        perm = rng.permutation(len(xt))
        correct, loss_sum = 0, 0.0
        for b in range(0, len(perm), BATCH):
            idx = perm[b:b + BATCH]
            spikes = torch.from_numpy(encode(x_train[idx], seed=int(rng.integers(1 << 31)))
                                      .astype(np.float32))
            logits = forward(spikes)
            loss = torch.nn.functional.cross_entropy(logits, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yt[idx]).sum())
        sched.step()
        if epoch % 10 == 9 or epoch == epochs - 1:
            log(f"epoch {epoch + 1:3d}: loss {loss_sum / len(xt):.4f}, "
                f"train accuracy {correct / len(xt):.4f}")
    w1 = fc1.weight.detach().numpy().astype(np.float64)
    b1 = fc1.bias.detach().numpy().astype(np.float64)
    w2 = fc2.weight.detach().numpy().astype(np.float64)
    return w1, b1, w2


def build(w1, b1, w2):
    """Return the :class:`FloatNetwork` of the trained weights."""
    from spikeforge.nir_import import FloatNetwork

    net = FloatNetwork(dt=1e-4)
    net.add_input("pixels", 64)
    net.add_layer("hidden", HIDDEN, beta=BETA_HIDDEN, threshold=1.0, bias=b1, reset="subtract")
    net.add_layer("readout", 10, kind="li", beta=BETA_OUT)
    net.connect("pixels", "hidden", w1)
    net.connect("hidden", "readout", w2)
    net.add_output("readout")
    return net


def evaluate(path=NIR_PATH, bits=(8, 4), membrane_bits=16, log=print):
    """Return accuracies on the test split: float (from the NIR file) and quantized (golden)."""
    from spikeforge.device import Device
    from spikeforge.mapper import map_network
    from spikeforge.nir_import import load_nir
    from spikeforge.quantize import quantize

    x_train, _, x_test, y_test = load_split()
    spikes = encode(x_test, seed=SEED + 7)
    net = load_nir(path)
    res = {"float": float((net.simulate(spikes).membrane.sum(1).argmax(1) == y_test).mean())}
    calib = encode(x_train[:200], seed=SEED + 9)
    for w in bits:
        q = quantize(net, w, membrane_bits, leak="shift", calibration=calib)
        log(q.report_text())
        mapped = map_network(q)
        dev = Device("golden").load(mapped)
        t0 = time.perf_counter()
        pred = np.array([dev.run(s).membrane_raw.sum(0).argmax() for s in spikes])
        res[f"golden_{w}bit"] = float((pred == y_test).mean())
        log(f"{w}-bit on the golden model: {res[f'golden_{w}bit']:.4f} "
            f"({len(spikes)} samples in {time.perf_counter() - t0:.1f} s)")
    res["test_samples"] = len(y_test)
    return res


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval", action="store_true", help="only evaluate the NIR file")
    parser.add_argument("--out", default=NIR_PATH, help="where to write the NIR file")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args(argv)
    if not args.eval:
        import nir

        from spikeforge.nir_import import to_nir

        x_train, y_train, _, _ = load_split()
        t0 = time.perf_counter()
        net = build(*train(x_train, y_train, args.epochs))
        print(f"trained in {time.perf_counter() - t0:.1f} s")
        nir.write(args.out, to_nir(net, weight_dtype=np.float32))  # trained in float32
        print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")
    print(json.dumps(evaluate(args.out), indent=2))


if __name__ == "__main__":
    main()

"""Engine speed: nnstudio's Trainer vs a hand-tuned plain NumPy loop (and PyTorch CPU eager if installed).

Same model (784-128-10, ReLU), same init, same batch order, Adam lr 1e-3, batch 128, one MNIST epoch
each, interleaved and repeated; prints the median seconds per epoch and the ratios measured in this run.

    python benchmarks/bench_engine.py [--data-dir DIR] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from nnstudio.core.data import load_dataset
from nnstudio.core.nn import Adam, Sequential
from nnstudio.core.training import Trainer

BATCH, LR, SEED = 128, 1e-3, 0


def batch_order(n: int, epoch: int) -> np.ndarray:
    return np.random.default_rng((SEED, epoch)).permutation(n)


def plain_numpy_epoch(x, y, weights, epoch):
    """A hand-tuned loop: preallocated Adam buffers, in-place updates, fused softmax-CE."""
    W1, b1, W2, b2 = [w.copy() for w in weights]
    params = [W1, b1, W2, b2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    tmp = [np.empty_like(p) for p in params]
    grads = [np.empty_like(p) for p in params]
    b1_, b2_, eps = 0.9, 0.999, 1e-8
    order = batch_order(len(x), epoch)
    t = 0
    start = time.perf_counter()
    for i in range(0, len(x), BATCH):
        idx = order[i : i + BATCH]
        xb, yb = x[idx], y[idx]
        n = len(idx)
        h = xb @ W1
        h += b1
        mask = h > 0
        np.maximum(h, 0, out=h)
        z = h @ W2
        z += b2
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        z[np.arange(n), yb] -= 1
        z /= n
        np.matmul(h.T, z, out=grads[2])
        np.sum(z, axis=0, out=grads[3])
        dh = z @ W2.T
        dh *= mask
        np.matmul(xb.T, dh, out=grads[0])
        np.sum(dh, axis=0, out=grads[1])
        t += 1
        bc1, bc2 = 1 - b1_**t, 1 - b2_**t
        scale = np.float32(LR / bc1 * np.sqrt(bc2))
        eps_hat = np.float32(eps * np.sqrt(bc2))
        for p, g, mm, vv, tt in zip(params, grads, m, v, tmp):
            mm *= np.float32(b1_)
            mm += np.float32(1 - b1_) * g
            vv *= np.float32(b2_)
            np.multiply(g, g, out=tt)
            tt *= np.float32(1 - b2_)
            vv += tt
            np.sqrt(vv, out=tt)
            tt += eps_hat
            np.divide(mm, tt, out=tt)
            tt *= scale
            p -= tt
    return time.perf_counter() - start, params


def nnstudio_epoch(x, y, weights, epoch):
    net = Sequential.mlp([784, 128, 10], "relu", seed=SEED)
    net.set_weights(weights)
    trainer = Trainer(net, Adam(net.parameters(), lr=LR), (x, y), batch_size=BATCH, epochs=1, seed=SEED)
    trainer.epoch = epoch - 1  # same batch order as the other loops
    start = time.perf_counter()
    trainer.run(1)
    # Trainer.run includes no test evaluation here (no test split given): a like-for-like epoch.
    return time.perf_counter() - start, net.get_weights()


def torch_epoch(x, y, weights, epoch):
    import torch

    torch.set_num_threads(2)
    W1, b1, W2, b2 = weights
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(W1.T.copy()))
        model[0].bias.copy_(torch.from_numpy(b1))
        model[2].weight.copy_(torch.from_numpy(W2.T.copy()))
        model[2].bias.copy_(torch.from_numpy(b2))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    lossf = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    order = torch.from_numpy(batch_order(len(x), epoch))
    start = time.perf_counter()
    for i in range(0, len(x), BATCH):
        idx = order[i : i + BATCH]
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(xt[idx]), yt[idx])
        loss.backward()
        opt.step()
    return time.perf_counter() - start, None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    data = load_dataset("mnist", args.data_dir, download=False)
    x, y = data.flat("train")
    weights = Sequential.mlp([784, 128, 10], "relu", seed=SEED).get_weights()
    runners = {"plain numpy": plain_numpy_epoch, "nnstudio": nnstudio_epoch}
    try:
        import torch  # noqa: F401

        runners["pytorch eager"] = torch_epoch
    except ImportError:
        pass
    # sanity: nnstudio and the plain loop compute the same training
    _, w_plain = plain_numpy_epoch(x, y, weights, 1)
    _, w_ours = nnstudio_epoch(x, y, weights, 1)
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(w_plain, w_ours))
    times = {name: [] for name in runners}
    for r in range(args.repeats):
        for name, fn in runners.items():  # interleaved: noise hits all alike
            times[name].append(fn(x, y, weights, r + 1)[0])
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"784-128-10, Adam, batch {BATCH}, one MNIST epoch, median of {args.repeats} (interleaved)")
    print(f"max |weight difference| nnstudio vs plain loop after one epoch: {diff:.2e}")
    for name, s in med.items():
        print(f"  {name:14s} {s:.3f} s/epoch   (min {min(times[name]):.3f})")
    print(f"ratio nnstudio / plain numpy: {med['nnstudio'] / med['plain numpy']:.3f}  (target <= 1.15)")
    if "pytorch eager" in med:
        print(f"ratio nnstudio / pytorch eager: {med['nnstudio'] / med['pytorch eager']:.3f}")


if __name__ == "__main__":
    main()

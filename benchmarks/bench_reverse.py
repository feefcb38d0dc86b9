"""Reverse-mode benchmarks of dualdiff: gradient time / function time, in one run.

[3] ``dd.grad(f, x)`` of f(x) = sum(sin(x)*exp(x) + x**2), x of size 1e6, against the numpy f;
[4] the gradient of an MLP loss (784-100-10, 64 samples, float64, tanh hidden layer, softmax
    cross-entropy averaged over the batch, L2 penalty) with respect to (W1, W2), against the
    numpy loss; a hand-written numpy backprop is timed (and checked) for reference;
[5] ``dd.grad(f, x)`` of the seed example f(x) = log x1 + x1*x2 - sin x2 at (2, 5) against the
    same f on plain floats with the math module.

Run from the repo root: ``python benchmarks/bench_reverse.py [--quick] [--no-peers]``.
Exits 1 if a gradient disagrees with its analytic / hand-written value (or a peer's).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402  (first: it pins BLAS threads before numpy is imported)
    Bench, check_close, print_times, report_ratio, run_peers, run_script, section, time_group,
    use_working_tree,
)

import numpy as np  # noqa: E402

dd = use_working_tree()

from seed import SEED_TARGET, SEED_X, seed_dd, seed_math, seed_np  # noqa: E402  (after the path is set)

BIG_TARGET = 2.5
MLP_TARGET = 2.2


# --------------------------------------------------------------------------------------------
# [3] sum(sin(x)*exp(x) + x**2)
# --------------------------------------------------------------------------------------------

def big_f(x):
    return np.sum(np.sin(x) * np.exp(x) + x ** 2)


def big_value_and_grad_by_hand(x):
    """Value and gradient written out in numpy: what hand-derived reverse mode costs."""
    s = np.sin(x)
    e = np.exp(x)
    return np.sum(s * e + x * x), (np.cos(x) + s) * e + 2.0 * x


def big_value_and_grad_naive(x):
    """Value and gradient as reverse mode computes them, written out in numpy: the forward
    values kept, then one adjoint per operation, no algebra across operations."""
    s = np.sin(x)
    e = np.exp(x)
    p = s * e
    q = x * x
    value = np.sum(p + q)
    g = 2.0 * x          # from q = x * x
    g += s * e           # from p through exp: p̄ · s · e
    g += np.cos(x) * e   # from p through sin: p̄ · e · cos x
    return value, g


def _big_peers(x):
    def jax_(jax):
        jnp = jax.numpy
        g = jax.jit(jax.grad(lambda z: jnp.sum(jnp.sin(z) * jnp.exp(z) + z ** 2)))
        xj = jnp.asarray(x)
        return Bench("jax.jit(jax.grad(f))", lambda z: g(z).block_until_ready(), (xj,)), \
            lambda: np.asarray(g(xj))

    def torch_(torch):
        f = lambda z: torch.sum(torch.sin(z) * torch.exp(z) + z ** 2)  # noqa: E731

        def g(z):
            z = z.detach().requires_grad_(True)
            return torch.autograd.grad(f(z), z)[0]

        xt = torch.from_numpy(x)
        return Bench("torch.autograd.grad", g, (xt,)), lambda: g(xt).numpy()

    def autograd_(autograd):
        anp = autograd.numpy
        g = autograd.grad(lambda z: anp.sum(anp.sin(z) * anp.exp(z) + z ** 2))
        return Bench("autograd.grad(f)", g, (x,)), lambda: g(x)

    return {"jax": jax_, "torch": torch_, "autograd": autograd_}


def bench_big(settings) -> None:
    n = 10 ** 4 if settings.quick else 10 ** 6
    section(f"[3] reverse: dd.grad of f(x) = sum(sin(x)*exp(x) + x**2), x of size {n:.0e}, "
            f"vs numpy f")
    x = np.random.default_rng(0).random(n)
    want = (np.cos(x) + np.sin(x)) * np.exp(x) + 2 * x
    check_close("dd.grad(f, x)", dd.grad(big_f, x), want)
    check_close("gradient as AD does it, by hand", big_value_and_grad_naive(x)[1], want)

    base = Bench("numpy f(x)", big_f, (x,))
    head = Bench("dd.grad(f, x) (reverse)", dd.grad, (big_f, x))
    hand = Bench("numpy value + gradient by hand", big_value_and_grad_by_hand, (x,))
    naive = Bench("numpy value + gradient as AD does it", big_value_and_grad_naive, (x,))
    peers = run_peers(settings, _big_peers(x), want)
    group = [base, head, hand, naive] + peers
    time_group(group, settings.repeats_big, settings.min_time)
    print_times(group)
    report_ratio("rev.grad", f"dd.grad reverse / numpy f (n = {n:.0e})", head, base, BIG_TARGET)
    report_ratio("rev.grad.hand", "hand-written numpy value+gradient / numpy f (a floor)",
                 hand, base)
    report_ratio("rev.grad.naive", "operation-by-operation numpy value+gradient / numpy f "
                 "(AD's floor)", naive, base)
    for p in peers:
        report_ratio(f"rev.grad.vs_{p.peer}", f"dualdiff / {p.label}", head, p)


# --------------------------------------------------------------------------------------------
# [4] MLP 784-100-10, batch 64
# --------------------------------------------------------------------------------------------

D_IN, D_HID, D_OUT, BATCH = 784, 100, 10, 64
LAM = 1e-3


def mlp_data():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((D_IN, BATCH))                 # one sample per column
    labels = rng.integers(0, D_OUT, BATCH)
    Y = np.zeros((D_OUT, BATCH))
    Y[labels, np.arange(BATCH)] = 1.0                       # one-hot, classes along axis 0
    W1 = rng.standard_normal((D_HID, D_IN)) / np.sqrt(D_IN)
    W2 = rng.standard_normal((D_OUT, D_HID)) / np.sqrt(D_HID)
    return X, Y, (W1, W2)


def make_mlp_loss(X, Y):
    def loss(params):
        """The loss as a user of dualdiff writes it; runs on numpy arrays and on tape Vars."""
        W1, W2 = params
        h = np.tanh(W1 @ X)
        o = W2 @ h
        # Cross-entropy per sample = logsumexp over classes of o - o[true class]. With Y one-hot
        # the second term is sum(Y * o) over classes. dd.logsumexp rather than dd.log_softmax:
        # both subtract the (constant) max first, so neither overflows, but log_softmax is
        # logsumexp plus an extra (10, 64) subtraction whose cotangent must be broadcast back,
        # and then needs the same Y-weighted sum: logsumexp is strictly fewer taped operations.
        # One-hot Y also avoids o[labels, arange(B)], whose fancy-index adjoint is a scatter.
        nll = np.sum(dd.logsumexp(o, axis=0) - np.sum(Y * o, axis=0)) / BATCH
        return nll + 0.5 * LAM * (np.sum(W1 * W1) + np.sum(W2 * W2))

    return loss


def make_mlp_loss_numpy(X, Y):
    def loss(params):
        """The same loss in plain numpy (no dualdiff at all): the denominator of [4]."""
        W1, W2 = params
        h = np.tanh(W1 @ X)
        o = W2 @ h
        m = o.max(axis=0)
        lse = np.log(np.sum(np.exp(o - m), axis=0)) + m
        nll = np.sum(lse - np.sum(Y * o, axis=0)) / BATCH
        return nll + 0.5 * LAM * (np.sum(W1 * W1) + np.sum(W2 * W2))

    return loss


def make_mlp_backprop(X, Y):
    def value_and_grad(params):
        """Hand-written backprop of the same loss: value and (dW1, dW2)."""
        W1, W2 = params
        h = np.tanh(W1 @ X)
        o = W2 @ h
        m = o.max(axis=0)
        e = np.exp(o - m)
        s = e.sum(axis=0)
        lse = np.log(s) + m
        value = np.sum(lse - np.sum(Y * o, axis=0)) / BATCH \
            + 0.5 * LAM * (np.sum(W1 * W1) + np.sum(W2 * W2))
        d_o = (e / s - Y) / BATCH                  # softmax - onehot, averaged over the batch
        gW2 = d_o @ h.T + LAM * W2
        d_a = (W2.T @ d_o) * (1.0 - h * h)         # through tanh
        gW1 = d_a @ X.T + LAM * W1
        return value, (gW1, gW2)

    return value_and_grad


def _mlp_peers(X, Y, params):
    W1, W2 = params

    def jax_(jax):
        jnp = jax.numpy
        from jax.scipy.special import logsumexp
        Xj, Yj = jnp.asarray(X), jnp.asarray(Y)

        def loss(p):
            a, b = p
            o = b @ jnp.tanh(a @ Xj)
            nll = jnp.sum(logsumexp(o, axis=0) - jnp.sum(Yj * o, axis=0)) / BATCH
            return nll + 0.5 * LAM * (jnp.sum(a * a) + jnp.sum(b * b))

        g = jax.jit(jax.grad(loss))
        pj = (jnp.asarray(W1), jnp.asarray(W2))
        return Bench("jax.jit(jax.grad(loss))", lambda p: jax.block_until_ready(g(p)), (pj,)), \
            lambda: tuple(np.asarray(t) for t in g(pj))

    def torch_(torch):
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)

        def g(a, b):
            a = a.detach().requires_grad_(True)
            b = b.detach().requires_grad_(True)
            o = b @ torch.tanh(a @ Xt)
            nll = torch.sum(torch.logsumexp(o, dim=0) - torch.sum(Yt * o, dim=0)) / BATCH
            loss = nll + 0.5 * LAM * (torch.sum(a * a) + torch.sum(b * b))
            return torch.autograd.grad(loss, (a, b))

        W1t, W2t = torch.from_numpy(W1), torch.from_numpy(W2)
        return Bench("torch.autograd.grad", g, (W1t, W2t)), \
            lambda: tuple(t.numpy() for t in g(W1t, W2t))

    def autograd_(autograd):
        anp = autograd.numpy
        from autograd.scipy.special import logsumexp

        def loss(p):
            a, b = p
            o = anp.dot(b, anp.tanh(anp.dot(a, X)))
            nll = anp.sum(logsumexp(o, axis=0) - anp.sum(Y * o, axis=0)) / BATCH
            return nll + 0.5 * LAM * (anp.sum(a * a) + anp.sum(b * b))

        g = autograd.grad(loss)
        return Bench("autograd.grad(loss)", g, ((W1, W2),)), lambda: tuple(g((W1, W2)))

    return {"jax": jax_, "torch": torch_, "autograd": autograd_}


def bench_mlp(settings) -> None:
    section(f"[4] reverse: gradient of an MLP loss {D_IN}-{D_HID}-{D_OUT}, batch {BATCH}, "
            f"w.r.t. (W1, W2), vs numpy loss")
    X, Y, params = mlp_data()
    loss = make_mlp_loss(X, Y)
    loss_np = make_mlp_loss_numpy(X, Y)
    backprop = make_mlp_backprop(X, Y)

    value, hand = backprop(params)
    check_close("loss: dd-spelled on arrays == plain numpy == backprop value",
                (loss(params), loss_np(params)), (value, value), rtol=1e-12)
    g = dd.grad(loss, params)
    ok_type = isinstance(g, tuple) and len(g) == 2
    if not ok_type:
        print(f"  check dd.grad returns a tuple like (W1, W2): MISMATCH ({type(g).__name__})")
    # The brief: dd.grad and the hand-written backprop must agree to 1e-10.
    check_close("dd.grad(loss, (W1, W2)) vs hand-written backprop (to 1e-10)", tuple(g), hand,
                rtol=0.0, atol=1e-10)

    base = Bench("numpy loss(W1, W2)", loss_np, (params,))
    head = Bench("dd.grad(loss, (W1, W2)) (reverse)", dd.grad, (loss, params))
    hand_b = Bench("hand-written numpy backprop", backprop, (params,))
    spelled = Bench("dd-spelled loss on plain arrays", loss, (params,))
    peers = run_peers(settings, _mlp_peers(X, Y, params), hand)
    group = [base, head, hand_b, spelled] + peers
    time_group(group, settings.repeats_big, settings.min_time)
    print_times(group)
    report_ratio("rev.mlp", "dd.grad reverse / numpy loss", head, base, MLP_TARGET)
    report_ratio("rev.mlp.hand", "hand-written numpy backprop / numpy loss (a floor)", hand_b, base)
    report_ratio("rev.mlp.spelled", "dd-spelled loss on numpy arrays / numpy loss", spelled, base)
    for p in peers:
        report_ratio(f"rev.mlp.vs_{p.peer}", f"dualdiff / {p.label}", head, p)


# --------------------------------------------------------------------------------------------
# [5] the seed example in reverse mode
# --------------------------------------------------------------------------------------------

def _seed_peers(x):
    def jax_(jax):
        jnp = jax.numpy
        g = jax.jit(jax.grad(lambda z: jnp.log(z[0]) + z[0] * z[1] - jnp.sin(z[1])))
        xj = jnp.asarray(x, dtype=jnp.float64)
        return Bench("jax.jit(jax.grad(f))", lambda z: g(z).block_until_ready(), (xj,)), \
            lambda: np.asarray(g(xj))

    def torch_(torch):
        def g(z):
            z = z.detach().requires_grad_(True)
            y = torch.log(z[0]) + z[0] * z[1] - torch.sin(z[1])
            return torch.autograd.grad(y, z)[0]

        xt = torch.tensor(x, dtype=torch.float64)
        return Bench("torch.autograd.grad", g, (xt,)), lambda: g(xt).numpy()

    def autograd_(autograd):
        anp = autograd.numpy
        g = autograd.grad(lambda z: anp.log(z[0]) + z[0] * z[1] - anp.sin(z[1]))
        xa = np.asarray(x)
        return Bench("autograd.grad(f)", g, (xa,)), lambda: g(xa)

    return {"jax": jax_, "torch": torch_, "autograd": autograd_}


def bench_seed(settings) -> None:
    section("[5] reverse: gradient of f(x) = log x1 + x1*x2 - sin x2 at (2, 5) vs plain-float f")
    x = SEED_X
    want = np.array([1.0 / x[0] + x[1], x[0] - math.cos(x[1])])
    check_close("dd.grad(f_dd) (reverse)", dd.grad(seed_dd, x), want)
    check_close("dd.grad(f_np) (reverse)", dd.grad(seed_np, x), want)

    base = Bench("math f(x), x = [2.0, 5.0]", seed_math, (x,))
    head = Bench("dd.grad(f dd.*) (reverse)", dd.grad, (seed_dd, x))
    nps = Bench("dd.grad(f np.*) (reverse)", dd.grad, (seed_np, x))
    peers = run_peers(settings, _seed_peers(x), want)
    group = [base, head, nps] + peers
    time_group(group, settings.repeats_small, settings.min_time)
    print_times(group)
    report_ratio("rev.seed", "dd.grad reverse (dd.* spelling) / math f", head, base, SEED_TARGET)
    report_ratio("rev.seed.np", "dd.grad reverse (np.* spelling) / math f", nps, base, SEED_TARGET)
    for p in peers:
        report_ratio(f"rev.seed.vs_{p.peer}", f"dualdiff (dd.*) / {p.label}", head, p)


def main(argv=None) -> int:
    return run_script("dualdiff reverse-mode benchmarks", __file__,
                      {"grad": bench_big, "mlp": bench_mlp, "seed": bench_seed}, argv)


if __name__ == "__main__":
    sys.exit(main())

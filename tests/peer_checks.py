"""A gradient checker for the peers' suites (autograd, JAX) re-expressed against dualdiff.

``check(f, args, argnums)`` differentiates ``f(*args)`` with respect to the arguments at
``argnums`` and compares, along random directions, with oracles that do not use dualdiff:

- first order, forward: ``jvp`` against a Richardson-extrapolated central difference of f
  (plain numpy; error O(h⁴));
- first order, reverse: the dot-product test ``Re(u·(J v)) == Re(vjp(u)·v)`` with J v from
  that difference (JAX's real pairing, so complex inputs and outputs are covered);
- second order (``order=2``): ``wᵀ H_u v`` of s(x) = Re(u·f(x)), from forward over forward,
  forward over reverse and reverse over reverse, against a second central difference of s.

A result is ``"pass"``, ``"wrong"`` (a number off: the message says which check) or
``"error"`` (an exception; ``outcome.error`` holds it). The checker itself is tested in
test_outside_peers.py against a deliberately wrong rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

if __name__ == "__main__":  # run as a script: this checkout's dualdiff, unless PYTHONPATH names one
    import sys
    from pathlib import Path
    sys.path.append(str(Path(__file__).resolve().parent.parent))

import dualdiff as dd  # noqa: E402


@dataclass
class Outcome:
    status: str
    message: str = ""
    error: BaseException | None = None


def _flat_output(y):
    """f's output as one array: tuples (slogdet, eigh, svd) ravelled and joined."""
    if isinstance(y, (tuple, list)):
        return np.concatenate([np.ravel(p) for p in y])
    return y


def _random_like(rng, a):
    a = np.asarray(a)
    r = rng.standard_normal(a.shape)
    if np.iscomplexobj(a):
        r = r + 1j * rng.standard_normal(a.shape)
    return r


def _pair(a, b):
    """Re Σ a·b over two structures (tuples of arrays): JAX's real pairing."""
    if isinstance(a, tuple):
        return sum(_pair(p, q) for p, q in zip(a, b))
    return np.real(np.sum(a * b))


def _axpy(x, t, v):
    return tuple(np.asarray(p) + t * q for p, q in zip(x, v))


def _central(g, x, v, h):
    return (np.asarray(g(_axpy(x, h, v)), dtype=complex) - np.asarray(g(_axpy(x, -h, v)), dtype=complex)) / (2 * h)


def _richardson(g, x, v, h=1e-3):
    return (4 * _central(g, x, v, h / 2) - _central(g, x, v, h)) / 3


def _second(s, x, v, w, h=1e-3):
    def d2(h):
        return (s(_axpy(_axpy(x, h, v), h, w)) - s(_axpy(_axpy(x, h, v), -h, w))
                - s(_axpy(_axpy(x, -h, v), h, w)) + s(_axpy(_axpy(x, -h, v), -h, w))) / (4 * h * h)
    return (4 * d2(h / 2) - d2(h)) / 3


def _close(got, want, rtol, atol):
    got = np.asarray(got, dtype=complex)
    want = np.asarray(want, dtype=complex)
    if got.shape != want.shape:
        return False
    both_nan = np.isnan(got) & np.isnan(want)  # numpy's nan (an empty slice) is dualdiff's too
    got, want = np.where(both_nan, 0, got), np.where(both_nan, 0, want)
    scale = max(np.max(np.abs(want), initial=0.0), 1.0)
    return bool(np.all(np.abs(got - want) <= atol * scale + rtol * np.abs(want)))


def check(f, args, argnums=None, order=2, rtol=1e-5, atol=1e-6, seed=0, h=1e-3, **kwargs) -> Outcome:
    """Check dualdiff's derivatives of f(*args, **kwargs) in the arguments at argnums (default: all).

    A disagreement is confirmed with a 100 times smaller step before it is reported: a random
    point may sit within h of a kink, a jump or a near-singular matrix, where the difference
    with the larger step is what is wrong.
    """
    out = _check(f, args, argnums, order, rtol, atol, seed, h, kwargs)
    if out.status == "wrong":
        again = _check(f, args, argnums, order, rtol, atol, seed, h / 100, kwargs)
        if again.status == "pass":
            return again
    return out


def _point(f, args, argnums, kwargs):
    """The differentiated arguments (as float arrays) and f as a function of them alone."""
    args = list(args)
    if argnums is None:
        argnums = tuple(range(len(args)))
    elif isinstance(argnums, int):
        argnums = (argnums,)
    x0 = tuple(np.asarray(args[i], dtype=np.result_type(np.asarray(args[i]), float)) for i in argnums)

    def g(x):
        full = list(args)
        for i, xi in zip(argnums, x):
            full[i] = xi
        return _flat_output(f(*full, **kwargs))

    return x0, g


def refusals(f, args, argnums=None, order=2, rtol=1e-5, atol=1e-6, seed=0, h=1e-3, **kwargs):
    """What dualdiff raises for f where numpy itself refuses the arguments: the exceptions of a
    jvp and of a vjp (None for one that returned a number instead of refusing too)."""
    x0, g = _point(f, args, argnums, kwargs)
    raised = []
    for attempt in (lambda: dd.jvp(g, x0, x0), lambda: dd.vjp(g, x0)):
        try:
            attempt()
            raised.append(None)
        except Exception as exc:  # noqa: BLE001 - what it raises is the point
            raised.append(exc)
    return raised


def _check(f, args, argnums, order, rtol, atol, seed, h, kwargs) -> Outcome:
    rng = np.random.default_rng(seed)
    x0, g = _point(f, args, argnums, kwargs)
    try:
        y0 = np.asarray(g(x0))
    except Exception as exc:  # noqa: BLE001 - numpy itself refuses: nothing to compare with
        return Outcome("numpy", f"numpy refuses: {type(exc).__name__}: {exc}", exc)
    v = tuple(_random_like(rng, p) for p in x0)
    w = tuple(_random_like(rng, p) for p in x0)
    u = _random_like(rng, y0) if np.iscomplexobj(y0) else rng.standard_normal(y0.shape)
    jv = _richardson(g, x0, v, h)
    if np.isrealobj(y0):
        jv = jv.real
    try:
        y, tangent = dd.jvp(g, x0, v)
        if not _close(y, y0, 1e-12, 1e-12):
            return Outcome("wrong", "jvp's value differs from f(x)")
        if not _close(tangent, jv, rtol, atol):
            return Outcome("wrong", f"forward J·v differs from central differences: {np.ravel(tangent)[:4]} vs {np.ravel(jv)[:4]}")
        y, pullback = dd.vjp(g, x0)
        ubar = pullback(u)
        if len(x0) == 1 and not isinstance(ubar, tuple):
            ubar = (ubar,)
        lhs, rhs = _pair(ubar, v), _pair(u, jv)
        if not _close(lhs, rhs, rtol, atol):
            return Outcome("wrong", f"reverse: vjp(u)·v = {lhs} but u·(J v) = {rhs}")
        if not any(np.iscomplexobj(p) for p in x0) and np.isrealobj(y0) and y0.size * sum(p.size for p in x0) <= 4096:
            # whole Jacobians: forward mode carries several directions per pass (chunks), a
            # path of its own in every rule; reverse mode sweeps once per output
            for mode in ("forward", "reverse"):
                J = dd.jacobian(g, x0, mode=mode)
                J = J if isinstance(J, tuple) else (J,)
                jv_mode = sum(np.tensordot(Ji, vi, axes=vi.ndim) for Ji, vi in zip(J, v))
                if not _close(jv_mode, jv, rtol, atol):
                    return Outcome("wrong", f"{mode} jacobian·v differs from central differences: "
                                            f"{np.ravel(jv_mode)[:4]} vs {np.ravel(jv)[:4]}")
        if order < 2:
            return Outcome("pass")

        def s(x):
            return np.real(np.sum(u * np.asarray(g(x))))

        want = _second(s, x0, v, w, h=max(h, 1e-4))

        def fwd_fwd(x):
            return np.real(np.sum(u * dd.jvp(g, x, v)[1]))

        ff = dd.jvp(fwd_fwd, x0, w)[1]

        def fwd_rev(x):
            pb = dd.vjp(g, x)[1](u)
            pb = pb if isinstance(pb, tuple) else (pb,)
            return sum(np.real(np.sum(p * q)) for p, q in zip(pb, v))

        fr = dd.jvp(fwd_rev, x0, w)[1]
        rr = dd.vjp(fwd_rev, x0)[1](1.0)
        rr = _pair(rr if isinstance(rr, tuple) else (rr,), w)
        for name, got in (("forward over forward", ff), ("forward over reverse", fr), ("reverse over reverse", rr)):
            if not _close(got, want, 100 * rtol, 100 * atol):
                return Outcome("wrong", f"second order ({name}): {got} vs differences {want}")
        return Outcome("pass")
    except Exception as exc:  # noqa: BLE001 - the survey records every refusal
        return Outcome("error", f"{type(exc).__name__}: {exc}", exc)


if __name__ == "__main__":  # pragma: no cover - the survey's counts, for reports
    # python tests/peer_checks.py: every case of peer_cases.py, counted by outcome, and the
    # ones that do not pass. PYTHONPATH=<another checkout> measures that checkout's dualdiff.
    import collections
    import warnings

    warnings.simplefilter("ignore")
    from peer_cases import CASES

    counts: collections.Counter = collections.Counter()
    for name, f, args, options in CASES:
        out = check(f, args, **options)
        counts[out.status] += 1
        if out.status not in ("pass", "numpy"):
            print(f"{out.status:5} | {name} | {out.message[:160]}")
    print(f"dualdiff from {dd.__file__}: {dict(counts)} of {len(CASES)} cases "
          f"('numpy': numpy itself refuses the arguments)")

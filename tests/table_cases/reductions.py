"""Table-test cases: mean, softmax, log_softmax, logsumexp (rules/reductions.py)."""

from __future__ import annotations

import numpy as np

import dualdiff as dd
from table_cases import (  # noqa: F401
    AWAY, BINARY_SHAPES, COMPOSITES, UNARY_SHAPES, Case, U, _linear, _out, _sh, add_case,
)

COMPOSITES.extend(["mean", "softmax", "log_softmax", "logsumexp"])


def _softmax_ref(z, axis):
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def _logsumexp_ref(z, axis, keepdims=False):
    return np.log(np.sum(np.exp(z), axis=axis, keepdims=keepdims))


for _cid, _shape, _axis, _keep in [
    ("scalar", (), None, False), ("vector", (5,), None, False), ("axis0", (3, 4), 0, False),
    ("axis1-keepdims", (3, 4), 1, True), ("axes01", (2, 3, 2), (0, 1), False),
]:
    _linear("mean", _cid, lambda x, a=_axis, k=_keep: dd.mean(x, axis=a, keepdims=k),
            lambda x, a=_axis, k=_keep: np.sum(x, axis=a, keepdims=k) / (
                np.size(x) / np.size(np.sum(x, axis=a, keepdims=k))), (_shape,))

for _cid, _shape, _axis in [("vector", (5,), -1), ("rows", (3, 4), -1), ("columns", (3, 4), 0),
                            ("3d-middle", (2, 3, 2), 1)]:
    add_case("softmax", Case(f"softmax-{_cid}", lambda x, a=_axis: dd.softmax(x, axis=a),
                             lambda z, a=_axis: _softmax_ref(z, a), (_shape,), (U(-4, 4),)))
    add_case("log_softmax", Case(
        f"log_softmax-{_cid}", lambda x, a=_axis: dd.log_softmax(x, axis=a),
        lambda z, a=_axis: z - _logsumexp_ref(z, a, keepdims=True), (_shape,), (U(-4, 4),)))

for _cid, _shape, _axis, _keep in [
    ("vector", (5,), None, False), ("matrix-all", (3, 4), None, False),
    ("axis1", (3, 4), 1, False), ("axis0-keepdims", (3, 4), 0, True), ("axes12", (2, 3, 2), (1, 2), False),
]:
    add_case("logsumexp", Case(
        f"logsumexp-{_cid}", lambda x, a=_axis, k=_keep: dd.logsumexp(x, axis=a, keepdims=k),
        lambda z, a=_axis, k=_keep: _logsumexp_ref(z, a, k), (_shape,), (U(-4, 4),)))

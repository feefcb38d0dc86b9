"""``dd.special``: scipy.special's elementwise functions, differentiable in both modes.

``scipy.special.erf(x)`` on a traced value lands here, as ``np.sin(x)`` lands in ``dd.sin``; the
values are scipy's own (scipy is needed only when these are called). The rules are in
:mod:`dualdiff.rules.special`.

>>> import dualdiff as dd, numpy as np
>>> float(dd.derivative(dd.special.gammaln, 5.0))   # ψ(5) = 1 + 1/2 + 1/3 + 1/4 − γ
1.5061176684318003
"""

from __future__ import annotations

from .rules.special import (
    digamma, entr, erf, erfc, erfcinv, erfinv, expit, gamma, gammaln, log_expit, log_ndtr, logit,
    ndtr, ndtri, psi, rel_entr, trigamma, xlog1py, xlogy,
)

__all__ = ["digamma", "entr", "erf", "erfc", "erfcinv", "erfinv", "expit", "gamma", "gammaln",
           "log_expit", "log_ndtr", "logit", "ndtr", "ndtri", "psi", "rel_entr", "trigamma",
           "xlog1py", "xlogy"]

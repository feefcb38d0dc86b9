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
    beta, betaln, digamma, entr, erf, erfc, erfcinv, erfcx, erfinv, expit, gamma, gammaln, i0, i0e,
    i1, i1e, j0, j1, log_expit, log_ndtr, logit, ndtr, ndtri, psi, rel_entr, rgamma, trigamma,
    xlog1py, xlogy, y0, y1,
)

__all__ = ["beta", "betaln", "digamma", "entr", "erf", "erfc", "erfcinv", "erfcx", "erfinv",
           "expit", "gamma", "gammaln", "i0", "i0e", "i1", "i1e", "j0", "j1", "log_expit",
           "log_ndtr", "logit", "ndtr", "ndtri", "psi", "rel_entr", "rgamma", "trigamma",
           "xlog1py", "xlogy", "y0", "y1"]

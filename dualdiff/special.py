"""``dd.special``: scipy.special's elementwise functions, differentiable in both modes.

``scipy.special.erf(x)`` on a traced value lands here, as ``np.sin(x)`` lands in ``dd.sin``; the
values are scipy's own (scipy is needed only when these are called). The rules are in
:mod:`dualdiff.rules.special`. scipy's ``logsumexp``, ``softmax`` and ``log_softmax`` are not
ufuncs: they turn their input into a plain array, so on traced values call these instead, which
take scipy's arguments and defaults (``from dualdiff import special`` in place of
``from scipy import special``). They need no scipy.

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
from .rules.special import (
    dawsn, erfi, exp1, expi, huber, kl_div, loggamma, pseudo_huber,
)
from .rules.reductions import log_softmax_scipy as log_softmax
from .rules.reductions import logsumexp_scipy as logsumexp
from .rules.reductions import softmax_scipy as softmax

__all__ = ["beta", "betaln", "digamma", "entr", "erf", "erfc", "erfcinv", "erfcx", "erfinv",
           "expit", "gamma", "gammaln", "i0", "i0e", "i1", "i1e", "j0", "j1", "log_expit",
           "log_ndtr", "logit", "ndtr", "ndtri", "psi", "rel_entr", "rgamma", "trigamma",
           "xlog1py", "xlogy", "y0", "y1", "logsumexp", "softmax", "log_softmax",
           "dawsn", "erfi", "exp1", "expi", "huber", "kl_div", "loggamma", "pseudo_huber"]

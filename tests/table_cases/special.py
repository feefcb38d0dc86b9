"""Table-test cases: scipy.special's ufuncs (rules/special.py).

References are scipy's own functions (the values are scipy's too, so the value check is exact);
the oracle is central differences, since several of them refuse complex input. Without scipy
there are no cases, and the table test skips these entries (``NEEDS_SCIPY``).
"""

from __future__ import annotations

import dualdiff as dd
from table_cases import AWAY, UNARY_SHAPES, Case, U, _sh, add_case

try:
    import scipy.special as sp
except ImportError:  # the table test skips the entries below
    sp = None

NEEDS_SCIPY = {"expit", "logit", "log_expit", "erf", "erfc", "erfinv", "erfcinv", "ndtr",
               "log_ndtr", "ndtri", "digamma", "trigamma", "gammaln", "gamma", "entr", "xlogy",
               "xlog1py", "rel_entr", "rgamma", "betaln", "beta", "erfcx", "i0", "i1", "i0e",
               "i1e", "j0", "j1", "y0", "y1", "kl_div", "loggamma", "erfi", "dawsn", "exp1",
               "expi", "huber", "pseudo_huber"}

if sp is not None:
    for _name, _ref, _dom in [
        ("expit", sp.expit, U(-6, 6)), ("logit", sp.logit, U(0.05, 0.95)),
        ("log_expit", sp.log_expit, U(-6, 6)), ("erf", sp.erf, U(-2, 2)),
        ("erfc", sp.erfc, U(-2, 2)), ("erfinv", sp.erfinv, U(-0.9, 0.9)),
        ("erfcinv", sp.erfcinv, U(0.1, 1.9)), ("ndtr", sp.ndtr, U(-3, 3)),
        ("log_ndtr", sp.log_ndtr, U(-6, 3)), ("ndtri", sp.ndtri, U(0.05, 0.95)),
        ("digamma", sp.digamma, U(0.5, 4)), ("trigamma", lambda x: sp.polygamma(1, x), U(0.5, 4)),
        ("gammaln", sp.gammaln, U(0.5, 4)), ("gamma", sp.gamma, U(0.5, 3)),
        ("entr", sp.entr, U(0.1, 3)), ("rgamma", sp.rgamma, U(0.5, 3)),
        ("erfcx", sp.erfcx, U(-2, 3)), ("i0", sp.i0, U(-3, 3)), ("i1", sp.i1, U(-3, 3)),
        ("i0e", sp.i0e, AWAY(0.1, 3)), ("i1e", sp.i1e, AWAY(0.1, 3)), ("j0", sp.j0, U(-5, 5)),
        ("j1", sp.j1, U(-5, 5)), ("y0", sp.y0, U(0.3, 5)), ("y1", sp.y1, U(0.3, 5)),
        ("loggamma", sp.loggamma, U(0.5, 4)), ("erfi", sp.erfi, U(-1.5, 1.5)),
        ("dawsn", sp.dawsn, U(-3, 3)), ("exp1", sp.exp1, U(0.3, 3)), ("expi", sp.expi, U(0.3, 3)),
    ]:
        for _shape in UNARY_SHAPES:
            add_case(_name, Case(f"{_name}-{_sh(_shape)}", getattr(dd.special, _name), _ref,
                                 (_shape,), (_dom,), oracle="central"))
    for _name, _ref, _doms in [
        ("xlogy", sp.xlogy, (U(-2, 2), U(0.1, 3))),
        ("xlog1py", sp.xlog1py, (U(-2, 2), U(-0.8, 3))),
        ("rel_entr", sp.rel_entr, (U(0.1, 3), U(0.1, 3))),
        ("betaln", sp.betaln, (U(0.5, 3), U(0.5, 3))), ("beta", sp.beta, (U(0.5, 3), U(0.5, 3))),
        ("kl_div", sp.kl_div, (U(0.1, 3), U(0.1, 3))),
        ("huber", sp.huber, (U(0.5, 2), U(-3, 3))),
        ("pseudo_huber", sp.pseudo_huber, (U(0.5, 2), AWAY(0.5, 3))),
    ]:
        for _shapes in [((), ()), ((3,), ()), ((2, 3), (3,))]:
            add_case(_name, Case(f"{_name}-{_sh(_shapes[0])}-{_sh(_shapes[1])}",
                                 getattr(dd.special, _name), _ref, _shapes, _doms,
                                 oracle="central"))

"""Jacobian and Hessian passes on executors: the same numbers as serial, errors that reach the caller.

Thread pool, process pool, and a dask.distributed LocalCluster this test starts and stops itself.
The serial results these are compared with are checked against complex step in test_sparse.py.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import dualdiff as dd


def chain(x):
    """A module-level f, so that a process pool can pickle it by reference."""
    return np.sin(x[1:] * x[:-1]) + x[1:] ** 2


def energy(x):
    return np.sum(np.cos(x[1:] - x[:-1]) * x[1:]) + np.sum(x ** 4)


class WorkerError(Exception):
    pass


def failing(x):
    if np.asarray(getattr(x, "primal", x)).size:
        raise WorkerError("f failed inside a worker")
    return x


X = np.linspace(0.1, 1.3, 9)


def _same_as_serial(executor):
    for mode in ("forward", "reverse"):
        for chunk in (1, 4):
            want = dd.jacobian(chain, X, mode=mode, chunk=chunk)
            got, info = dd.jacobian(chain, X, mode=mode, chunk=chunk, executor=executor,
                                    full_output=True)
            assert np.array_equal(got, want) and info.mode == mode
        want = dd.jacobian(chain, X, mode=mode, sparse=True).toarray()
        got = dd.jacobian(chain, X, mode=mode, sparse=True, executor=executor).toarray()
        assert np.array_equal(got, want)
    assert np.array_equal(dd.hessian(energy, X, executor=executor), dd.hessian(energy, X))
    assert np.array_equal(dd.hessian(energy, X, sparse=True, executor=executor).toarray(),
                          dd.hessian(energy, X, sparse=True).toarray())


def test_thread_pool():
    with ThreadPoolExecutor(2) as pool:
        _same_as_serial(pool)
        with pytest.raises(WorkerError, match="inside a worker"):
            dd.jacobian(failing, X, executor=pool)
        # Closures are fine on threads.
        scale = 3.0
        J = dd.jacobian(lambda x: x * scale, X, executor=pool)
        assert np.array_equal(J, np.eye(X.size) * scale)


def test_process_pool():
    with ProcessPoolExecutor(2) as pool:
        _same_as_serial(pool)
        with pytest.raises(WorkerError, match="inside a worker"):
            dd.jacobian(failing, X, executor=pool)
        with pytest.raises(TypeError, match="not picklable"):
            dd.jacobian(lambda x: x * 2, X, executor=pool)


def test_dask_local_cluster():
    # Workers in this process keep the test to about a second; pickling to other processes is
    # what test_process_pool covers.
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        executor = client.get_executor()
        _same_as_serial(executor)
        # dask pickles closures with cloudpickle.
        J = dd.jacobian(lambda x: x[::-1] * 2.0, X, executor=executor, sparse=True)
        assert np.array_equal(J.toarray(), np.eye(X.size)[::-1] * 2.0)
        with pytest.raises(WorkerError, match="inside a worker"):
            dd.jacobian(failing, X, executor=executor)


def test_auto_chunk_leaves_work_for_every_worker():
    x = np.linspace(0.1, 1.0, 16)
    with ThreadPoolExecutor(2) as pool:
        J, info = dd.jacobian(chain, x, executor=pool, full_output=True)   # chunk="auto"
    assert info.passes == 4 and info.chunk == 4          # 2 tasks per worker, not one pass of 16
    assert np.array_equal(J, dd.jacobian(chain, x, chunk=4))
    _, serial = dd.jacobian(chain, x, full_output=True)
    assert serial.passes == 1                            # without an executor: one pass

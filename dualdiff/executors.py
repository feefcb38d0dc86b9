"""Running independent derivative passes on a ``concurrent.futures.Executor``.

The passes of a Jacobian do not depend on each other, so any executor can run them: a thread or
process pool, ``loky``, or a dask.distributed ``Client``'s ``get_executor()``. dualdiff keeps no
engine of its own: it submits one task per block of seeds, collects the results in submission
order, and lets a failing task's exception reach the caller unchanged.
"""

from __future__ import annotations

import math
import os
import pickle
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, Callable, List, Optional, Sequence

__all__ = ["run_tasks", "check_executor", "tasks_chunk"]

#: Tasks per worker that ``chunk="auto"`` aims at: a few each, so a slow task does not leave the
#: other workers idle at the end.
TASKS_PER_WORKER = 2


def check_executor(executor: Any) -> Optional[Executor]:
    """``executor`` itself when it can run tasks (``submit``); None stays None."""
    if executor is None:
        return None
    if not callable(getattr(executor, "submit", None)):
        raise TypeError(f"executor must be a concurrent.futures.Executor (a thread or process "
                        f"pool, or a dask Client's get_executor()), not {type(executor).__name__}")
    return executor


def tasks_chunk(directions: int, executor: Executor) -> int:
    """Directions per task so that every worker of ``executor`` gets about TASKS_PER_WORKER tasks.

    The worker count is the pool's ``_max_workers`` (thread and process pools, loky) or, for
    executors that do not say (dask's), the machine's CPU count.

    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(4) as ex:
    ...     tasks_chunk(64, ex)
    8
    """
    workers = getattr(executor, "_max_workers", None) or os.cpu_count() or 1
    return max(1, math.ceil(directions / (TASKS_PER_WORKER * workers)))


def _unpicklable(f: Any, error: BaseException) -> TypeError:
    return TypeError(
        f"f ({getattr(f, '__qualname__', type(f).__name__)}) cannot be sent to the executor's "
        f"worker processes: it is not picklable ({type(error).__name__}: {error}). Define f at "
        f"the top level of a module (not a lambda or a nested function), or use a thread pool, "
        f"or an executor that pickles closures (dask's)")


def run_tasks(task: Callable, f: Any, items: Sequence[Any], executor: Optional[Executor],
              *args: Any) -> List[Any]:
    """``[task(f, item, *args) for item in items]``, on ``executor`` when one is given.

    Results come back in the order of ``items``; the first failing task's own exception is
    raised. For a process pool, f is checked up front: an f the pool cannot pickle gets a
    TypeError saying so, instead of a pickling error from deep inside the pool.

    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as ex:
    ...     run_tasks(lambda f, i: f(i), abs, [-1, -2, 3], ex)
    [1, 2, 3]
    """
    if executor is None:
        return [task(f, item, *args) for item in items]
    if isinstance(executor, ProcessPoolExecutor):
        try:
            pickle.dumps(f)
        except Exception as e:  # PicklingError, or AttributeError for local objects
            raise _unpicklable(f, e) from e
    futures = [executor.submit(task, f, item, *args) for item in items]
    try:
        return [fut.result() for fut in futures]
    except pickle.PicklingError as e:
        raise _unpicklable(f, e) from e
    finally:
        for fut in futures:
            fut.cancel()  # after a failure, do not run the passes nobody will read

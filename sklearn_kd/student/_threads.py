"""How many torch threads a student trains and predicts on (``n_threads=None``).

A default student is small: a mini-batch step is a few million to a few hundred
million floating-point operations. At that size torch's intra-op threads spend
more time synchronising than computing, and beside any other CPU-bound work (a
notebook, a Dask worker, a parallel grid search) each step waits for a thread
that lost its core: a 50k-weight student took 1.5 ms per step on one thread and
66 ms on two beside one busy process. So the count is chosen from the work per
call and the cores this process may use, never from the machine's current load,
which would make results depend on what else ran.

The cores this process may use are the fewest of: its CPU affinity, torch's own
setting (which honours ``OMP_NUM_THREADS``, as set by joblib's loky workers,
Dask's nannies or ``parallel_config(inner_max_num_threads=...)``), and any
OpenMP limit a caller set with threadpoolctl.
"""

import os

import torch

#: Floating-point operations per thread below which another thread costs more
#: in synchronisation than it saves (about 50 ms of one core's arithmetic).
WORK_PER_THREAD = 2e9


def available_cores():
    """The cores this process may run torch on (at least 1)."""
    limits = [torch.get_num_threads()]
    if hasattr(os, "sched_getaffinity"):
        limits.append(len(os.sched_getaffinity(0)))
    else:
        limits.append(os.cpu_count() or 1)
    limits.extend(_openmp_limits())
    return max(1, min(limits))


def _openmp_limits():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return []
    return [
        pool["num_threads"]
        for pool in threadpool_info()
        if pool.get("user_api") == "openmp" and pool.get("num_threads")
    ]


def auto_threads(n_weights, n_rows, *, training):
    """Threads for one call over ``n_rows`` rows of a network with ``n_weights``
    weights: one per :data:`WORK_PER_THREAD` operations, within the available
    cores. A training step (forward, backward and update) costs about three
    forward passes."""
    operations = 2 * n_weights * n_rows * (3 if training else 1)
    wanted = int(operations // WORK_PER_THREAD)
    return max(1, min(wanted, available_cores()))

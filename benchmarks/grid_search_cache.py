"""Grid search over the student with and without the teacher-output cache.

``GridSearchCV(DistilledClassifier(teacher=fitted_forest), {temperature: 4 values,
soft_target_weight: 2 values}, cv=5)``: 40 fits and a refit. Without ``memory``
every fit queries the forest; with ``memory=<tmp dir>`` the 8 fits of a fold share
one query, so the forest should answer 5 times (+1 for the refit on all rows).
The forest counts its calls in a file, since the workers are processes, and notes
the torch threads of the process that called it.

Runs with ``n_jobs=1`` and ``n_jobs=2``; with 2 jobs joblib's loky workers limit
their BLAS/OpenMP threads (``OMP_NUM_THREADS``) to cores // jobs. A second, smaller
search compares that limit with 2 threads per worker
(``joblib.parallel_config(inner_max_num_threads=2)``). The threads are read inside
the workers, which are started before the clock runs.

Usage: ``python benchmarks/grid_search_cache.py [--quick] [--threads N]``.
"""

import argparse
import os
import pickle
import shutil
import tempfile
from functools import partial

import numpy as np
from _common import (
    Stopwatch,
    interleaved_best,
    machine,
    process_threads,
    report,
    search_data,
    set_threads,
)
from _teachers import CountingForest, read_count_file
from joblib import Parallel, delayed, parallel_config
from sklearn.model_selection import GridSearchCV

from sklearn_kd import DistilledClassifier
from sklearn_kd.teacher._fingerprint import fingerprint

GRID = {"temperature": [1.0, 2.0, 4.0, 8.0], "soft_target_weight": [0.5, 0.9]}
# The threads comparison uses a smaller grid: oversubscribed workers are an order
# of magnitude slower, more so when other jobs share the cores.
THREADS_GRID = {"temperature": [2.0], "soft_target_weight": [0.5, 0.9]}
CV = 5
FULL = dict(n_rows=10_000, n_features=20, n_trees=300, epochs=5)
QUICK = dict(n_rows=3_000, n_features=20, n_trees=100, epochs=2)


def timed(function, *args):
    with Stopwatch() as watch:
        function(*args)
    return {"seconds": watch.seconds}


def grid_search(X, y, forest, epochs, *, n_jobs, cache, inner_threads=None, grid=GRID):
    """One grid search in a fresh temporary folder; time, teacher calls, scores."""
    folder = tempfile.mkdtemp(prefix="kd-bench-")
    try:
        forest.set_params(count_file=os.path.join(folder, "teacher_calls.log"))
        open(forest.count_file, "w").close()
        estimator = DistilledClassifier(
            forest,
            encoding="standard",
            augment=None,
            hidden_layer_sizes=(32,),
            max_epochs=epochs,
            memory=os.path.join(folder, "cache") if cache else None,
            random_state=0,
        )
        search = GridSearchCV(estimator, grid, cv=CV, n_jobs=n_jobs)
        with parallel_config(backend="loky", inner_max_num_threads=inner_threads):
            # Start the workers (and read their threads) before the clock runs.
            with Stopwatch() as startup:
                threads = Parallel(n_jobs=n_jobs)(
                    delayed(process_threads)() for _ in range(4 * n_jobs)
                )
            with Stopwatch() as watch:
                search.fit(X, y)
        return {
            "seconds": watch.seconds,
            "startup_seconds": startup.seconds,
            "worker_torch_threads": sorted({torch for _, torch, _ in threads}),
            "worker_omp_num_threads": sorted({omp for _, _, omp in threads}),
            **read_count_file(forest.count_file),
            "scores": search.cv_results_["mean_test_score"].tolist(),
        }
    finally:
        forest.set_params(count_file=None)
        shutil.rmtree(folder, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, ~1 min")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch and BLAS threads of this process, used by the n_jobs=1 runs (default "
        "1; 0 keeps the defaults)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    set_threads(args.threads or None)
    info = machine()
    size = QUICK if args.quick else FULL

    X, y = search_data(size)
    forest = CountingForest(n_estimators=size["n_trees"], random_state=0).fit(X, y)
    run = partial(grid_search, X, y, forest, size["epochs"])
    configurations = {
        (1, "no"): partial(run, n_jobs=1, cache=False),
        (1, "yes"): partial(run, n_jobs=1, cache=True),
        (2, "no"): partial(run, n_jobs=2, cache=False),
        (2, "yes"): partial(run, n_jobs=2, cache=True),
    }
    best = interleaved_best(configurations, repeats=args.repeats)
    thread_runs = interleaved_best(
        {
            limit: partial(
                run, n_jobs=2, cache=True, inner_threads=inner, grid=THREADS_GRID
            )
            for limit, inner in (("loky default", None), ("2 per worker", 2))
        },
        repeats=1,
    )
    teacher_mb = len(pickle.dumps(forest)) / 1e6
    costs = interleaved_best(
        {
            "fingerprint": partial(timed, fingerprint, forest),
            "pickle": partial(timed, pickle.dumps, forest),
            "query": partial(timed, forest.predict_proba, X[: len(X) * (CV - 1) // CV]),
        }
    )

    n_fits = CV * int(np.prod([len(values) for values in GRID.values()]))
    baseline = best[(1, "no")]
    rows = []
    for (n_jobs, cache), result in best.items():
        same_scores = np.allclose(result["scores"], baseline["scores"])
        rows.append(
            [
                n_jobs,
                cache,
                ", ".join(map(str, result["worker_torch_threads"])),
                ", ".join(result["worker_omp_num_threads"]),
                result["calls"],
                result["rows"],
                result["seconds"],
                baseline["seconds"] / result["seconds"],
                result["startup_seconds"],
                "yes" if same_scores else "no",
            ]
        )
    thread_rows = [
        [
            limit,
            ", ".join(map(str, result["worker_torch_threads"])),
            ", ".join(result["worker_omp_num_threads"]),
            result["calls"],
            result["seconds"],
            result["seconds"] / thread_runs["loky default"]["seconds"],
        ]
        for limit, result in thread_runs.items()
    ]
    n_thread_fits = CV * int(np.prod([len(v) for v in THREADS_GRID.values()]))
    columns = [
        "n_jobs",
        "memory",
        "torch threads per process",
        "OMP_NUM_THREADS there",
        "teacher calls",
        "teacher rows",
        "wall s",
        "speed-up vs n_jobs=1, no memory",
        "worker start-up s (not in wall s)",
        "same CV scores",
    ]
    thread_columns = [
        "worker thread limit",
        "torch threads in the workers",
        "OMP_NUM_THREADS there",
        "teacher calls",
        "wall s",
        "time vs loky default",
    ]
    notes = [
        f"{size['n_rows']:,} x {size['n_features']} synthetic rows, 4 classes; "
        f"fitted RandomForestClassifier({size['n_trees']} trees) teacher; "
        f"student MLP (32,), {size['epochs']} epochs; grid of "
        f"{n_fits // CV} settings x cv={CV} = {n_fits} fits + 1 refit.",
        f"Best of {args.repeats} interleaved runs (wall time; each run starts "
        f"with an empty cache). Target with memory: {CV} + 1 = {CV + 1} teacher "
        "calls.",
        f"Per fit, the cache hashes the teacher (fingerprint: "
        f"{costs['fingerprint']['seconds']:.3f} s here) to key its outputs; one "
        f"query of a fold's training rows takes {costs['query']['seconds']:.3f} s.",
        f"The fitted forest pickles to {teacher_mb:.0f} MB "
        f"({costs['pickle']['seconds']:.3f} s); with n_jobs=2 it travels to the "
        "workers inside every task's estimator.",
        "Teacher calls and rows are counted by the forest itself in a file "
        "shared by the worker processes (the refit runs in the main process).",
        "Threads are read inside the worker processes (torch.get_num_threads() "
        "and the OMP_NUM_THREADS that loky set) by a probe run on the same "
        "executor just before the search, which also starts the workers; "
        f"n_jobs=1 runs in this process with {info['torch_threads']} torch "
        "thread(s) ('-': OMP_NUM_THREADS unset).",
        f"Threads table: n_jobs=2 with memory on a grid of "
        f"{n_thread_fits // CV} settings x cv={CV} = {n_thread_fits} fits + 1 "
        "refit, each configuration run once; '2 per worker' is "
        "joblib.parallel_config(inner_max_num_threads=2).",
    ]
    report(
        "grid_search_cache",
        "Grid search with and without the teacher cache",
        [
            ("Teacher calls and wall time", columns, rows),
            ("Threads per worker (n_jobs=2)", thread_columns, thread_rows),
        ],
        info,
        quick=args.quick,
        notes=notes,
        extra={
            "teacher_costs_seconds": {
                key: value["seconds"] for key, value in costs.items()
            },
            "teacher_pickle_mb": teacher_mb,
            "runs": [
                {"n_jobs": key[0], "memory": key[1], **result}
                for key, result in best.items()
            ],
            "thread_runs": [
                {"thread_limit": key, **result} for key, result in thread_runs.items()
            ],
        },
    )


if __name__ == "__main__":
    main()

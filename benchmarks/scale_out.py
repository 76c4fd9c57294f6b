"""Scale-out: a grid search on loky workers and on a Dask cluster.

The search of ``grid_search_cache.py`` (a 300-tree forest teacher; 4
temperatures x 2 weights, cv=5: 40 fits and a refit), run sequentially, on two
loky workers and on a two-worker ``dask.distributed.LocalCluster`` (one thread
per worker), with and without ``memory`` and with the forest plain or wrapped in
a :class:`~sklearn_kd.SharedTeacher`. For each: wall time, the teacher's queries
(calls to ``predict_proba``), and how many times the forest was unpickled in a
worker (each unpickling is one shipment of the whole teacher).

Usage: ``python benchmarks/scale_out.py [--quick]``.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
from _common import Stopwatch, machine, report, search_data, set_threads
from _teachers import UnpicklingCountingForest, read_count_file
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from sklearn_kd import DistilledClassifier, SharedTeacher

GRID = {"temperature": [1.0, 2.0, 4.0, 8.0], "soft_target_weight": [0.5, 0.9]}
FULL = dict(n_rows=10_000, n_features=20, n_trees=300, epochs=5, cv=5)
QUICK = dict(n_rows=2_000, n_features=20, n_trees=50, epochs=2, cv=3)


def search(X, y, forest, size, folder, *, backend, n_jobs, cache, shared):
    calls = folder / "calls.log"
    shipments = folder / "shipments.log"
    calls.write_text("")
    shipments.write_text("")
    forest.count_file = str(calls)
    forest.shipment_file = str(shipments)
    teacher = SharedTeacher(forest, folder / "shared") if shared else forest
    estimator = DistilledClassifier(
        teacher,
        encoding="standard",
        augment=None,
        hidden_layer_sizes=(32,),
        max_epochs=size["epochs"],
        memory=str(folder / "cache") if cache else None,
        n_threads=1,
        random_state=0,
    )
    grid = GridSearchCV(estimator, GRID, cv=size["cv"], n_jobs=n_jobs)
    with parallel_config(backend=backend), Stopwatch() as watch:
        grid.fit(X, y)
    processes = [line for line in shipments.read_text().split() if line]
    return {
        "seconds": watch.seconds,
        "teacher_calls": read_count_file(calls)["calls"],
        "shipments": len(processes),
        "shipping_processes": len(set(processes)),
        "scores": grid.cv_results_["mean_test_score"].tolist(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    set_threads(1)
    info = machine()
    size = QUICK if args.quick else FULL
    X, y = search_data(size)
    forest = UnpicklingCountingForest(n_estimators=size["n_trees"], random_state=0)
    forest.fit(X, y)
    import pickle

    teacher_mb = len(pickle.dumps(forest)) / 1e6
    configurations = [
        ("sequential", "loky", 1, False, False),
        ("loky, 2 workers", "loky", 2, False, False),
        ("loky, 2 workers", "loky", 2, True, False),
        ("loky, 2 workers", "loky", 2, True, True),
        ("Dask LocalCluster, 2 workers", "dask", -1, False, False),
        ("Dask LocalCluster, 2 workers", "dask", -1, True, False),
        ("Dask LocalCluster, 2 workers", "dask", -1, True, True),
    ]
    rows, results = [], {}
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        for label, backend, n_jobs, cache, shared in configurations:
            with tempfile.TemporaryDirectory() as folder:
                measured = search(
                    X,
                    y,
                    forest,
                    size,
                    Path(folder),
                    backend=backend,
                    n_jobs=n_jobs,
                    cache=cache,
                    shared=shared,
                )
            key = f"{label}, memory={'yes' if cache else 'no'}, shared={'yes' if shared else 'no'}"
            results[key] = measured
            print(key, measured, flush=True)
            rows.append(
                [
                    label,
                    "yes" if cache else "no",
                    "SharedTeacher" if shared else "plain",
                    f"{measured['seconds']:.1f}",
                    measured["teacher_calls"],
                    f"{measured['shipments']} ({measured['shipping_processes']} processes)",
                ]
            )
    baseline = results["sequential, memory=no, shared=no"]["scores"]
    agreement = max(
        float(np.abs(np.subtract(r["scores"], baseline)).max())
        for r in results.values()
    )
    report(
        "scale_out",
        "Scale-out: a grid search on loky workers and on a Dask cluster",
        [
            (
                f"{len(GRID['temperature']) * len(GRID['soft_target_weight'])} candidates "
                f"x {size['cv']} folds + refit, {size['n_trees']}-tree forest teacher "
                f"({teacher_mb:.0f} MB pickled), {size['n_rows']} rows",
                [
                    "engine",
                    "memory",
                    "teacher",
                    "wall s",
                    "teacher queries",
                    "teacher shipments",
                ],
                rows,
            )
        ],
        info,
        quick=args.quick,
        notes=[
            "Teacher shipments: times the forest was unpickled in a worker process "
            "(with SharedTeacher, once per worker that loads its file); the "
            "sequential run unpickles nothing.",
            f"Largest difference of any mean test score to the sequential search: "
            f"{agreement:.2g}.",
            "Every student trains with one torch thread, the Dask workers with one "
            "thread each.",
        ],
        extra={"results": results, "size": size},
    )


if __name__ == "__main__":
    main()

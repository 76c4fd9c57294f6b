"""What distillation buys at prediction time: a 300-tree forest vs its student.

For each real data set (25% stratified test split, seed 0): a
``RandomForestClassifier(n_estimators=300)`` is distilled with default settings;
then predict time on the whole test set (best of 3, interleaved), per single row
(median of many calls, interleaved), and pickled size, teacher vs student.

Single-row time is broken down to show where it goes: the forest; the
``DistilledClassifier`` (``validate_data``, then the torch path, then a softmax);
the exported ``StudentClassifier`` (``check_array``, the torch path, a softmax);
input validation alone; the torch path alone (``predict_logits`` on a float32
row: ``eval()``, tensor conversion, ``inference_mode``, the module, back to
numpy); and the bare module on a ready tensor (the floor of the torch path).

Usage: ``python benchmarks/compression.py [--quick] [--threads N]``.
"""

import argparse
import pickle
import statistics
import sys
import time
from functools import partial

import numpy as np
import torch
from _common import (
    Stopwatch,
    data_dir,
    interleaved_best,
    machine,
    report,
    set_threads,
)
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_array, validate_data

from sklearn_kd import DistilledClassifier
from sklearn_kd._student import predict_logits

DATASETS = ("pmlb_adult", "pmlb_letter")
N_TREES = 300


def load(name, quick):
    path = data_dir() / f"{name}.npz"
    data = np.load(path, allow_pickle=False)
    X, y = data["X"].astype(np.float64), data["y"]
    if quick:
        X, _, y, _ = train_test_split(X, y, train_size=5000, stratify=y, random_state=0)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


def per_call_times(functions, row_sets, rounds):
    """Median wall and CPU µs per call of each function, interleaved in rounds.

    Each round calls every function once on each row of ``row_sets[round]``,
    functions alternating in a rotated order.
    """
    samples = {name: ([], []) for name in functions}
    names = list(functions)
    for round_, rows in enumerate(row_sets[:rounds]):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            function = functions[name]
            wall, cpu = samples[name]
            for row in rows:
                start_wall, start_cpu = time.perf_counter(), time.process_time()
                function(row)
                cpu.append(time.process_time() - start_cpu)
                wall.append(time.perf_counter() - start_wall)
    return {
        name: (1e6 * statistics.median(wall), 1e6 * statistics.median(cpu))
        for name, (wall, cpu) in samples.items()
    }


def benchmark(name, quick, rounds, calls_per_round):
    X_train, X_test, y_train, y_test = load(name, quick)
    n_trees = 50 if quick else N_TREES
    forest = RandomForestClassifier(n_estimators=n_trees, random_state=0, n_jobs=2)
    with Stopwatch() as forest_fit:
        forest.fit(X_train, y_train)
    forest.set_params(n_jobs=None)  # predict with the default, one job
    distilled = DistilledClassifier(forest, random_state=0)
    if quick:
        distilled.set_params(max_epochs=5)
    with Stopwatch() as student_fit:
        distilled.fit(X_train, y_train)
    student = distilled.export_student()
    module = student.module.eval()

    def bare_module(row):
        with torch.inference_mode():
            return module(torch.from_numpy(row))

    whole = interleaved_best(
        {
            "forest": lambda: timed_call(forest.predict_proba, X_test),
            "distilled": lambda: timed_call(distilled.predict_proba, X_test),
            "student": lambda: timed_call(student.predict_proba, X_test),
        },
        repeats=3,
    )
    rng = np.random.default_rng(0)
    row_sets = [
        [X_test[i : i + 1] for i in rng.choice(len(X_test), calls_per_round)]
        for _ in range(rounds)
    ]
    row_sets_32 = [[row.astype(np.float32) for row in rows] for rows in row_sets]
    single = per_call_times(
        {
            "forest": forest.predict_proba,
            "distilled": distilled.predict_proba,
            "student": student.predict_proba,
            "check_array": lambda row: check_array(row, dtype=np.float32),
            "validate_data": lambda row: validate_data(
                distilled, row, reset=False, dtype=np.float32
            ),
        },
        row_sets,
        rounds,
    )
    single.update(
        per_call_times(
            {
                "predict_logits": partial(predict_logits, module, device="cpu"),
                "bare_module": bare_module,
            },
            row_sets_32,
            rounds,
        )
    )
    sizes = {
        "forest": len(pickle.dumps(forest)),
        "student": len(pickle.dumps(student)),
        "distilled": len(pickle.dumps(distilled)),
    }
    return {
        "dataset": name,
        "train_rows": len(X_train),
        "test_rows": len(X_test),
        "features": X_train.shape[1],
        "classes": len(np.unique(y_train)),
        "trees": n_trees,
        "forest_fit_seconds": forest_fit.seconds,
        "student_fit_seconds": student_fit.seconds,
        "epochs": distilled.max_epochs,
        "hidden": [
            layer.out_features
            for layer in distilled.student_.module_.network.layers
            if hasattr(layer, "out_features")
        ][:-1],
        "forest_accuracy": float(forest.score(X_test, y_test)),
        "student_accuracy": float(distilled.score(X_test, y_test)),
        "agreement": float(
            np.mean(forest.predict(X_test) == distilled.predict(X_test))
        ),
        "whole_test_seconds": {key: value["seconds"] for key, value in whole.items()},
        "whole_test_cpu_seconds": {
            key: value["cpu_seconds"] for key, value in whole.items()
        },
        "single_row_us": {key: value[0] for key, value in single.items()},
        "single_row_cpu_us": {key: value[1] for key, value in single.items()},
        "pickle_bytes": sizes,
    }


def timed_call(function, X):
    with Stopwatch() as watch:
        function(X)
    return {"seconds": watch.seconds, "cpu_seconds": watch.cpu_seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="5,000 rows, 50 trees, 5 epochs"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op and BLAS threads (default 1; 0 keeps the defaults)",
    )
    args = parser.parse_args()
    if not data_dir().is_dir():
        print(
            f"Skipped: the data folder {data_dir()} is absent; set SKLEARN_KD_DATA "
            "to the folder holding pmlb_adult.npz and pmlb_letter.npz."
        )
        sys.exit(0)
    set_threads(args.threads or None)
    info = machine()
    rounds, calls = (3, 100) if args.quick else (5, 200)
    results = [benchmark(name, args.quick, rounds, calls) for name in DATASETS]

    summary, single, whole = [], [], []
    for r in results:
        data = f"{r['dataset']} ({r['test_rows']:,} test rows)"
        sizes = r["pickle_bytes"]
        summary.append(
            [
                data,
                f"{r['train_rows']:,} x {r['features']}, {r['classes']} classes",
                r["trees"],
                str(tuple(r["hidden"])),
                r["forest_accuracy"],
                r["student_accuracy"],
                r["agreement"],
                f"{sizes['forest'] / 1e6:.1f} MB",
                f"{sizes['student'] / 1e3:.0f} kB",
                sizes["forest"] / sizes["student"],
                r["forest_fit_seconds"],
                r["student_fit_seconds"],
            ]
        )
        for clock, key in (("wall", "single_row_us"), ("CPU", "single_row_cpu_us")):
            us = r[key]
            single.append(
                [
                    r["dataset"],
                    clock,
                    us["forest"],
                    us["distilled"],
                    us["student"],
                    us["validate_data"],
                    us["check_array"],
                    us["predict_logits"],
                    us["bare_module"],
                    us["forest"] / us["distilled"],
                    us["forest"] / us["student"],
                ]
            )
        for clock, key in (
            ("wall", "whole_test_seconds"),
            ("CPU", "whole_test_cpu_seconds"),
        ):
            s = r[key]
            whole.append(
                [
                    data,
                    clock,
                    1e3 * s["forest"],
                    1e3 * s["distilled"],
                    1e3 * s["student"],
                    s["forest"] / s["distilled"],
                    s["forest"] / s["student"],
                ]
            )
    tables = [
        (
            "Models and pickled size",
            [
                "data set",
                "train",
                "trees",
                "student MLP",
                "forest accuracy",
                "student accuracy",
                "agreement",
                "forest pickle",
                "export_student() pickle",
                "size ratio",
                "forest fit s",
                "student fit s",
            ],
            summary,
        ),
        (
            "Single-row predict_proba, median µs per call",
            [
                "data set",
                "clock",
                "forest",
                "DistilledClassifier",
                "StudentClassifier",
                "validate_data alone",
                "check_array alone",
                "predict_logits alone",
                "bare torch module",
                "speed-up DistilledClassifier",
                "speed-up StudentClassifier",
            ],
            single,
        ),
        (
            "Whole test set predict_proba, ms (best of 3)",
            [
                "data set",
                "clock",
                "forest",
                "DistilledClassifier",
                "StudentClassifier",
                "speed-up DistilledClassifier",
                "speed-up StudentClassifier",
            ],
            whole,
        ),
    ]
    notes = [
        "25% stratified test split, seed 0; forest fitted with n_jobs=2 and "
        "timed with its default n_jobs=None; DistilledClassifier with default "
        "settings (no categorical_features given).",
        f"Single row: median over {rounds} interleaved rounds of {calls} random "
        "test rows each. DistilledClassifier = validate_data + predict_logits + "
        "softmax; StudentClassifier = check_array + predict_logits + softmax; "
        "the bare module gets a ready float32 tensor.",
        "Target: single-row predict >= 50x faster than the forest.",
    ]
    report(
        "compression",
        "Compression: a 300-tree forest vs its distilled student",
        tables,
        info,
        quick=args.quick,
        notes=notes,
        extra={"datasets": results},
    )


if __name__ == "__main__":
    main()

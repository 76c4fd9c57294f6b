"""Distilling forest regressors on real regression data.

For each ``reg_*`` data set (a random 75/25 split, seed 0, and for the data in
time order, wind and bike sharing, also a time-ordered split: the last 25% of
the rows are the test rows), at most 15,000 training rows, over several seeds of
forest and student:

* **forest**: a 300-tree random forest, fitted on the training rows;
* **label only**: the student on the targets alone (``soft_target_weight=0``;
  the encoding is still chosen by ``fit``);
* **default**: ``DistilledRegressor`` with every default (an unfitted forest, so
  out-of-bag targets, and the automatic choice of encoding, MUNGE and weight);
* **oob**: out-of-bag targets at ``w=0.5``, z-score encoding, no MUNGE;
* **MUNGE**: the same plus ``augment="munge"``.

Columns: test R² (mean ± sd over seeds), RMSE, R² against the forest's
predictions, the difference to the label-only student (paired by seed, ± its
standard error) and the share of the forest's lead it recovers, fit seconds,
the student's one-row and whole-test-set prediction time and size against the
forest's.

Usage: ``python benchmarks/regression.py [--quick] [--datasets NAME ...]
[--seeds S ...] [--jobs N]``.
"""

import argparse
import pickle
import statistics
import time

import numpy as np
from _common import best_call_seconds, data_dir, machine, report, set_threads
from joblib import Parallel, delayed
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

from sklearn_kd import DistilledRegressor

N_TREES = 300
# (data set, split); time-ordered splits for the data recorded in time order.
CASES = [
    ("reg_houses", "random"),
    ("reg_bike_sharing_hourly", "random"),
    ("reg_bike_sharing_hourly", "time"),
    ("reg_pol", "random"),
    ("reg_cpu_act", "random"),
    ("reg_wind", "random"),
    ("reg_wind", "time"),
]
FULL = {"max_train": 15000, "seeds": (0, 1, 2, 3), "cases": CASES}
QUICK = {"max_train": 2000, "seeds": (0,), "cases": [("reg_cpu_act", "random")]}
FIXED = {"encoding": "standard", "augment": None, "soft_target_weight": 0.5}


def load(name, split, max_train):
    data = np.load(data_dir() / f"{name}.npz", allow_pickle=False)
    X, y = np.asarray(data["X"], np.float64), np.asarray(data["y"], np.float64)
    if split == "time":
        cut = int(0.75 * len(y))
        X_train, X_test, y_train, y_test = X[:cut], X[cut:], y[:cut], y[cut:]
        X_train, y_train = X_train[-max_train:], y_train[-max_train:]
    else:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=0
        )
        X_train, y_train = X_train[:max_train], y_train[:max_train]
    return X_train, X_test, y_train, y_test


def forest(seed):
    return RandomForestRegressor(N_TREES, n_jobs=1, random_state=seed)


def one_row_seconds(predict, X, calls=200):
    durations = []
    for call in range(calls):
        row = X[call % len(X) : call % len(X) + 1]
        start = time.perf_counter()
        predict(row)
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)


def run_seed(data, seed):
    set_threads(1)
    X_train, X_test, y_train, y_test = data
    start = time.perf_counter()
    teacher = forest(seed).fit(X_train, y_train)
    forest_seconds = time.perf_counter() - start
    reference = teacher.predict(X_test)
    # Integer-coded columns are left as the forest reads them (numbers): the
    # library finds no categorical column in a forest, as for a user who does
    # not name them.
    settings = {"random_state": seed, "n_threads": 1}
    variants = {
        "label only": DistilledRegressor(soft_target_weight=0.0, **settings),
        "default": DistilledRegressor(forest(seed), **settings),
        "oob": DistilledRegressor(
            forest(seed), soft_targets="oob", **FIXED, **settings
        ),
        "MUNGE": DistilledRegressor(
            forest(seed),
            soft_targets="oob",
            **{**FIXED, "augment": "munge"},
            **settings,
        ),
    }
    measured = {}
    for label, model in variants.items():
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        predicted = model.predict(X_test)
        student = model.export_student()
        measured[label] = {
            "r2": float(r2_score(y_test, predicted)),
            "rmse": float(np.sqrt(mean_squared_error(y_test, predicted))),
            "fidelity_r2": float(r2_score(reference, predicted)),
            "seconds": seconds,
            "one_row": one_row_seconds(student.predict, X_test),
            "batch": best_call_seconds(student.predict, X_test),
            "size": len(pickle.dumps(student)),
            "picked": model.selected_params_,
        }
        print(f"seed {seed} {label}: {measured[label]}", flush=True)
    measured["forest"] = {
        "r2": float(r2_score(y_test, reference)),
        "rmse": float(np.sqrt(mean_squared_error(y_test, reference))),
        "fidelity_r2": 1.0,
        "seconds": forest_seconds,
        "one_row": one_row_seconds(teacher.predict, X_test, calls=50),
        "batch": best_call_seconds(teacher.predict, X_test),
        "size": len(pickle.dumps(teacher)),
    }
    return measured


def _mean_sd(values):
    values = np.asarray(values)
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{values.mean():.4f} ± {values.std(ddof=1):.4f}"


def _paired(values, baseline):
    difference = np.asarray(values) - np.asarray(baseline)
    if len(difference) == 1:
        return difference.mean(), 0.0
    return difference.mean(), difference.std(ddof=1) / np.sqrt(len(difference))


def _time(seconds):
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    config = dict(QUICK if args.quick else FULL)
    if args.seeds:
        config["seeds"] = tuple(args.seeds)
    if not data_dir().is_dir():
        print(f"Data folder {data_dir()} not found (set SKLEARN_KD_DATA); skipping.")
        return
    set_threads(1)
    info = machine()
    started = time.perf_counter()
    rows, verdicts, results = [], [], {}
    for name, split in config["cases"]:
        data = load(name, split, config["max_train"])
        per_seed = Parallel(n_jobs=args.jobs)(
            delayed(run_seed)(data, seed) for seed in config["seeds"]
        )
        case = f"{name} ({split} split)"
        results[case] = per_seed
        by = {
            label: {
                key: [m[label][key] for m in per_seed] for key in per_seed[0][label]
            }
            for label in per_seed[0]
        }
        label_only = np.asarray(by["label only"]["r2"])
        lead, lead_se = _paired(by["forest"]["r2"], label_only)
        for label in ("forest", "label only", "default", "oob", "MUNGE"):
            m = by[label]
            difference, se = _paired(m["r2"], label_only)
            picks = [pick for pick in m.get("picked", []) if pick]
            rows.append(
                [
                    case,
                    label,
                    _mean_sd(m["r2"]),
                    f"{np.mean(m['rmse']):.4g}",
                    f"{np.mean(m['fidelity_r2']):.4f}",
                    "-"
                    if label in ("forest", "label only")
                    else f"{difference:+.4f} ± {se:.4f}",
                    "-"
                    if label in ("forest", "label only") or lead <= 0
                    else f"{difference / lead:+.0%}",
                    f"{np.mean(m['seconds']):.1f}",
                    _time(np.mean(m["one_row"])),
                    _time(np.mean(m["batch"])),
                    f"{np.mean(by['forest']['size']) / np.mean(m['size']):,.0f}x"
                    if label != "forest"
                    else f"{np.mean(m['size']) / 1e6:.1f} MB",
                    ", ".join(
                        sorted(
                            {
                                f"{p['encoding']}/{p['augment']}/w={p['soft_target_weight']}"
                                for p in picks
                            }
                        )
                    )
                    or "-",
                ]
            )
        default = np.asarray(by["default"]["r2"])
        difference, se = _paired(default, label_only)
        if lead > 2 * lead_se and lead > 0:
            verdict = f"{difference / lead:.0%} of the lead recovered: " + (
                "met" if difference / lead >= 0.5 else "missed"
            )
        else:
            verdict = f"{difference:+.4f} ± {se:.4f} vs label only: " + (
                "met" if difference >= -se else "missed"
            )
        size_ratio = np.mean(by["forest"]["size"]) / np.mean(by["default"]["size"])
        batch_ratio = np.mean(by["forest"]["batch"]) / np.mean(by["default"]["batch"])
        verdicts.append(
            [
                case,
                f"{lead:+.4f} ± {lead_se:.4f}",
                verdict,
                f"{size_ratio:,.0f}x smaller, batch {batch_ratio:.0f}x faster: "
                + ("met" if size_ratio >= 1000 and batch_ratio > 1 else "missed"),
            ]
        )
    minutes = (time.perf_counter() - started) / 60
    report(
        "regression",
        "Distilling forest regressors",
        [
            (
                "Targets (forest lead in test R² over the label-only student, mean ± "
                "standard error over seeds)",
                ["case", "forest lead", "default student", "size and batch speed"],
                verdicts,
            ),
            (
                f"Test R² (mean ± sd over seeds {', '.join(map(str, config['seeds']))}), "
                "RMSE, R² against the forest, difference to the label-only student "
                "(paired, ± standard error), share of the forest's lead recovered, "
                "fit seconds, the exported student's prediction times, size ratio",
                [
                    "case",
                    "model",
                    "R²",
                    "RMSE",
                    "R² vs forest",
                    "vs label only",
                    "lead recovered",
                    "fit s",
                    "one row",
                    "test set",
                    "forest size / student",
                    "picked",
                ],
                rows,
            ),
        ],
        info,
        quick=args.quick,
        notes=[
            f"At most {config['max_train']} training rows (the first of the random "
            "split, the latest of the time-ordered one); the test rows are kept "
            "whole.",
            f"Forest: RandomForestRegressor({N_TREES}), random_state the seed. "
            "Students: the library's defaults (50 epochs, no early stopping), one "
            "torch thread, random_state the seed; integer-coded columns are read as "
            "numbers, as the forest reads them (no categorical_features given).",
            "Prediction times are the exported StudentRegressor's (median of 200 "
            "single rows; best of 3 whole-set calls) and the forest's, one thread.",
            f"Total run time {minutes:.1f} min.",
        ],
        extra={
            "results": results,
            "config": {k: v for k, v in config.items() if k != "cases"},
        },
    )


if __name__ == "__main__":
    main()

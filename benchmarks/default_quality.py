"""Does a cheaper default keep its accuracy? The default against a former one.

On the seven data sets of ``soft_targets.py --parts auto`` (training rows capped
at 6,000, the same stratified split), for each seed: a 300-tree random forest is
fitted, then ``DistilledClassifier(fitted_forest, random_state=seed)`` with every
other parameter at its default is fitted, once with this package and once with
an older copy of it (``--baseline DIR``, a folder holding a ``sklearn_kd``
package), each in its own process. The better of the two label-only students of
the older copy (standard and piecewise-linear encodings, its default budget) is
the reference the targets are measured against:

* the new default is within one paired standard error of the old one, or better;
* it is nowhere further below the better label-only student than the old one.

Usage: ``python benchmarks/default_quality.py --baseline DIR [--quick]
[--datasets NAME ...] [--seeds S ...] [--jobs N]``.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import data_dir, machine, report
from joblib import Parallel, delayed
from soft_targets import FULL as SOFT_TARGETS

HERE = Path(__file__).resolve().parent
DATASETS = SOFT_TARGETS["auto_datasets"]  # the seven sets of soft_targets.py
MAX_TRAIN = 6000
N_TREES = 300
OLD, NEW = "former default", "new default"
LABEL_ONLY = ("label only, standard", "label only, piecewise_linear")

# One case in a fresh process: the package on its PYTHONPATH, one thread.
WORKER = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, {benchmarks!r})
from soft_targets import load
from sklearn.ensemble import RandomForestClassifier
from sklearn_kd import DistilledClassifier

name, seed, variants = {name!r}, {seed!r}, {variants!r}
X_train, X_test, y_train, y_test, categorical, info = load(name, {max_train!r})
categorical = categorical if len(categorical) else None
forest = RandomForestClassifier({n_trees!r}, n_jobs=1, random_state=seed)
forest.fit(X_train, y_train)
out = {{"forest": float(forest.score(X_test, y_test)), "rows": info["train_rows"]}}
settings = {{
    "default": {{}},
    "label only, standard": {{"soft_target_weight": 0.0, "encoding": "standard"}},
    "label only, piecewise_linear": {{
        "soft_target_weight": 0.0, "encoding": "piecewise_linear"
    }},
}}
for variant in variants:
    model = DistilledClassifier(
        forest, categorical_features=categorical, random_state=seed,
        **settings[variant]
    )
    start = time.perf_counter()
    model.fit(X_train, y_train)
    out[variant] = {{
        "accuracy": float(model.score(X_test, y_test)),
        "seconds": time.perf_counter() - start,
        "selected": {{k: str(v) for k, v in model.selected_params_.items()}},
    }}
print("RESULT" + json.dumps(out))
"""


def run_case(name, seed, package_dir, variants):
    code = WORKER.format(
        benchmarks=str(HERE),
        name=name,
        seed=seed,
        variants=variants,
        max_train=MAX_TRAIN,
        n_trees=N_TREES,
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(package_dir),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    # The working folder comes first on the path of ``python -c``: run in the
    # package's own folder, so that it is the one imported.
    completed = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=package_dir,
        capture_output=True,
        text=True,
    )
    lines = [
        line for line in completed.stdout.splitlines() if line.startswith("RESULT")
    ]
    if completed.returncode or not lines:
        raise RuntimeError(f"{name} seed {seed} failed:\n{completed.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT") :])


def paired(a, b):
    """Mean and standard error of ``a - b`` over seeds."""
    difference = np.asarray(a) - np.asarray(b)
    error = difference.std(ddof=1) / np.sqrt(len(difference)) if len(a) > 1 else 0.0
    return float(difference.mean()), float(error)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, type=Path)
    parser.add_argument("--quick", action="store_true", help="two sets, one seed")
    parser.add_argument("--datasets", nargs="+")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    if not (args.baseline / "sklearn_kd").is_dir():
        parser.error(f"--baseline {args.baseline} holds no sklearn_kd package")
    if not data_dir().is_dir():
        print(f"no data at {data_dir()}; set SKLEARN_KD_DATA")
        return
    datasets = args.datasets or (DATASETS[2:4] if args.quick else DATASETS)
    seeds = args.seeds[:1] if args.quick else args.seeds
    new_dir = HERE.parent
    jobs = [
        (name, seed, directory, variants)
        for name in datasets
        for seed in seeds
        for directory, variants in (
            (args.baseline, ["default", *LABEL_ONLY]),
            (new_dir, ["default"]),
        )
    ]
    start = time.perf_counter()
    outputs = Parallel(n_jobs=args.jobs)(delayed(run_case)(*job) for job in jobs)
    results = {}
    for (name, seed, directory, _), output in zip(jobs, outputs, strict=True):
        version = NEW if directory == new_dir else OLD
        entry = results.setdefault(name, {}).setdefault(seed, {})
        entry["forest"] = output["forest"]
        entry["rows"] = output["rows"]
        entry[version] = output["default"]
        for label in LABEL_ONLY:
            if label in output:
                entry[label] = output[label]
    rows = []
    for name, by_seed in results.items():
        ordered = [by_seed[seed] for seed in seeds]
        accuracy = {
            key: [entry[key]["accuracy"] for entry in ordered]
            for key in (OLD, NEW, *LABEL_ONLY)
        }
        reference = max(LABEL_ONLY, key=lambda key: np.mean(accuracy[key]))
        new_old, new_old_se = paired(accuracy[NEW], accuracy[OLD])
        old_gap = np.mean(accuracy[OLD]) - np.mean(accuracy[reference])
        new_gap = np.mean(accuracy[NEW]) - np.mean(accuracy[reference])
        within = new_old >= -new_old_se
        no_further_below = new_gap >= min(old_gap, 0.0)
        seconds = {
            key: np.mean([entry[key]["seconds"] for entry in ordered])
            for key in (OLD, NEW)
        }
        rows.append(
            [
                name,
                ordered[0]["rows"],
                f"{np.mean([entry['forest'] for entry in ordered]):.4f}",
                f"{np.mean(accuracy[OLD]):.4f}",
                f"{np.mean(accuracy[NEW]):.4f}",
                f"{new_old:+.4f} ± {new_old_se:.4f}",
                f"{reference.split(', ')[1]} {np.mean(accuracy[reference]):.4f}",
                f"{old_gap:+.4f}",
                f"{new_gap:+.4f}",
                "met" if within and no_further_below else "missed",
                f"{seconds[OLD]:.1f}",
                f"{seconds[NEW]:.1f}",
                f"{seconds[OLD] / seconds[NEW]:.1f}x",
                ", ".join(
                    sorted(
                        {
                            f"{entry[NEW]['selected']['encoding']}/"
                            f"{entry[NEW]['selected']['augment']}/"
                            f"w={entry[NEW]['selected']['soft_target_weight']}"
                            for entry in ordered
                        }
                    )
                ),
            ]
        )
    headers = [
        "data set",
        "train rows",
        "forest",
        OLD,
        NEW,
        "new - former (paired SE)",
        "better label-only",
        "former - label-only",
        "new - label-only",
        "target",
        "former fit s",
        "new fit s",
        "speed-up",
        "new picks",
    ]
    notes = [
        f"Seeds {seeds}; training rows capped at {MAX_TRAIN:,} (stratified, as in "
        "soft_targets.py); every fit in its own process with one thread, two "
        f"processes at a time; the whole run took {time.perf_counter() - start:.0f} s.",
        "Target: new - former >= -1 paired SE, and new - label-only >= "
        "min(former - label-only, 0).",
        "Fit seconds are on a machine running two fits at a time: compare them "
        "within the run only (fit_cost.py measures cost properly).",
    ]
    stem = "default_quality_partial" if args.datasets else "default_quality"
    results_by_name = {
        data_set: {str(seed): entry for seed, entry in by_seed.items()}
        for data_set, by_seed in results.items()
    }
    report(
        stem,
        "The new default against the former one (test accuracy)",
        [("Accuracy and targets", headers, rows)],
        machine(),
        quick=args.quick,
        notes=notes,
        extra={"results": results_by_name, "seeds": seeds},
    )


if __name__ == "__main__":
    main()

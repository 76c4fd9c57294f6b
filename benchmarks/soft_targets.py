"""Where soft targets come from, temperature, weight and MUNGE on real tabular data.

For each data set (25% stratified test split, seed 0; training rows capped for
time), a 300-tree random forest teacher and a (128, 64) MLP student:

* **forest**: the teacher itself (fitted on the training rows).
* **label only**: the student on labels alone (``soft_target_weight=0``).
* **predict**: in-sample soft targets from the fitted forest.
* **oob**: out-of-bag soft targets (unfitted forest, the library fits it).
* **cross_fit**: soft targets from forests fitted on the other folds.
* **library defaults**: ``DistilledClassifier(RandomForestClassifier())`` as it
  comes (``soft_targets="auto"``, i.e. OOB; runs before the defaults became
  ``temperature=1``, ``soft_target_weight=0.5`` used ``temperature=2``,
  ``soft_target_weight=0.7``).
* **oob + MUNGE**: OOB soft targets plus ``augment_factor`` synthetic rows per row.

Temperature and weight are picked per data set by ``GridSearchCV`` (cv=3) on the
training rows only, with OOB soft targets and the teacher stage cached in
``memory``. Every student, the label-only one included, gets the same training
budget (epochs, learning rate, batch size, early stopping).

Two more tables: a temperature sweep for a forest teacher with the exact
probability-to-logit conversion (``proba_eps="auto"``) against the old
``proba_eps=1e-6``, and a histogram gradient boosting teacher (its logits come
from ``decision_function``).

Gap recovered = (student - label only) / (forest - label only), shown where the
forest beats the label-only student.

Usage: ``python benchmarks/soft_targets.py [--quick] [--parts main,sweep,hgb]
[--datasets NAME ...] [--max-train N]``.
"""

import argparse
import tempfile
import time

import numpy as np
from _common import data_dir, machine, report, set_threads
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.model_selection import GridSearchCV, train_test_split

from sklearn_kd import DistilledClassifier

SEED = 0
N_TREES = 300
HIDDEN = (128, 64)
DEFAULT_T, DEFAULT_W = 2.0, 0.7
FULL = {
    "datasets": [
        "pmlb_magic",
        "pmlb_letter",
        "pmlb_adult",
        "pmlb_connect_4",
        "pmlb_sleep",
    ],
    "max_train": 15000,
    "grid_rows": 6000,
    "budget": {"max_epochs": 100, "n_iter_no_change": 10},
    "munge_factors": (5, 10),
    "munge_datasets": 2,
    "sweep_datasets": ["pmlb_letter", "pmlb_magic"],
    "hgb_dataset": "pmlb_magic",
}
QUICK = {
    "datasets": ["pmlb_magic"],
    "max_train": 2000,
    "grid_rows": 1500,
    "budget": {"max_epochs": 40, "n_iter_no_change": 5},
    "munge_factors": (5,),
    "munge_datasets": 1,
    "sweep_datasets": ["pmlb_magic"],
    "hgb_dataset": "pmlb_magic",
}
GRID = [
    {"soft_target_weight": [0.0]},
    {"temperature": [1.0, 4.0], "soft_target_weight": [0.5, 0.9]},
    {"temperature": [DEFAULT_T], "soft_target_weight": [DEFAULT_W]},
]
SWEEP_TEMPERATURES = (1.0, 2.0, 4.0, 8.0)


def load(name, max_train):
    """Stratified 75/25 split (seed 0); training rows capped at ``max_train``."""
    data = np.load(data_dir() / f"{name}.npz", allow_pickle=False)
    X, y = np.asarray(data["X"], np.float64), data["y"]
    categorical = np.flatnonzero(data["categorical"])
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=SEED
    )
    n_train = len(y_train)
    if n_train > max_train:
        X_train, _, y_train, _ = train_test_split(
            X_train, y_train, train_size=max_train, stratify=y_train, random_state=SEED
        )
    info = {
        "rows": len(y),
        "train_rows": len(y_train),
        "test_rows": len(y_test),
        "train_rows_available": n_train,
    }
    return X_train, X_test, y_train, y_test, categorical, info


def forest():
    return RandomForestClassifier(N_TREES, n_jobs=2, random_state=SEED)


def student(teacher, config, categorical, **params):
    return DistilledClassifier(
        teacher,
        hidden_layer_sizes=HIDDEN,
        lr=1e-3,
        batch_size=512,
        early_stopping=True,
        validation_fraction=0.1,
        categorical_features=categorical if len(categorical) else None,
        random_state=SEED,
        **config["budget"],
        **params,
    )


def evaluate(model, X_train, y_train, X_test, y_test, reference):
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    predicted = model.predict(X_test)
    return {
        "accuracy": float(np.mean(predicted == y_test)),
        "agreement": float(np.mean(predicted == reference)),
        "epochs": len(model.student_.history),
        "seconds": seconds,
    }


def gap(accuracy, label_only, teacher):
    if teacher <= label_only:
        return "n/a (forest <= label only)"
    return f"{(accuracy - label_only) / (teacher - label_only):+.2f}"


def pick_temperature_weight(name, X_train, y_train, categorical, config, cache):
    """GridSearchCV (cv=3) over temperature and weight on training rows only."""
    rows = min(config["grid_rows"], len(y_train))
    X_grid, y_grid = X_train[:rows], y_train[:rows]
    search = GridSearchCV(
        student(forest(), config, categorical, soft_targets="oob", memory=cache),
        GRID,
        cv=3,
        refit=False,
    )
    search.fit(X_grid, y_grid)
    scores = {}
    for params, score in zip(
        search.cv_results_["params"],
        search.cv_results_["mean_test_score"],
        strict=True,
    ):
        w = params["soft_target_weight"]
        key = (
            "label only"
            if w == 0
            else f"T={params.get('temperature', DEFAULT_T):g}, w={w:g}"
        )
        scores[key] = float(score)
    distilled = [
        (score, params)
        for params, score in zip(
            search.cv_results_["params"],
            search.cv_results_["mean_test_score"],
            strict=True,
        )
        if params["soft_target_weight"] > 0
    ]
    best_score, best = max(distilled, key=lambda item: item[0])
    return best.get("temperature", DEFAULT_T), best["soft_target_weight"], scores, rows


def run_main(config, cache, results):
    rows, grid_rows, data_rows = [], [], []
    for index, name in enumerate(config["datasets"]):
        X_train, X_test, y_train, y_test, categorical, info = load(
            name, config["max_train"]
        )
        data_rows.append(
            [
                name,
                info["rows"],
                info["train_rows_available"],
                info["train_rows"],
                info["test_rows"],
                len(np.unique(y_train)),
            ]
        )
        start = time.perf_counter()
        teacher = forest().fit(X_train, y_train)
        forest_seconds = time.perf_counter() - start
        reference = teacher.predict(X_test)
        forest_acc = float(np.mean(reference == y_test))

        T, w, scores, n_grid = pick_temperature_weight(
            name, X_train, y_train, categorical, config, cache
        )
        grid_rows.append(
            [
                name,
                n_grid,
                f"T={T:g}, w={w:g}",
                *(f"{scores[k]:.4f}" for k in GRID_KEYS),
            ]
        )
        print(f"[{name}] grid picked T={T}, w={w}: {scores}", flush=True)

        variants = {
            "label only": student(None, config, categorical, soft_target_weight=0.0),
            "predict": student(
                teacher,
                config,
                categorical,
                temperature=T,
                soft_target_weight=w,
                soft_targets="predict",
            ),
            "oob": student(
                forest(),
                config,
                categorical,
                temperature=T,
                soft_target_weight=w,
                soft_targets="oob",
            ),
            "cross_fit (cv=3)": student(
                forest(),
                config,
                categorical,
                temperature=T,
                soft_target_weight=w,
                soft_targets="cross_fit",
                cv=3,
                n_jobs=2,
            ),
            "library defaults (auto=oob)": student(forest(), config, categorical),
        }
        if index < config["munge_datasets"]:
            for factor in config["munge_factors"]:
                variants[f"oob + MUNGE {factor}x"] = student(
                    forest(),
                    config,
                    categorical,
                    temperature=T,
                    soft_target_weight=w,
                    soft_targets="oob",
                    augment="munge",
                    augment_factor=factor,
                )
        measured = {}
        for label, model in variants.items():
            measured[label] = evaluate(
                model, X_train, y_train, X_test, y_test, reference
            )
            print(f"[{name}] {label}: {measured[label]}", flush=True)
        label_only = measured["label only"]["accuracy"]
        rows.append(
            [
                name,
                "forest (teacher)",
                f"{forest_acc:.4f}",
                "1.0000",
                "-",
                "-",
                f"{forest_seconds:.1f}",
            ]
        )
        for label, m in measured.items():
            rows.append(
                [
                    name,
                    label,
                    f"{m['accuracy']:.4f}",
                    f"{m['agreement']:.4f}",
                    "-"
                    if label == "label only"
                    else gap(m["accuracy"], label_only, forest_acc),
                    m["epochs"],
                    f"{m['seconds']:.1f}",
                ]
            )
        results["main"][name] = {
            "forest": forest_acc,
            "picked": {"temperature": T, "soft_target_weight": w},
            "grid": scores,
            "variants": measured,
            **info,
        }
    return [
        (
            "Data",
            [
                "data set",
                "rows",
                "train rows available",
                "train rows used",
                "test rows used",
                "classes",
            ],
            data_rows,
        ),
        (
            "Temperature and weight picked by GridSearchCV (cv=3, training rows only, "
            "OOB soft targets): mean validation accuracy",
            ["data set", "grid rows", "picked", *GRID_KEYS],
            grid_rows,
        ),
        (
            "Test accuracy, agreement with the forest, gap recovered",
            [
                "data set",
                "model",
                "accuracy",
                "agreement",
                "gap recovered",
                "epochs",
                "fit s",
            ],
            rows,
        ),
    ]


GRID_KEYS = [
    "label only",
    "T=1, w=0.5",
    "T=1, w=0.9",
    "T=4, w=0.5",
    "T=4, w=0.9",
    "T=2, w=0.7",
]


def run_sweep(config, cache, results):
    rows = []
    for name in config["sweep_datasets"]:
        X_train, X_test, y_train, y_test, categorical, _ = load(
            name, config["max_train"]
        )
        teacher = forest().fit(X_train, y_train)
        reference = teacher.predict(X_test)
        label_only = evaluate(
            student(None, config, categorical, soft_target_weight=0.0),
            X_train,
            y_train,
            X_test,
            y_test,
            reference,
        )["accuracy"]
        forest_acc = float(np.mean(reference == y_test))
        for eps in ("auto", 1e-6):
            for T in SWEEP_TEMPERATURES:
                m = evaluate(
                    student(
                        teacher,
                        config,
                        categorical,
                        temperature=T,
                        soft_target_weight=DEFAULT_W,
                        soft_targets="predict",
                        proba_eps=eps,
                        memory=cache,
                    ),
                    X_train,
                    y_train,
                    X_test,
                    y_test,
                    reference,
                )
                print(f"[sweep {name}] eps={eps} T={T}: {m}", flush=True)
                rows.append(
                    [
                        name,
                        str(eps),
                        f"{T:g}",
                        f"{m['accuracy']:.4f}",
                        f"{m['agreement']:.4f}",
                        gap(m["accuracy"], label_only, forest_acc),
                    ]
                )
                results["sweep"].setdefault(name, {})[f"{eps}/T={T:g}"] = m
        results["sweep"][name]["label_only"] = label_only
        results["sweep"][name]["forest"] = forest_acc
        rows.append([name, "label only", "-", f"{label_only:.4f}", "-", "-"])
        rows.append([name, "forest", "-", f"{forest_acc:.4f}", "1.0000", "-"])
    return [
        (
            f"Temperature sweep, fitted forest, soft_targets='predict', "
            f"w={DEFAULT_W}: proba_eps='auto' (1e-300) vs 1e-6",
            ["data set", "proba_eps", "T", "accuracy", "agreement", "gap recovered"],
            rows,
        )
    ]


def run_hgb(config, cache, results):
    name = config["hgb_dataset"]
    X_train, X_test, y_train, y_test, categorical, _ = load(name, config["max_train"])
    teacher = HistGradientBoostingClassifier(random_state=SEED).fit(X_train, y_train)
    reference = teacher.predict(X_test)
    teacher_acc = float(np.mean(reference == y_test))
    label_only = evaluate(
        student(None, config, categorical, soft_target_weight=0.0),
        X_train,
        y_train,
        X_test,
        y_test,
        reference,
    )["accuracy"]
    rows = [
        [name, "HGB teacher", "-", f"{teacher_acc:.4f}", "1.0000", "-"],
        [name, "label only", "-", f"{label_only:.4f}", "-", "-"],
    ]
    for T in SWEEP_TEMPERATURES:
        m = evaluate(
            student(
                HistGradientBoostingClassifier(random_state=SEED),
                config,
                categorical,
                temperature=T,
                soft_target_weight=DEFAULT_W,
                soft_targets="cross_fit",
                cv=3,
                n_jobs=2,
                memory=cache,
            ),
            X_train,
            y_train,
            X_test,
            y_test,
            reference,
        )
        print(f"[hgb {name}] T={T}: {m}", flush=True)
        rows.append(
            [
                name,
                "cross_fit (cv=3)",
                f"{T:g}",
                f"{m['accuracy']:.4f}",
                f"{m['agreement']:.4f}",
                gap(m["accuracy"], label_only, teacher_acc),
            ]
        )
        results["hgb"][f"T={T:g}"] = m
    results["hgb"].update(
        {"data set": name, "teacher": teacher_acc, "label_only": label_only}
    )
    return [
        (
            f"HistGradientBoosting teacher (logits from decision_function), "
            f"w={DEFAULT_W}",
            ["data set", "model", "T", "accuracy", "agreement", "gap recovered"],
            rows,
        )
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one data set, small")
    parser.add_argument("--parts", default="main,sweep,hgb")
    parser.add_argument("--datasets", nargs="+", help="override the main data sets")
    parser.add_argument("--max-train", type=int, help="cap on training rows")
    parser.add_argument("--munge-factors", type=int, nargs="*", help="MUNGE factors")
    parser.add_argument(
        "--munge-datasets", type=int, help="how many data sets get MUNGE rows"
    )
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    config = dict(QUICK if args.quick else FULL)
    if args.datasets:
        config["datasets"] = args.datasets
    if args.max_train:
        config["max_train"] = args.max_train
    if args.munge_factors is not None:
        config["munge_factors"] = tuple(args.munge_factors)
    if args.munge_datasets is not None:
        config["munge_datasets"] = args.munge_datasets
    if not data_dir().is_dir():
        print(f"Data folder {data_dir()} not found (set SKLEARN_KD_DATA); skipping.")
        return
    set_threads(args.threads)
    info = machine()
    parts = args.parts.split(",")
    runners = {"main": run_main, "sweep": run_sweep, "hgb": run_hgb}
    results = {part: {} for part in parts}
    tables = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        for part in parts:
            tables += runners[part](config, cache, results)
    seconds = time.perf_counter() - start
    budget = config["budget"]
    notes = [
        f"Training rows capped at {config['max_train']} (stratified subsample of the "
        "75% training split) where a data set has more, for time on a shared 2-core "
        "CPU; the test split is kept whole.",
        f"Every student: MLP {HIDDEN}, Adam lr=1e-3, batch 512, early stopping "
        f"(validation_fraction=0.1, n_iter_no_change={budget['n_iter_no_change']}), "
        f"max_epochs={budget['max_epochs']}, random_state={SEED}.",
        f"Teacher: RandomForestClassifier({N_TREES}, n_jobs=2, random_state={SEED}); "
        "categorical columns are one-hot encoded inside the student.",
        "MUNGE uses OOB soft targets (chosen a priori, not by test accuracy).",
        f"Total run time {seconds / 60:.1f} min.",
    ]
    name = "soft_targets" if len(parts) == 3 else "soft_targets_" + "_".join(parts)
    name += f"_{args.tag}" if args.tag else ""
    report(
        name,
        "Soft targets for forest teachers",
        tables,
        info,
        quick=args.quick,
        notes=notes,
        extra={
            "results": results,
            "config": {k: v for k, v in config.items() if k != "budget"} | budget,
        },
    )


if __name__ == "__main__":
    main()

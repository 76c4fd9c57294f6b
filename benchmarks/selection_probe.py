"""How the automatic selection's pieces were chosen, on training rows only.

For each data set, the training split of ``soft_targets.py`` (the same 25% test
split and training cap) is split again, 80/20 stratified, into *fit* and *dev*
rows; the test rows are never read. A 300-tree forest (``oob_score=True``) is
fitted on the fit rows, and students trained on them are scored on the dev rows:

* **encodings**: z-score against piecewise-linear encoding with 8, 16 and 32 bins
  (edges from the forest's thresholds, and from quantiles at 32 bins), on labels
  and distilled (OOB soft targets, w=0.5); and, at 32 bins, two regularisers:
  dropout 0.2 and weight decay 1e-4.
* **schedule**: three students (piecewise-linear with MUNGE, piecewise-linear
  on labels, z-score with MUNGE; the training budget's epochs) at a constant
  rate of 1e-3 and 3e-3 and under ``lr_schedule="cosine"`` from 3e-3, 5e-3 and
  1e-2, with their dev accuracy and held-out criterion.
* **budget**: every candidate of ``fit``'s selection trained at the full budget
  and at the reduced one ``fit`` uses (a share of the epochs, at most a fixed
  number of real rows), with their dev accuracy and held-out criterion; how
  often the reduced budget picks the full budget's best candidate, and what
  that pick costs in dev accuracy.

Usage: ``python benchmarks/selection_probe.py [--quick] [--parts encodings,schedule,budget]
[--max-train N]
[--datasets NAME ...]``.
"""

import argparse
import time

import numpy as np
from _common import data_dir, machine, report, set_threads
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split
from soft_targets import load

from sklearn_kd import DistilledClassifier
from sklearn_kd._probability import calibrated_log_loss
from sklearn_kd.student._network import predict_logits
from sklearn_kd.student._selection import candidates

DATASETS = [
    "pmlb_krkopt",
    "pmlb_letter",
    "pmlb_magic",
    "pmlb_sleep",
    "pmlb_adult",
    "pmlb_connect_4",
    "pmlb_fars",
]
FULL = {"max_train": 15000, "max_epochs": 50}
QUICK = {"max_train": 2000, "max_epochs": 10}


def split(name, config):
    X, _, y, _, categorical, _ = load(name, config["max_train"])
    _, counts = np.unique(y, return_counts=True)
    X_fit, X_dev, y_fit, y_dev = train_test_split(
        X, y, test_size=0.2, stratify=y if counts.min() >= 2 else None, random_state=0
    )
    forest = RandomForestClassifier(300, oob_score=True, n_jobs=2, random_state=0)
    forest.fit(X_fit, y_fit)
    return X_fit, X_dev, y_fit, y_dev, categorical, forest


def student(forest, categorical, config, **params):
    """A student of the fitted forest. Integer-coded columns are read as the
    library reads them without ``categorical_features`` (a forest declares
    none): as numbers, as the forest itself reads them."""
    return DistilledClassifier(
        forest,
        soft_targets="oob",
        max_epochs=config["max_epochs"],
        n_threads=1,
        random_state=0,
        **params,
    )


def score(model, X_dev, y_dev):
    logits = np.log(np.clip(model.predict_proba(X_dev), 1e-300, None))
    labels = np.searchsorted(model.classes_, y_dev)
    return (
        float(np.mean(model.predict(X_dev) == y_dev)),
        calibrated_log_loss(logits, labels),
    )


def timed_fit(model, X, y):
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


ENCODING_VARIANTS = {
    "z-score": {"encoding": "standard"},
    "PLE 8 bins": {
        "encoding": "piecewise_linear",
        "n_bins": 8,
        "student__dropout": 0.0,
    },
    "PLE 16 bins": {
        "encoding": "piecewise_linear",
        "n_bins": 16,
        "student__dropout": 0.0,
    },
    "PLE 32 bins": {
        "encoding": "piecewise_linear",
        "n_bins": 32,
        "student__dropout": 0.0,
    },
    "PLE 32 bins, quantile edges": {
        "encoding": "piecewise_linear",
        "n_bins": 32,
        "teacher_edges": False,
        "student__dropout": 0.0,
    },
    "PLE 32 bins, dropout 0.2": {
        "encoding": "piecewise_linear",
        "student__dropout": 0.2,
    },
    "PLE 32 bins, weight decay 1e-4": {
        "encoding": "piecewise_linear",
        "optimizer__weight_decay": 1e-4,
        "student__dropout": 0.0,
    },
    "z-score, data file's categorical columns one-hot": {
        "encoding": "standard",
        "one_hot": True,
    },
}


def run_encodings(name, data, config, results):
    X_fit, X_dev, y_fit, y_dev, categorical, forest = data
    rows = []
    for label, params in ENCODING_VARIANTS.items():
        params = dict(params)
        if params.pop("one_hot", False):
            if not len(categorical):
                continue
            params["categorical_features"] = categorical
        teacher = (
            forest if params.pop("teacher_edges", True) else _thresholdless(forest)
        )
        for weight in (0.0, 0.5):
            model = student(
                teacher,
                categorical,
                config,
                augment=None,
                soft_target_weight=weight,
                **params,
            )
            seconds = timed_fit(model, X_fit, y_fit)
            accuracy, loss = score(model, X_dev, y_dev)
            kind = "labels" if weight == 0 else "distilled"
            results.setdefault(name, {})[f"{label} / {kind}"] = {
                "accuracy": accuracy,
                "criterion": loss,
                "seconds": seconds,
            }
            rows.append(
                [name, label, kind, f"{accuracy:.4f}", f"{loss:.4f}", f"{seconds:.1f}"]
            )
            print(rows[-1], flush=True)
    return rows


def _thresholdless(forest):
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    # A pipeline with a transformer before the forest: the library then takes
    # its bin edges from quantiles, while the forest's outputs are the same.
    identity = FunctionTransformer(feature_names_out="one-to-one").fit(
        np.zeros((1, forest.n_features_in_))
    )
    return make_pipeline(identity, FrozenEstimator(forest))


SCHEDULE_STUDENTS = {
    "PLE, MUNGE, w=0.5": {
        "encoding": "piecewise_linear",
        "augment": "munge",
        "soft_target_weight": 0.5,
    },
    "PLE, labels only": {"encoding": "piecewise_linear", "soft_target_weight": 0.0},
    "z-score, MUNGE, w=0.5": {
        "encoding": "standard",
        "augment": "munge",
        "soft_target_weight": 0.5,
    },
}
SCHEDULES = [
    (1e-3, None),
    (3e-3, None),
    (3e-3, "cosine"),
    (5e-3, "cosine"),
    (1e-2, "cosine"),
]


def run_schedule(name, data, config, results):
    X_fit, X_dev, y_fit, y_dev, categorical, forest = data
    rows = []
    for label, params in SCHEDULE_STUDENTS.items():
        for lr, schedule in SCHEDULES:
            model = student(
                forest, categorical, config, lr=lr, lr_schedule=schedule, **params
            )
            model.set_params(max_epochs="auto")  # the training budget's epochs
            seconds = timed_fit(model, X_fit, y_fit)
            accuracy, loss = score(model, X_dev, y_dev)
            rate = f"{lr:g} " + (schedule or "constant")
            results.setdefault(name, {})[f"{label} / {rate}"] = {
                "accuracy": accuracy,
                "criterion": loss,
                "seconds": seconds,
                "epochs": model.selected_params_["max_epochs"],
            }
            rows.append(
                [name, label, rate, f"{accuracy:.4f}", f"{loss:.4f}", f"{seconds:.1f}"]
            )
            print(rows[-1], flush=True)
    return rows


BUDGETS = {
    "reduced (fit's)": None,
    "epochs x0.25, 3000 rows": (0.25, 3000),
    "epochs x0.5, 2000 rows": (0.5, 2000),
    "epochs x1, 1500 rows": (1.0, 1500),
}


def run_budget(name, data, config, results):
    """Every candidate at full budget (scored on the dev rows) and the scores
    ``fit``'s selection gives them at reduced budgets (on its own hold-out)."""
    from sklearn.utils import check_random_state

    from sklearn_kd._progress import Progress
    from sklearn_kd.student import _selection

    X_fit, X_dev, y_fit, y_dev, categorical, _ = data
    model = DistilledClassifier(
        RandomForestClassifier(300, n_jobs=2, random_state=0),
        max_epochs=config["max_epochs"],
        n_threads=1,
        random_state=0,
    )
    model._check_settings()
    task = model._task_class.from_estimator(model)
    fit_data = model._validate_fit_data(task, X_fit, y_fit, None)
    rng = check_random_state(0)
    seed = int(rng.randint(np.iinfo(np.int32).max))
    stage = model._teacher_stage(task, fit_data, rng, Progress(0, "probe"))
    transfer = model._transfer_set(task, fit_data, stage)
    real = np.arange(transfer.n_real)
    n_outputs = len(stage.targets)  # the classes
    labels_dev = np.searchsorted(stage.targets, y_dev)
    full = {}
    for choice in candidates(model, has_teacher=True):
        rows = np.arange(len(transfer)) if choice.augment else real
        start = time.perf_counter()
        net = model._train_student(
            task, transfer.take(rows), fit_data, stage, choice, seed
        )
        seconds = time.perf_counter() - start
        logits = predict_logits(net.module_, X_dev.astype(np.float32), device="cpu")
        full[choice.label()] = {
            "accuracy": float(np.mean(logits.argmax(1) == labels_dev)),
            "criterion": calibrated_log_loss(logits, labels_dev),
            "seconds": seconds,
        }
        print(name, choice.label(), full[choice.label()], flush=True)
    reduced = {}
    defaults = (_selection.EPOCH_SHARE, _selection.MAX_CANDIDATE_ROWS)
    for budget, values in BUDGETS.items():
        _selection.EPOCH_SHARE, _selection.MAX_CANDIDATE_ROWS = values or defaults
        start = time.perf_counter()
        choice, scores, _ = _selection.select(
            model,
            transfer,
            stage,
            seed,
            Progress(0, "probe"),
            train=lambda rows, choice, epochs: model._train_student(
                task, rows, fit_data, stage, choice, seed, max_epochs=epochs
            ),
            score=task.validation_losses,
            stratify=task.stratify,
            input_offset=fit_data.input_offset,
        )
        reduced[budget] = {
            "scores": scores,
            "pick": choice.label(),
            "seconds": time.perf_counter() - start,
        }
        print(name, budget, reduced[budget], flush=True)
    _selection.EPOCH_SHARE, _selection.MAX_CANDIDATE_ROWS = defaults
    results[name] = {"full": full, "reduced": reduced, "classes": n_outputs}
    best_full = max(full, key=lambda label: full[label]["accuracy"])
    rows = []
    for label, measured in full.items():
        rows.append(
            [
                name,
                label + (" (best)" if label == best_full else ""),
                f"{measured['accuracy']:.4f}",
                f"{measured['criterion']:.4f}",
                f"{measured['seconds']:.1f}",
                *(f"{reduced[budget]['scores'][label]:.4f}" for budget in BUDGETS),
            ]
        )
    rows.append(
        [
            name,
            "picked (reduced budget): dev accuracy lost vs best",
            "",
            "",
            "",
            *(
                f"{reduced[b]['pick']}: "
                f"{full[reduced[b]['pick']]['accuracy'] - full[best_full]['accuracy']:+.4f}"
                f" ({reduced[b]['seconds']:.0f} s)"
                for b in BUDGETS
            ),
        ]
    )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--parts", default="encodings,budget")
    parser.add_argument("--datasets", nargs="+")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument(
        "--max-train", type=int, help="training rows cap (6,000 for the schedule)"
    )
    args = parser.parse_args()
    config = dict(QUICK if args.quick else FULL)
    if args.max_train:
        config["max_train"] = args.max_train
    names = args.datasets or (DATASETS[:1] if args.quick else DATASETS)
    if not data_dir().is_dir():
        print(f"Data folder {data_dir()} not found (set SKLEARN_KD_DATA); skipping.")
        return
    set_threads(1)
    info = machine()
    parts = args.parts.split(",")
    tables, results = [], {"encodings": {}, "schedule": {}, "budget": {}}
    encoding_rows, schedule_rows, budget_rows = [], [], []
    for name in names:
        data = split(name, config)
        if "encodings" in parts:
            encoding_rows += run_encodings(name, data, config, results["encodings"])
        if "schedule" in parts:
            schedule_rows += run_schedule(name, data, config, results["schedule"])
        if "budget" in parts:
            budget_rows += run_budget(name, data, config, results["budget"])
    if encoding_rows:
        tables.append(
            (
                "Encodings on labels and distilled (dev rows of the training split)",
                [
                    "data set",
                    "encoding",
                    "student",
                    "dev accuracy",
                    "criterion",
                    "fit s",
                ],
                encoding_rows,
            )
        )
    if schedule_rows:
        tables.append(
            (
                "Learning rate and schedule (dev rows of the training split)",
                ["data set", "student", "rate", "dev accuracy", "criterion", "fit s"],
                schedule_rows,
            )
        )
    if budget_rows:
        tables.append(
            (
                "Selection candidates at the full and the reduced budget",
                [
                    "data set",
                    "candidate",
                    "full budget: dev accuracy",
                    "full: dev criterion",
                    "full: fit s",
                    *(f"criterion at {budget}" for budget in BUDGETS),
                ],
                budget_rows,
            )
        )
    report(
        "selection_probe" + (f"_{args.tag}" if args.tag else ""),
        "Choosing the selection's candidates and budget on training rows",
        tables,
        info,
        quick=args.quick,
        notes=[
            "Fit/dev split (80/20, stratified where every class has two rows, seed "
            "0) of the training rows of soft_targets.py; the test rows are never "
            "read.",
            f"Students: default MLP, max_epochs={config['max_epochs']} (the schedule "
            "part: the training budget's epochs), one thread; "
            "criterion = calibrated log loss on the dev rows (lower is better).",
        ],
        extra={"results": results, "config": config},
    )


if __name__ == "__main__":
    main()

"""Where soft targets come from, temperature, weight and MUNGE on real tabular data.

For each data set (25% stratified test split, seed 0; training rows capped for
time), a 300-tree random forest teacher and a (128, 64) MLP student, each
repeated over several seeds of forest and student:

* **forest**: the teacher itself (fitted on the training rows).
* **label only**: the student on labels alone (``soft_target_weight=0``).
* **predict**: in-sample soft targets from the fitted forest.
* **oob**: out-of-bag soft targets (unfitted forest, the library fits it).
* **cross_fit**: soft targets from forests fitted on the other folds.
* **default distillation settings**: an unfitted forest with the library's
  defaults for the distillation (``soft_targets="auto"``, i.e. OOB,
  ``temperature=1``, ``soft_target_weight=0.5``); the student's own settings
  are the benchmark's, as for every row.
* **default + MUNGE**: the same plus ``augment="munge"`` with the first
  ``augment_factor`` synthetic rows per row.
* **oob + MUNGE**: OOB soft targets at the grid's temperature and weight, plus
  MUNGE at each ``augment_factor``.
* **recommended**: the user guide's procedure, decided on training rows only:
  the grid's temperature and weight, with MUNGE (first ``augment_factor``) if
  cross-validation at those settings scores it above no MUNGE. It repeats the
  oob or the oob + MUNGE row it chose.

Temperature and weight are picked per data set by ``GridSearchCV`` (cv=3) on the
training rows only, with OOB soft targets and the teacher stage cached in
``memory``; the MUNGE decision uses the same rows and folds. Every student, the
label-only one included, gets the same training settings (epochs, learning rate,
batch size, early stopping); MUNGE students see ``1 + augment_factor`` times the
rows per epoch.

Two more tables: a temperature sweep for a forest teacher with the exact
probability-to-logit conversion (``proba_eps="auto"``) against the old
``proba_eps=1e-6``, and a histogram gradient boosting teacher (its logits come
from ``decision_function``).

Gap recovered = (student - label only) / (forest - label only), shown where the
forest beats the label-only student.

Usage: ``python benchmarks/soft_targets.py [--quick] [--parts main,sweep,hgb]
[--datasets NAME ...] [--max-train N] [--seeds S ...] [--jobs N]``.
"""

import argparse
import tempfile
import time

import numpy as np
from _common import data_dir, machine, report, set_threads
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.model_selection import (
    GridSearchCV,
    ParameterGrid,
    cross_val_score,
    train_test_split,
)

from sklearn_kd import DistilledClassifier

SEED = 0
N_TREES = 300
HIDDEN = (128, 64)
SWEEP_W = 0.5  # the library's default soft_target_weight
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
    "seeds": (0, 1, 2, 3),
    "sweep_datasets": ["pmlb_letter", "pmlb_magic"],
    "hgb_dataset": "pmlb_magic",
    "auto_datasets": [
        "pmlb_krkopt",
        "pmlb_letter",
        "pmlb_magic",
        "pmlb_sleep",
        "pmlb_adult",
        "pmlb_connect_4",
        "pmlb_fars",
    ],
    "auto_max_train": 6000,
}
QUICK = {
    "datasets": ["pmlb_magic"],
    "max_train": 2000,
    "grid_rows": 1500,
    "budget": {"max_epochs": 40, "n_iter_no_change": 5},
    "munge_factors": (5,),
    "seeds": (0,),
    "sweep_datasets": ["pmlb_magic"],
    "hgb_dataset": "pmlb_magic",
    "auto_datasets": ["pmlb_krkopt"],
    "auto_max_train": 2000,
}
GRID = [
    {"temperature": [1.0], "soft_target_weight": [0.0]},
    {"temperature": [0.5, 1.0, 2.0, 4.0], "soft_target_weight": [0.5, 0.9]},
]
SWEEP_TEMPERATURES = (0.5, 1.0, 2.0, 4.0, 8.0)


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


def forest(seed=SEED, n_jobs=2):
    return RandomForestClassifier(N_TREES, n_jobs=n_jobs, random_state=seed)


def student(teacher, config, categorical, seed=SEED, **params):
    """A student with the benchmark's training settings; the distillation
    settings not given are fixed at the library's former defaults (z-score
    encoding, no MUNGE, w=0.5), so that only the ``auto`` rows select."""
    fixed = {"encoding": "standard", "augment": None, "soft_target_weight": 0.5}
    return DistilledClassifier(
        teacher,
        hidden_layer_sizes=HIDDEN,
        lr=1e-3,
        batch_size=512,
        early_stopping=True,
        validation_fraction=0.1,
        categorical_features=categorical if len(categorical) else None,
        random_state=seed,
        n_threads=1,
        **{**fixed, **config["budget"], **params},
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


def grid_key(params):
    w = params["soft_target_weight"]
    return "label only" if w == 0 else f"T={params['temperature']:g}, w={w:g}"


def pick_settings(X_train, y_train, categorical, config, cache):
    """The recommended procedure on training rows only (cv=3, OOB soft targets).

    ``GridSearchCV`` over temperature and weight, then the first MUNGE factor at
    the picked values, cross-validated on the same rows and folds.
    """
    rows = min(config["grid_rows"], len(y_train))
    X_grid, y_grid = X_train[:rows], y_train[:rows]
    search = GridSearchCV(
        student(forest(), config, categorical, soft_targets="oob", memory=cache),
        GRID,
        cv=3,
        refit=False,
    ).fit(X_grid, y_grid)
    candidates = list(
        zip(
            search.cv_results_["params"],
            search.cv_results_["mean_test_score"].tolist(),
            strict=True,
        )
    )
    scores = {grid_key(params): score for params, score in candidates}
    best, _ = max(
        (item for item in candidates if item[0]["soft_target_weight"] > 0),
        key=lambda item: item[1],
    )
    with_munge = clone(search.estimator).set_params(
        **best, augment="munge", augment_factor=config["munge_factors"][0]
    )
    munge_score = float(cross_val_score(with_munge, X_grid, y_grid, cv=3).mean())
    return best["temperature"], best["soft_target_weight"], scores, rows, munge_score


def run_seed(data, seed, T, w, config, threads):
    """Every variant of one data set with the forest and students seeded ``seed``.

    Runs in a worker process, so it sets its own threads; the forests use one
    core each since seeds run side by side.
    """
    set_threads(threads)
    X_train, X_test, y_train, y_test, categorical = data
    start = time.perf_counter()
    teacher = forest(seed, n_jobs=1).fit(X_train, y_train)
    forest_seconds = time.perf_counter() - start
    reference = teacher.predict(X_test)

    def distilled(**params):
        return student(forest(seed, n_jobs=1), config, categorical, seed=seed, **params)

    variants = {
        "label only": student(
            None, config, categorical, seed=seed, soft_target_weight=0.0
        ),
        "predict": student(
            teacher,
            config,
            categorical,
            seed=seed,
            temperature=T,
            soft_target_weight=w,
            soft_targets="predict",
        ),
        "oob": distilled(temperature=T, soft_target_weight=w, soft_targets="oob"),
        "cross_fit (cv=3)": distilled(
            temperature=T, soft_target_weight=w, soft_targets="cross_fit", cv=3
        ),
        "default T, w, source (oob)": distilled(),
    }
    factor = config["munge_factors"][0]
    variants[f"label only, {1 + factor}x max_epochs"] = student(
        None,
        config,
        categorical,
        seed=seed,
        soft_target_weight=0.0,
        max_epochs=(1 + factor) * config["budget"]["max_epochs"],
    )
    variants[f"default + MUNGE {factor}x"] = distilled(
        augment="munge", augment_factor=factor
    )
    for factor in config["munge_factors"]:
        variants[f"oob + MUNGE {factor}x (grid T, w)"] = distilled(
            temperature=T,
            soft_target_weight=w,
            soft_targets="oob",
            augment="munge",
            augment_factor=factor,
        )
    measured = {
        label: evaluate(model, X_train, y_train, X_test, y_test, reference)
        for label, model in variants.items()
    }
    measured["forest (teacher)"] = {
        "accuracy": float(np.mean(reference == y_test)),
        "agreement": 1.0,
        "seconds": forest_seconds,
    }
    print(f"seed {seed}: {measured}", flush=True)
    return measured


def mean_sd(values):
    values = np.asarray(values)
    sd = values.std(ddof=1) if len(values) > 1 else float("nan")
    return f"{values.mean():.4f} ± {sd:.4f}" if len(values) > 1 else f"{values[0]:.4f}"


def paired_difference(values, baseline):
    """Mean difference to ``baseline`` over seeds, with its standard error."""
    difference = np.asarray(values) - np.asarray(baseline)
    if len(difference) == 1:
        return f"{difference[0]:+.4f}"
    se = difference.std(ddof=1) / np.sqrt(len(difference))
    return f"{difference.mean():+.4f} ± {se:.4f}"


def run_main(config, cache, results):
    rows, grid_rows, data_rows = [], [], []
    seeds = config["seeds"]
    factor = config["munge_factors"][0]
    for name in config["datasets"]:
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
        T, w, scores, n_grid, munge_score = pick_settings(
            X_train, y_train, categorical, config, cache
        )
        use_munge = (
            munge_score > scores[grid_key({"temperature": T, "soft_target_weight": w})]
        )
        grid_rows.append(
            [
                name,
                n_grid,
                f"T={T:g}, w={w:g}",
                *(f"{scores[k]:.4f}" for k in scores),
                f"{munge_score:.4f}",
                "MUNGE" if use_munge else "no MUNGE",
            ]
        )
        print(
            f"[{name}] grid picked T={T}, w={w}: {scores}; with MUNGE {munge_score}",
            flush=True,
        )

        data = (X_train, X_test, y_train, y_test, categorical)
        per_seed = Parallel(n_jobs=config["jobs"])(
            delayed(run_seed)(data, seed, T, w, config, config["threads"])
            for seed in seeds
        )
        labels = list(per_seed[0])
        labels = labels[-1:] + labels[:-1]
        by_label = {
            label: {
                key: [measured[label][key] for measured in per_seed]
                for key in per_seed[0][label]
            }
            for label in labels
        }
        chosen = f"oob + MUNGE {factor}x (grid T, w)" if use_munge else "oob"
        recommended = f"recommended (CV chose {chosen})"
        by_label[recommended] = by_label[chosen]
        labels.append(recommended)
        label_only = by_label["label only"]["accuracy"]
        forest_accuracy = by_label["forest (teacher)"]["accuracy"]
        for label in labels:
            m = by_label[label]
            is_student = label != "forest (teacher)"
            rows.append(
                [
                    name,
                    label,
                    mean_sd(m["accuracy"]),
                    mean_sd(m["agreement"]) if is_student else "1",
                    paired_difference(m["accuracy"], label_only)
                    if is_student and label != "label only"
                    else "-",
                    gap(
                        np.mean(m["accuracy"]),
                        np.mean(label_only),
                        np.mean(forest_accuracy),
                    )
                    if is_student and label != "label only"
                    else "-",
                    f"{np.mean(m['epochs']):.0f}" if is_student else "-",
                    f"{np.mean(m['seconds']):.1f}",
                ]
            )
        results["main"][name] = {
            "picked": {"temperature": T, "soft_target_weight": w},
            "grid": scores,
            "munge_cv_score": munge_score,
            "augment_chosen": "munge" if use_munge else None,
            "seeds": list(seeds),
            "variants": by_label,
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
            "OOB soft targets, seed 0), then MUNGE at the picked T, w on the same "
            "folds: mean validation accuracy",
            [
                "data set",
                "grid rows",
                "picked",
                *GRID_KEYS,
                f"picked + MUNGE {factor}x",
                "CV chose",
            ],
            grid_rows,
        ),
        (
            f"Test accuracy and agreement with the forest (mean ± sd over seeds "
            f"{', '.join(map(str, seeds))}), difference to the label-only student "
            "(mean ± standard error of the paired difference), gap recovered",
            [
                "data set",
                "model",
                "accuracy",
                "agreement",
                "vs label only",
                "gap recovered",
                "epochs",
                "fit s",
            ],
            rows,
        ),
    ]


GRID_KEYS = [grid_key(params) for params in ParameterGrid(GRID)]


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
                        soft_target_weight=SWEEP_W,
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
            f"w={SWEEP_W}: proba_eps='auto' (1e-300) vs 1e-6",
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
                soft_target_weight=SWEEP_W,
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
            f"w={SWEEP_W}",
            ["data set", "model", "T", "accuracy", "agreement", "gap recovered"],
            rows,
        )
    ]


AUTO = {"encoding": "auto", "augment": "auto", "soft_target_weight": "auto"}
FORMER_DEFAULT = "z-score, w=0.5 (former default)"
AUTO_LABEL = "default (auto)"


def run_auto_seed(data, seed, config, threads, cache):
    """The encodings, MUNGE and the automatic default, one seed."""
    set_threads(threads)
    X_train, X_test, y_train, y_test, categorical = data
    start = time.perf_counter()
    teacher = forest(seed, n_jobs=1).fit(X_train, y_train)
    forest_seconds = time.perf_counter() - start
    reference = teacher.predict(X_test)

    def distilled(memory=cache, **params):
        return student(
            forest(seed, n_jobs=1),
            config,
            categorical,
            seed=seed,
            memory=memory,
            **params,
        )

    ple = {"encoding": "piecewise_linear"}
    variants = {
        # The former default first: it fits the forest (OOB) and fills the cache.
        FORMER_DEFAULT: distilled(),
        AUTO_LABEL: distilled(memory=None, **AUTO),
        "label only, z-score": student(
            None, config, categorical, seed=seed, soft_target_weight=0.0
        ),
        "label only, PLE (quantile bins)": student(
            None, config, categorical, seed=seed, soft_target_weight=0.0, **ple
        ),
        "z-score, w=0.5, MUNGE 5x": distilled(augment="munge"),
        "PLE, w=0.5": distilled(**ple),
        "PLE, w=0.5, MUNGE 5x": distilled(augment="munge", **ple),
        f"{AUTO_LABEL}, fitted forest": student(
            teacher, config, categorical, seed=seed, **AUTO
        ),
    }
    measured = {}
    for label, model in variants.items():
        measured[label] = evaluate(model, X_train, y_train, X_test, y_test, reference)
        if model.selection_scores_ is not None:
            measured[label]["picked"] = _choice_label(model.selected_params_)
            measured[label]["selection_scores"] = model.selection_scores_
        print(f"seed {seed} {label}: {measured[label]}", flush=True)
    measured["forest (teacher)"] = {
        "accuracy": float(np.mean(reference == y_test)),
        "agreement": 1.0,
        "seconds": forest_seconds,
    }
    return measured


def _choice_label(params):
    from sklearn_kd.student._selection import Choice

    return Choice(**{key: params[key] for key in Choice.__dataclass_fields__}).label()


def on_every_seed(name, config, run_seed, *extra):
    """``run_seed(data, seed, config, threads, *extra)`` for each seed, side by
    side in ``config["jobs"]`` processes, on the data set capped at the
    automatic-default part's rows; and the data set's sizes."""
    X_train, X_test, y_train, y_test, categorical, info = load(
        name, config["auto_max_train"]
    )
    data = (X_train, X_test, y_train, y_test, categorical)
    per_seed = Parallel(n_jobs=config["jobs"])(
        delayed(run_seed)(data, seed, config, config["threads"], *extra)
        for seed in config["seeds"]
    )
    return per_seed, info


def run_auto(config, cache, results):
    rows, verdicts = [], []
    seeds = config["seeds"]
    for name in config["auto_datasets"]:
        per_seed, info = on_every_seed(name, config, run_auto_seed, cache)
        labels = ["forest (teacher)"] + [
            k for k in per_seed[0] if k != "forest (teacher)"
        ]
        by_label = {
            label: {
                key: [measured[label][key] for measured in per_seed]
                for key in ("accuracy", "agreement", "seconds")
            }
            for label in labels
        }
        accuracy = {label: np.asarray(by_label[label]["accuracy"]) for label in labels}
        baseline_label = max(
            ("label only, z-score", "label only, PLE (quantile bins)"),
            key=lambda label: accuracy[label].mean(),
        )
        baseline = accuracy[baseline_label]
        forest_accuracy = accuracy["forest (teacher)"]
        lead = forest_accuracy - baseline
        lead_se = lead.std(ddof=1) / np.sqrt(len(lead)) if len(lead) > 1 else 0.0
        former_seconds = np.mean(by_label[FORMER_DEFAULT]["seconds"])
        for label in labels:
            m = by_label[label]
            is_student = label != "forest (teacher)"
            picks = [measured[label].get("picked") for measured in per_seed]
            picks = [pick for pick in picks if pick]
            rows.append(
                [
                    name,
                    label + (" (baseline)" if label == baseline_label else ""),
                    mean_sd(m["accuracy"]),
                    mean_sd(m["agreement"]) if is_student else "1",
                    paired_difference(m["accuracy"], baseline)
                    if is_student and label != baseline_label
                    else "-",
                    gap(np.mean(m["accuracy"]), baseline.mean(), forest_accuracy.mean())
                    if is_student and label != baseline_label
                    else "-",
                    f"{np.mean(m['seconds']):.1f}",
                    f"{np.mean(m['seconds']) / former_seconds:.1f}x"
                    if is_student
                    else "-",
                    ", ".join(f"{picks.count(p)}x {p}" for p in dict.fromkeys(picks))
                    or "-",
                ]
            )
        default = accuracy[AUTO_LABEL]
        difference = default - baseline
        difference_se = (
            difference.std(ddof=1) / np.sqrt(len(difference))
            if len(difference) > 1
            else 0
        )
        if lead.mean() > 2 * lead_se and lead.mean() > 0:
            recovered = difference.mean() / lead.mean()
            target = "recover >= 50% of the forest's lead"
            verdict = (
                f"{recovered:.0%} recovered: {'met' if recovered >= 0.5 else 'missed'}"
            )
        else:
            target = "no worse than the baseline by more than 1 SE"
            verdict = (
                f"{difference.mean():+.4f} ± {difference_se:.4f}: "
                f"{'met' if difference.mean() >= -difference_se else 'missed'}"
            )
        verdicts.append(
            [
                name,
                f"{lead.mean():+.4f} ± {lead_se:.4f}",
                target,
                verdict,
                f"{np.mean(by_label[AUTO_LABEL]['seconds']) / former_seconds:.1f}x",
            ]
        )
        results["auto"][name] = {
            "seeds": list(seeds),
            "variants": by_label,
            "picks": {
                label: [measured[label].get("picked") for measured in per_seed]
                for label in labels
            },
            "selection_scores": [
                measured[AUTO_LABEL].get("selection_scores") for measured in per_seed
            ],
            **info,
        }
    return [
        (
            "Targets of the automatic default (forest lead over the better label-only "
            "student, mean ± standard error over seeds)",
            [
                "data set",
                "forest lead",
                "target",
                "default",
                "fit time vs former default",
            ],
            verdicts,
        ),
        (
            f"Encodings, MUNGE and the automatic default: test accuracy (mean ± sd "
            f"over seeds {', '.join(map(str, seeds))}), difference to the better "
            "label-only student (mean ± standard error of the paired difference), gap "
            "recovered, fit seconds and their multiple of the former default's, and "
            "what the default picked",
            [
                "data set",
                "model",
                "accuracy",
                "agreement",
                "vs baseline",
                "gap recovered",
                "fit s",
                "fit time",
                "picked",
            ],
            rows,
        ),
    ]


GBDT_TEACHERS = ("LightGBM", "XGBoost")
GBDT_NOTE = (
    "GBDT part: LGBMClassifier() and XGBClassifier() at their defaults (n_jobs=1, "
    "random_state the seed), fitted on the training rows (labels coded 0..k-1) "
    "and passed fitted; each default student is the automatic default, read "
    "through the teacher's raw margins. Fit seconds of a student exclude its "
    "teacher's fit."
)


def gbdt_teacher(name, seed):
    """``LGBMClassifier()`` or ``XGBClassifier()`` at their defaults, one thread."""
    if name == "LightGBM":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(random_state=seed, n_jobs=1, verbose=-1)
    from xgboost import XGBClassifier

    return XGBClassifier(random_state=seed, n_jobs=1)


def run_gbdt_seed(data, seed, config, threads):
    """GBDT teachers (fitted, at their defaults) and the default students they
    teach, beside the label-only students, one seed."""
    set_threads(threads)
    X_train, X_test, y_train, y_test, categorical = data
    labels = np.unique(y_train)
    codes_train = np.searchsorted(labels, y_train)  # XGBoost wants 0..k-1
    measured = {}
    for name in GBDT_TEACHERS:
        start = time.perf_counter()
        teacher = gbdt_teacher(name, seed).fit(X_train, codes_train)
        seconds = time.perf_counter() - start
        predicted = labels[np.asarray(teacher.predict(X_test)).ravel().astype(int)]
        measured[f"{name} (teacher)"] = {
            "accuracy": float(np.mean(predicted == y_test)),
            "agreement": 1.0,
            "seconds": seconds,
        }
        model = student(teacher, config, categorical, seed=seed, **AUTO)
        measured[f"{AUTO_LABEL}, {name}-taught"] = evaluate(
            model,
            X_train,
            codes_train,
            X_test,
            np.searchsorted(labels, y_test),
            teacher.predict(X_test),
        )
    ple = {"encoding": "piecewise_linear"}
    for label, params in [("label only, z-score", {}), ("label only, PLE", ple)]:
        model = student(
            None, config, categorical, seed=seed, soft_target_weight=0.0, **params
        )
        measured[label] = evaluate(model, X_train, y_train, X_test, y_test, y_test)
    print(f"seed {seed}: {measured}", flush=True)
    return measured


def run_gbdt(config, cache, results):
    rows, verdicts = [], []
    seeds = config["seeds"]
    for name in config["auto_datasets"]:
        per_seed, info = on_every_seed(name, config, run_gbdt_seed)
        accuracy = {
            label: np.array([measured[label]["accuracy"] for measured in per_seed])
            for label in per_seed[0]
        }
        seconds = {
            label: np.mean([measured[label]["seconds"] for measured in per_seed])
            for label in per_seed[0]
        }
        baseline_label = max(
            ("label only, z-score", "label only, PLE"),
            key=lambda label: accuracy[label].mean(),
        )
        baseline = accuracy[baseline_label]
        for label in accuracy:
            rows.append(
                [
                    name,
                    label + (" (baseline)" if label == baseline_label else ""),
                    mean_sd(accuracy[label]),
                    paired_difference(accuracy[label], baseline)
                    if label != baseline_label
                    else "-",
                    f"{seconds[label]:.1f}",
                ]
            )
        for teacher in GBDT_TEACHERS:
            lead = accuracy[f"{teacher} (teacher)"] - baseline
            lead_se = lead.std(ddof=1) / np.sqrt(len(lead)) if len(lead) > 1 else 0.0
            gained = accuracy[f"{AUTO_LABEL}, {teacher}-taught"] - baseline
            if lead.mean() > 2 * lead_se and lead.mean() > 0:
                recovered = gained.mean() / lead.mean()
                verdict = f"{recovered:.0%}: {'met' if recovered >= 0.75 else 'missed'}"
            else:
                verdict = f"no lead to recover ({gained.mean():+.4f})"
            verdicts.append(
                [name, teacher, f"{lead.mean():+.4f} ± {lead_se:.4f}", verdict]
            )
        results["gbdt"][name] = {"seeds": list(seeds), "per_seed": per_seed, **info}
    return [
        (
            "GBDT teachers: share of the teacher's lead over the better label-only "
            "student that the default recovers (target >= 75% where the lead exceeds "
            "2 standard errors)",
            ["data set", "teacher", "teacher lead", "recovered"],
            verdicts,
        ),
        (
            f"GBDT teachers at their defaults and the default students they teach: "
            f"test accuracy (mean ± sd over seeds {', '.join(map(str, seeds))}), "
            "difference to the better label-only student (paired), fit seconds",
            ["data set", "model", "accuracy", "vs baseline", "fit s"],
            rows,
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one data set, small")
    parser.add_argument("--parts", default="auto,main,sweep,hgb")
    parser.add_argument("--datasets", nargs="+", help="override the main data sets")
    parser.add_argument(
        "--auto-datasets", nargs="+", help="override the auto and gbdt parts' sets"
    )
    parser.add_argument("--max-train", type=int, help="cap on training rows")
    parser.add_argument("--munge-factors", type=int, nargs="*", help="MUNGE factors")
    parser.add_argument("--seeds", type=int, nargs="+", help="forest/student seeds")
    parser.add_argument(
        "--jobs", type=int, default=2, help="seeds run side by side in processes"
    )
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    config = dict(QUICK if args.quick else FULL)
    if args.datasets:
        config["datasets"] = args.datasets
    if args.auto_datasets:
        config["auto_datasets"] = args.auto_datasets
    if args.max_train:
        config["max_train"] = args.max_train
    if args.munge_factors is not None:
        config["munge_factors"] = tuple(args.munge_factors)
    if args.seeds:
        config["seeds"] = tuple(args.seeds)
    config["jobs"], config["threads"] = args.jobs, args.threads
    if not data_dir().is_dir():
        print(f"Data folder {data_dir()} not found (set SKLEARN_KD_DATA); skipping.")
        return
    set_threads(args.threads)
    info = machine()
    parts = args.parts.split(",")
    runners = {
        "main": run_main,
        "sweep": run_sweep,
        "hgb": run_hgb,
        "auto": run_auto,
        "gbdt": run_gbdt,
    }
    results = {part: {} for part in parts}
    tables = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        for part in parts:
            tables += runners[part](config, cache, results)
    seconds = time.perf_counter() - start
    budget = config["budget"]
    notes = [
        f"Training rows capped at {config['max_train']} ({config['auto_max_train']} "
        "in the encodings and automatic-default part) by a stratified subsample of "
        "the 75% training split where a data set has more, for time on a shared "
        "2-core CPU; the test split is kept whole.",
        f"Every student: MLP {HIDDEN}, Adam lr=1e-3, batch 512, early stopping "
        f"(validation_fraction=0.1, n_iter_no_change={budget['n_iter_no_change']}), "
        f"max_epochs={budget['max_epochs']}; in the main table random_state is the "
        f"seed, elsewhere {SEED}.",
        f"Teacher: RandomForestClassifier({N_TREES}) with random_state the seed; "
        "categorical columns are one-hot encoded inside the student.",
        "predict, oob and cross_fit use the temperature and weight the grid picked; "
        "'default T, w, source' is an unfitted forest with the library's default "
        "distillation settings (T=1, w=0.5, soft_targets='auto', i.e. OOB); 'default "
        "+ MUNGE' adds only augment='munge' and augment_factor to it, 'oob + MUNGE' "
        "adds them to the oob row.",
        "MUNGE students see (1 + factor) times the rows, hence gradient steps, per "
        "epoch; the row 'label only, (1 + factor)x max_epochs' gives the label-only "
        "student as many steps as MUNGE's first factor allows.",
        "The test split (seed 0) and the training subsample are the same for every "
        "seed, so seed-to-seed spread is the training randomness of forest and "
        "student; differences are paired by seed.",
        f"Total run time {seconds / 60:.1f} min.",
    ]
    if "gbdt" in parts:
        notes.insert(3, GBDT_NOTE)
    name = "soft_targets" if len(parts) == 4 else "soft_targets_" + "_".join(parts)
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

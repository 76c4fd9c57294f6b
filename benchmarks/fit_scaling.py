"""Fit time of DistilledClassifier against the number of rows.

Synthetic rows with 20 features and a fixed number of epochs: the student's fit
should grow linearly with the rows, i.e. the seconds per 100k rows should stay
flat. The teacher, a logistic regression fitted beforehand, costs little; its
query time is reported apart. Sizes run interleaved, best of 3.

Usage: ``python benchmarks/fit_scaling.py [--quick] [--threads N]``.
"""

import argparse
import resource
from functools import partial

from _common import Stopwatch, interleaved_best, machine, report, set_threads
from _teachers import TimedLogisticRegression
from sklearn.datasets import make_classification

from sklearn_kd import DistilledClassifier

N_FEATURES = 20
EPOCHS = 2
FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 50_000, 200_000)


def hidden_layer_sizes(estimator):
    layers = estimator.student_.module_.network.layers
    return [layer.out_features for layer in layers if hasattr(layer, "out_features")][
        :-1
    ]


def fit(X, y, teacher):
    TimedLogisticRegression.reset_clock()
    estimator = DistilledClassifier(
        teacher,
        max_epochs=EPOCHS,
        response_method="decision_function",
        encoding="standard",
        augment=None,
        soft_target_weight=0.5,
        random_state=0,
    )
    with Stopwatch() as watch:
        estimator.fit(X, y)
    return {
        "seconds": watch.seconds,
        "cpu_seconds": watch.cpu_seconds,
        "teacher_seconds": TimedLogisticRegression.seconds,
        "hidden": hidden_layer_sizes(estimator),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="up to 200k rows")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op and BLAS threads (default 1; 0 keeps the defaults)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    set_threads(args.threads or None)
    info = machine()
    sizes = QUICK_SIZES if args.quick else FULL_SIZES

    X, y = make_classification(
        max(sizes), N_FEATURES, n_informative=10, n_classes=2, random_state=0
    )
    teacher = TimedLogisticRegression(max_iter=500).fit(X[:100_000], y[:100_000])
    best = interleaved_best(
        {n_rows: partial(fit, X[:n_rows], y[:n_rows], teacher) for n_rows in sizes},
        repeats=args.repeats,
    )

    largest = best[max(sizes)]
    rows = []
    for n_rows, result in best.items():
        per_100k = {
            key: result[key] * 1e5 / n_rows
            for key in ("seconds", "cpu_seconds", "teacher_seconds")
        }
        rows.append(
            [
                f"{n_rows:,}",
                result["seconds"],
                result["cpu_seconds"],
                result["teacher_seconds"],
                per_100k["seconds"],
                per_100k["cpu_seconds"],
                per_100k["cpu_seconds"] / (largest["cpu_seconds"] * 1e5 / max(sizes)),
            ]
        )
    columns = [
        "rows",
        "fit wall s",
        "fit CPU s",
        "teacher queries s",
        "wall s per 100k rows",
        "CPU s per 100k rows",
        f"CPU per row vs {max(sizes):,} rows",
    ]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    notes = [
        f"make_classification, {N_FEATURES} features, 2 classes; "
        f"DistilledClassifier defaults (MLP {tuple(largest['hidden'])}, batch "
        f"256) with max_epochs={EPOCHS}; best of {args.repeats} interleaved runs.",
        "Fit times include the teacher's queries (a LogisticRegression fitted "
        "beforehand on 100k rows), shown apart.",
        f"Peak resident memory of the process: {peak_mb:,.0f} MB.",
        "Linear growth: CPU s per 100k rows flat, i.e. the last column near 1 "
        "(fixed per-fit costs show up at the smallest size).",
    ]
    report(
        "fit_scaling",
        "Fit time against rows",
        [("", columns, rows)],
        info,
        quick=args.quick,
        notes=notes,
        extra={"sizes": {str(key): value for key, value in best.items()}},
    )


if __name__ == "__main__":
    main()

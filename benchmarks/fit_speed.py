"""Training speed of DistilledClassifier against a hand-written PyTorch loop.

For each data size, in the same run and interleaved (best of 5):

* **hand loop**: the same ``sklearn_kd.MLP`` on standardised inputs, Adam, the same
  learning rate, epochs and batch size; each epoch draws one permutation and
  slices mini-batches from tensors; the loss is ``DistillationLoss`` on the same
  packed targets.
* **hand loop + encoder**: the same loop around the library's whole student module,
  its input encoder fitted and the inputs encoded once, as ``DistilledClassifier``
  trains it: the difference to the library is skorch's overhead.
* **DistilledClassifier.fit**: the whole fit, with a logistic-regression teacher
  fitted beforehand; its query time is measured and reported apart, and the
  ratio uses the student part (fit time minus teacher time).
* **skorch default**: a plain ``NeuralNetClassifier`` with its ``Dataset`` +
  ``DataLoader`` path, same module, loss, optimizer and settings, for reference.

Usage: ``python benchmarks/fit_speed.py [--quick] [--threads N] [--repeats N]``.
Where a default fit's time goes (stages, cProfile) is ``fit_cost.py``'s.
"""

import argparse
from functools import partial

import numpy as np
import torch
from _common import Stopwatch, interleaved_best, machine, report, set_threads
from _teachers import TimedLogisticRegression
from sklearn.datasets import make_classification
from skorch import NeuralNetClassifier

from sklearn_kd import MLP, DistilledClassifier
from sklearn_kd._loss import DistillationLoss, loss_coefficients, pack_targets
from sklearn_kd._probability import softmax
from sklearn_kd._student import InputEncoder, StudentModule

TEMPERATURE = 2.0
SOFT_TARGET_WEIGHT = 0.7
LR = 1e-3
BATCH_SIZE = 256

# (rows, features, classes, hidden layers, epochs, torch threads); None threads
# take --threads.
FULL_CASES = [
    (10_000, 50, 4, (64,), 20, None),
    (200_000, 50, 4, (64,), 3, None),
    (40_000, 126, 4, (128, 64), 10, None),
    (30_000, 50, 5, (64,), 4, 2),
]
QUICK_CASES = [
    (10_000, 50, 4, (64,), 5, None),
    (50_000, 50, 4, (64,), 1, None),
    (10_000, 126, 4, (128, 64), 3, None),
    (10_000, 50, 5, (64,), 2, 2),
]


def make_case(n_rows, n_features, n_classes):
    X, y = make_classification(
        n_rows,
        n_features,
        n_informative=min(20, n_features // 2),
        n_classes=n_classes,
        random_state=0,
    )
    teacher = TimedLogisticRegression(max_iter=300).fit(X, y)
    soft = softmax(teacher.decision_function(X), TEMPERATURE)
    c_soft, c_hard = loss_coefficients(
        np.ones(len(y)), np.ones(len(y), bool), SOFT_TARGET_WEIGHT
    )
    packed = pack_targets(soft, y.astype(np.float64), c_soft, c_hard)
    return X, y, teacher, packed


def hand_loop(X, packed, hidden, epochs, *, encoder):
    """Train like a hand-written PyTorch script; return seconds and last loss."""
    with Stopwatch() as watch:
        loss = _hand_loop(X, packed, hidden, epochs, encoder)
    return {"seconds": watch.seconds, "cpu_seconds": watch.cpu_seconds, "loss": loss}


def _hand_loop(X, packed, hidden, epochs, encoder):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    n_classes = packed.shape[1] - 3
    if encoder:
        # The library's student module; its encoder does not learn, so the
        # inputs are encoded once, as DistilledClassifier.fit does.
        module = StudentModule(
            InputEncoder.from_data(X),
            MLP(X.shape[1], n_classes, hidden_layer_sizes=hidden),
            n_classes,
        )
        with torch.no_grad():
            inputs = module.encoder(torch.as_tensor(X, dtype=torch.float32))
        network = partial(module, encoded=True)
    else:
        module = MLP(X.shape[1], n_classes, hidden_layer_sizes=hidden)
        scaled = (X - X.mean(axis=0)) / X.std(axis=0)
        inputs = torch.as_tensor(scaled, dtype=torch.float32)
        network = module
    targets = torch.as_tensor(packed)
    optimizer = torch.optim.Adam(module.parameters(), lr=LR)
    criterion = DistillationLoss(TEMPERATURE, soft_target_weight=SOFT_TARGET_WEIGHT)
    module.train()
    for _ in range(epochs):
        order = torch.randperm(len(inputs), generator=generator)
        epoch_inputs, epoch_targets = inputs[order], targets[order]
        losses = []
        for begin in range(0, len(inputs), BATCH_SIZE):
            optimizer.zero_grad()
            loss = criterion(
                network(epoch_inputs[begin : begin + BATCH_SIZE]),
                epoch_targets[begin : begin + BATCH_SIZE],
            )
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return float(np.mean(losses))


def distilled(X, y, teacher, hidden, epochs):
    """Fit DistilledClassifier; seconds of the whole fit and of the teacher."""
    estimator = DistilledClassifier(
        teacher,
        temperature=TEMPERATURE,
        soft_target_weight=SOFT_TARGET_WEIGHT,
        encoding="standard",
        augment=None,
        hidden_layer_sizes=hidden,
        max_epochs=epochs,
        batch_size=BATCH_SIZE,
        lr=LR,
        response_method="decision_function",
        random_state=0,
    )
    TimedLogisticRegression.reset_clock()
    with Stopwatch() as watch:
        estimator.fit(X, y)
    return {
        "seconds": watch.seconds - TimedLogisticRegression.seconds,
        "cpu_seconds": watch.cpu_seconds - TimedLogisticRegression.cpu_seconds,
        "total_seconds": watch.seconds,
        "teacher_seconds": TimedLogisticRegression.seconds,
        "teacher_cpu_seconds": TimedLogisticRegression.cpu_seconds,
        "loss": float(estimator.student_.history[-1, "train_loss"]),
    }


def skorch_default(X, packed, hidden, epochs):
    """A default NeuralNetClassifier (Dataset + DataLoader) on the same task."""
    torch.manual_seed(0)
    n_classes = packed.shape[1] - 3
    scaled = ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)
    net = NeuralNetClassifier(
        MLP,
        module__n_features_in=X.shape[1],
        module__n_classes=n_classes,
        module__hidden_layer_sizes=hidden,
        criterion=DistillationLoss,
        criterion__temperature=TEMPERATURE,
        criterion__soft_target_weight=SOFT_TARGET_WEIGHT,
        optimizer=torch.optim.Adam,
        lr=LR,
        max_epochs=epochs,
        batch_size=BATCH_SIZE,
        iterator_train__shuffle=True,
        train_split=None,
        classes=list(range(n_classes)),
        verbose=0,
    )
    with Stopwatch() as watch:
        net.fit(scaled, packed)
    return {
        "seconds": watch.seconds,
        "cpu_seconds": watch.cpu_seconds,
        "loss": float(net.history[-1, "train_loss"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, ~1 min")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op and BLAS threads (default 1: stable on a shared machine; "
        "0 keeps the defaults)",
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    set_threads(args.threads or None)
    info = machine()

    records, tables = [], {"seconds": [], "cpu_seconds": []}
    cases = QUICK_CASES if args.quick else FULL_CASES
    for n_rows, n_features, n_classes, hidden, epochs, threads in cases:
        threads = set_threads(threads or args.threads or None)
        X, y, teacher, packed = make_case(n_rows, n_features, n_classes)
        contenders = {
            "hand": partial(hand_loop, X, packed, hidden, epochs, encoder=False),
            "hand_encoder": partial(hand_loop, X, packed, hidden, epochs, encoder=True),
            "distilled": partial(distilled, X, y, teacher, hidden, epochs),
            "skorch": partial(skorch_default, X, packed, hidden, epochs),
        }
        best = interleaved_best(contenders, repeats=args.repeats)
        batches_per_epoch = -(-n_rows // BATCH_SIZE)
        records.append(
            {
                "rows": n_rows,
                "features": n_features,
                "classes": n_classes,
                "threads": threads,
                "hidden": list(hidden),
                "epochs": epochs,
                "batches": epochs * batches_per_epoch,
                **best,
            }
        )
        for clock, rows in tables.items():
            hand, encoded, student, skorch = (
                best[name][clock]
                for name in ("hand", "hand_encoder", "distilled", "skorch")
            )
            rows.append(
                [
                    f"{n_rows:,} x {n_features}, {n_classes} classes",
                    threads,
                    str(hidden),
                    epochs,
                    hand,
                    encoded,
                    student,
                    best["distilled"][f"teacher_{clock}"],
                    student / hand,
                    student / encoded,
                    skorch,
                    skorch / hand,
                ]
            )
        print(tables["cpu_seconds"][-1], flush=True)

    columns = [
        "data",
        "torch threads",
        "MLP",
        "epochs",
        "hand loop s",
        "hand loop + encoder s",
        "DistilledClassifier student s",
        "teacher queries s",
        "ratio vs hand",
        "ratio vs hand + encoder",
        "skorch default s",
        "skorch default / hand",
    ]
    notes = [
        f"Best of {args.repeats} interleaved runs; batch size {BATCH_SIZE}, Adam "
        f"lr={LR}, T={TEMPERATURE}, w={SOFT_TARGET_WEIGHT}, synthetic data "
        "(make_classification).",
        "DistilledClassifier student = whole fit minus the teacher's query time "
        "(a LogisticRegression fitted beforehand); it includes input validation, "
        "target packing, the encoder's statistics and skorch's set-up.",
        "hand loop + encoder trains the library's whole student module: the "
        "encoder's statistics are computed and the inputs encoded once (in the "
        "timing), as DistilledClassifier.fit does.",
        "CPU seconds are this process's CPU time: with one torch thread they are "
        "the work done, and barely move with other jobs' load; wall seconds do.",
        "ratio vs hand + encoder isolates skorch's share (its per-batch "
        "callbacks, history and closures, and the fit's set-up); hand + encoder "
        "/ hand is the input encoding's share.",
        "Target: ratio vs hand <= 1.1.",
    ]
    report(
        "fit_speed",
        "Fit speed: DistilledClassifier vs a hand-written PyTorch loop",
        [
            ("Wall seconds", columns, tables["seconds"]),
            ("CPU seconds", columns, tables["cpu_seconds"]),
        ],
        info,
        quick=args.quick,
        notes=notes,
        extra={"cases": records},
    )


if __name__ == "__main__":
    main()

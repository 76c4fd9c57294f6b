"""Automatic choice of the student's encoding, MUNGE and soft-target weight.

With ``encoding``, ``augment`` or ``soft_target_weight`` left at ``"auto"``,
``fit`` chooses them itself, on the training rows only:

1. the teacher is fitted and queried once, MUNGE rows made once, for every
   candidate (see the estimator's teacher stage);
2. a stratified share of the labelled real rows is held out; neither they nor
   the synthetic rows made from them are trained on;
3. every candidate (a fixed list: the encodings, with and without MUNGE, at a
   soft-target weight, and the label-only student of each encoding) trains on
   the other rows on a reduced budget (fewer epochs and at most a fixed number
   of real rows);
4. the cheapest candidate (rows times weights) whose held-out loss is within
   one standard error of the best one's wins (the one-standard-error rule:
   a costlier candidate must win clearly), and the student is trained on all
   rows with its settings.

A parameter given explicitly is never searched. With too few labelled rows to
validate, nothing is searched and the fixed fallbacks are used.
"""

from dataclasses import asdict, dataclass

import numpy as np

from ._student import predict_logits

#: The settings used when nothing is searched: too few labelled rows, or the
#: parameter is not ``"auto"``.
FALLBACK = {"encoding": "standard", "augment": None, "soft_target_weight": 0.5}
#: Fewer labelled rows than this: no selection.
MIN_LABELLED_ROWS = 500
#: Share of the labelled rows held out to score the candidates.
VALIDATION_FRACTION = 0.2
#: Candidates train for this share of ``max_epochs`` (at least one epoch) ...
EPOCH_SHARE = 0.5
#: ... on at most this many real rows.
MAX_CANDIDATE_ROWS = 2000
ENCODING_CANDIDATES = ("standard", "piecewise_linear")
AUGMENT_CANDIDATES = (None, "munge")
WEIGHT_CANDIDATES = (0.5,)


@dataclass(frozen=True)
class Choice:
    """Resolved settings of one student."""

    encoding: str
    augment: str | None
    soft_target_weight: float

    def label(self):
        parts = [self.encoding]
        if self.soft_target_weight == 0:
            parts.append("labels only")
        else:
            parts.append(f"w={self.soft_target_weight:g}")
            parts.append("MUNGE" if self.augment else "no MUNGE")
        return ", ".join(parts)

    def as_dict(self):
        return asdict(self)


def searched(estimator):
    """Names of the parameters left at ``"auto"`` (to be chosen by ``fit``)."""
    names = ("encoding", "augment", "soft_target_weight")
    return [name for name in names if getattr(estimator, name) == "auto"]


def fixed_choice(estimator, has_teacher):
    """The settings when nothing is searched: explicit values, else fallbacks."""
    values = {}
    for name, fallback in FALLBACK.items():
        value = getattr(estimator, name)
        values[name] = fallback if value == "auto" else value
    if not has_teacher and estimator.soft_target_weight == "auto":
        values["soft_target_weight"] = 0.0
    if values["soft_target_weight"] == 0:
        values["augment"] = None
    return Choice(**values)


def candidates(estimator, has_teacher):
    """The candidate list: the product of the searched parameters' options.

    The label-only student of every encoding is always a candidate when the
    weight is searched, so that a teacher worse than its student cannot drag
    the choice below training on labels alone. Label-only students take no
    synthetic rows (they would carry no loss).
    """
    fixed = fixed_choice(estimator, has_teacher)
    encodings = (
        ENCODING_CANDIDATES if estimator.encoding == "auto" else (fixed.encoding,)
    )
    augments = AUGMENT_CANDIDATES if estimator.augment == "auto" else (fixed.augment,)
    if estimator.soft_target_weight == "auto" and has_teacher:
        weights = (0.0, *WEIGHT_CANDIDATES)
    else:
        weights = (fixed.soft_target_weight,)
    found = []
    for weight in weights:
        for encoding in encodings:
            for augment in augments:
                choice = Choice(encoding, None if weight == 0 else augment, weight)
                if choice not in found:
                    found.append(choice)
    return found


def can_select(estimator, n_labelled, has_teacher):
    """Whether ``fit`` searches at all."""
    return (
        n_labelled >= MIN_LABELLED_ROWS and len(candidates(estimator, has_teacher)) > 1
    )


def select(estimator, transfer, data, stage, seed, progress):
    """Train the candidates on part of the rows, score them on the rest.

    Returns
    -------
    choice : Choice
        The winner.
    scores : dict of str -> float
        Each candidate's held-out log loss, by its label.
    """
    rng = np.random.RandomState(seed)
    train, valid = transfer.hold_out(
        VALIDATION_FRACTION, rng, stratify=estimator._stratify, labelled_only=True
    )
    train_real = train[train < transfer.n_real]
    if len(train_real) > MAX_CANDIDATE_ROWS:
        train_real = np.sort(rng.choice(train_real, MAX_CANDIDATE_ROWS, replace=False))
    epochs = max(1, int(round(EPOCH_SHARE * estimator.max_epochs)))
    valid_labels = transfer.labels[valid]
    valid_weights = transfer.sample_weight[valid]
    X_valid = transfer.X[valid].astype(np.float32)
    losses, costs = {}, {}
    options = candidates(estimator, stage.logits is not None)
    with progress.stage("selection") as said:
        bar = progress.bar(len(options), "choosing the student", "candidate")
        for choice in options:
            rows = transfer.rows_from(train_real) if choice.augment else train_real
            net = estimator._train_student(
                transfer.take(rows), data, stage, choice, seed, max_epochs=epochs
            )
            costs[choice] = training_cost(net, len(rows))
            output = predict_logits(net.module_, X_valid, device=net.device)
            losses[choice] = estimator._validation_losses(
                output, valid_labels, valid_weights, stage
            )
            bar.update()
        bar.close()
        chosen = one_standard_error_choice(losses, costs, valid_weights)
        scores = {
            choice.label(): float(np.average(loss, weights=valid_weights))
            for choice, loss in losses.items()
        }
        said.append(
            f"{len(options)} candidates on {len(train_real)} rows for {epochs} "
            f"epochs, scored on {len(valid)} held-out rows: "
            + "; ".join(f"{label} {score:.4f}" for label, score in scores.items())
            + f"; chose {chosen.label()}"
        )
    return chosen, scores


def training_cost(net, n_rows):
    """A candidate's training cost: rows trained on times the network's weights
    (about its arithmetic per epoch). Deterministic, unlike a measured time, so
    the choice does not depend on the machine's load."""
    return n_rows * sum(parameter.numel() for parameter in net.module_.parameters())


def one_standard_error_choice(losses, costs, sample_weight):
    """The cheapest candidate within one standard error of the best.

    A candidate qualifies when its mean held-out loss exceeds the best one's by
    at most the standard error of that difference (paired over the held-out
    rows, weighted): on a small hold-out, a costlier candidate must win clearly
    to be chosen. Cost is each candidate's measured training time.
    """
    weight = sample_weight / sample_weight.sum()
    means = {choice: float(weight @ loss) for choice, loss in losses.items()}
    best = min(means, key=means.get)
    n_rows = len(weight)
    qualified = []
    for choice, loss in losses.items():
        difference = loss - losses[best]
        mean = float(weight @ difference)
        variance = float(weight @ (difference - mean) ** 2)
        error = np.sqrt(variance / max(n_rows - 1, 1))
        if mean <= error:
            qualified.append(choice)
    return min(qualified, key=costs.get)

"""Automatic choice of the student's encoding, MUNGE and soft-target weight.

With ``encoding``, ``augment`` or ``soft_target_weight`` left at ``"auto"``,
``fit`` chooses them itself, on the training rows only:

1. the teacher is fitted and queried once, MUNGE rows made once, for every
   candidate (see the estimator's teacher stage);
2. a stratified share of the labelled real rows is held out; neither they nor
   the synthetic rows made from them are trained on;
3. every candidate (a fixed list: the encodings, with and without MUNGE, at a
   soft-target weight, and the label-only student of each encoding) trains on
   the other rows on a reduced budget (part of the training budget, on at most
   a fixed number of real rows), in two rounds of successive halving: all
   train for a third of their epochs, then the better half by held-out loss
   (with the best label-only candidate, whatever its rank) trains on to the
   whole;
4. among those, the cheapest candidate (rows times weights) whose held-out
   loss is within one standard error of the best one's wins (the
   one-standard-error rule: a costlier candidate must win clearly; among
   equally cheap ones the fallback, a distilled student, comes first), and the
   student is trained on all rows with its settings.

The rule has no row count at which it switches: from a hold-out of
:data:`MIN_VALIDATION_ROWS` rows on it always runs, and on a small hold-out the
standard error is wide, so the cheapest candidate, the fallback, wins unless
another is clearly better. A grid-search fold therefore trains the kind of
student its refit trains. MUNGE is a candidate up to :data:`MUNGE_MAX_ROWS`
real rows: beyond, real rows are plentiful and the synthetic ones would
multiply the work for little. A parameter given explicitly is never searched.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

from ._budget import resolved_budget
from ._input_offset import student_rows
from ._network import predict_logits

#: The settings used when nothing is searched: too few labelled rows, or the
#: parameter is not ``"auto"``.
FALLBACK = {"encoding": "standard", "augment": None, "soft_target_weight": 0.5}
#: Share of the labelled rows held out to score the candidates ...
VALIDATION_FRACTION = 0.2
#: ... and the fewest held-out rows that say anything (so the selection needs
#: 50 labelled rows of positive weight).
MIN_VALIDATION_ROWS = 10
#: Candidates train for this share of the training budget (at least one epoch)
#: on at most this many real rows: on training-row probes of adult, connect_4
#: and fars (``benchmarks/selection_probe.py``) this budget picked the same
#: candidates as a full one, in half the time of 50% on 2,000 rows.
EPOCH_SHARE = 0.25
MAX_CANDIDATE_ROWS = 3000
#: Every candidate first trains for this share of its epochs; the better half
#: then trains on to the whole (successive halving, see :func:`second_round`).
FIRST_ROUND_SHARE = 1 / 3
#: MUNGE is searched up to this many real rows.
MUNGE_MAX_ROWS = 20_000
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


def candidates(estimator, has_teacher, n_rows=0):
    """The candidate list: the product of the searched parameters' options.

    The label-only student of every encoding is always a candidate when the
    weight is searched, so that a teacher worse than its student cannot drag
    the choice below training on labels alone. Label-only students take no
    synthetic rows (they would carry no loss). MUNGE is searched only on up to
    :data:`MUNGE_MAX_ROWS` real rows (``n_rows``). The fallback comes first, so
    that it wins ties of cost.
    """
    fixed = fixed_choice(estimator, has_teacher)
    encodings = (
        ENCODING_CANDIDATES if estimator.encoding == "auto" else (fixed.encoding,)
    )
    augments = (fixed.augment,)
    if estimator.augment == "auto" and n_rows <= MUNGE_MAX_ROWS:
        augments = AUGMENT_CANDIDATES
    if estimator.soft_target_weight == "auto" and has_teacher:
        weights = (*WEIGHT_CANDIDATES, 0.0)
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


def can_select(estimator, n_labelled, n_rows, has_teacher):
    """Whether ``fit`` searches at all: more than one candidate, and enough
    labelled rows of positive weight (``n_labelled``) for a hold-out."""
    return (
        n_labelled * VALIDATION_FRACTION >= MIN_VALIDATION_ROWS
        and len(candidates(estimator, has_teacher, n_rows)) > 1
    )


def munge_searched(estimator, n_labelled, n_rows):
    """Whether the selection has MUNGE among its candidates."""
    return can_select(estimator, n_labelled, n_rows, True) and any(
        choice.augment for choice in candidates(estimator, True, n_rows)
    )


def no_search_reason(estimator, n_labelled, n_rows, has_teacher):
    """Why nothing was searched, in words."""
    if len(candidates(estimator, has_teacher, n_rows)) <= 1:
        return "nothing to search: the settings were given"
    return (
        f"nothing searched: {n_labelled} labelled rows hold out fewer than "
        f"{MIN_VALIDATION_ROWS}; the fallbacks were used"
    )


def select(
    estimator, transfer, stage, seed, progress, *, train, score, stratify, input_offset
):
    """Train the candidates on part of the rows, score them on the rest.

    Parameters
    ----------
    estimator : distiller
        Its public parameters say what is searched and the training budget.
    transfer, stage : TransferSet, TeacherStage
        The fit's rows and the teacher stage's outputs.
    seed : int
        Seeds the hold-out and every candidate alike.
    progress : Progress
    train : callable ``train(transfer, choice, max_epochs) -> StudentTraining``
        One candidate, ready to train on the given rows in one run or more.
    score : callable ``score(logits, labels, sample_weight, targets) -> losses``
        Per held-out row losses of a candidate (the task's).
    stratify : bool
        Whether the hold-out keeps each class's share.
    input_offset : ndarray or None
        The fit's input offset, applied to the held-out rows.

    Returns
    -------
    choice : Choice
        The winner.
    scores : dict of str -> float
        Each candidate's held-out loss, by its label, after the last round it
        trained in.
    reason : str
        Why the winner won, in words.
    """
    rng = np.random.RandomState(seed)
    train_rows, valid = transfer.hold_out(
        VALIDATION_FRACTION, rng, stratify=stratify, labelled_only=True
    )
    train_real = train_rows[train_rows < transfer.n_real]
    if len(train_real) > MAX_CANDIDATE_ROWS:
        train_real = np.sort(rng.choice(train_real, MAX_CANDIDATE_ROWS, replace=False))
    valid_labels = transfer.labels[valid]
    valid_weights = transfer.sample_weight[valid]
    X_valid = student_rows(transfer.X[valid], input_offset)

    def held_out_losses(net):
        output = predict_logits(net.module_, X_valid, device=net.device)
        return score(output, valid_labels, valid_weights, stage.targets)

    losses, costs, trainings, epochs = {}, {}, {}, {}
    options = candidates(estimator, stage.outputs is not None, transfer.n_real)
    with progress.stage("selection") as said:
        bar = progress.bar(len(options), "choosing the student", "candidate")
        for choice in options:
            rows = transfer.rows_from(train_real) if choice.augment else train_real
            epochs[choice], _ = resolved_budget(
                estimator, len(train_real), len(rows), share=EPOCH_SHARE
            )
            trainings[choice] = train(transfer.take(rows), choice, epochs[choice])
            net = trainings[choice].run(first_round_epochs(epochs[choice]))
            costs[choice] = training_cost(net, len(rows), epochs[choice])
            losses[choice] = held_out_losses(net)
            bar.update()
        bar.close()
        kept = second_round(losses, valid_weights)
        for choice in kept:
            more = epochs[choice] - first_round_epochs(epochs[choice])
            if more > 0:
                losses[choice] = held_out_losses(trainings[choice].run(more))
        chosen, reason = one_standard_error_choice(
            {choice: losses[choice] for choice in kept}, costs, valid_weights
        )
        scores = {
            choice.label(): float(np.average(loss, weights=valid_weights))
            for choice, loss in losses.items()
        }
        dropped = [choice.label() for choice in options if choice not in kept]
        said.append(
            f"{len(options)} candidates on {len(train_real)} real rows, scored on "
            f"{len(valid)} held-out rows: "
            + "; ".join(f"{label} {score:.4f}" for label, score in scores.items())
            + (
                f"; stopped after the first round: {', '.join(dropped)}"
                if dropped
                else ""
            )
            + f"; chose {chosen.label()}: {reason}"
        )
    return chosen, scores, reason


def first_round_epochs(epochs):
    """A candidate's epochs in the first round: a :data:`FIRST_ROUND_SHARE` of
    its ``epochs``, at least one."""
    return max(1, round(FIRST_ROUND_SHARE * epochs))


def second_round(losses, sample_weight):
    """The candidates that train on after the first round.

    The better half by mean held-out loss (successive halving), and the best
    label-only candidate among them whatever its rank, so that the label-only
    guard holds in the final comparison.

    Returns
    -------
    kept : list of Choice
        In ``losses``' order (the fallback first where kept).
    """
    means = {
        choice: float(np.average(loss, weights=sample_weight))
        for choice, loss in losses.items()
    }
    ranked = sorted(means, key=means.get)
    kept = set(ranked[: math.ceil(len(ranked) / 2)])
    label_only = [choice for choice in ranked if choice.soft_target_weight == 0]
    if label_only and not kept & set(label_only):
        kept.add(label_only[0])
    return [choice for choice in losses if choice in kept]


def training_cost(net, n_rows, epochs):
    """A candidate's training cost over its whole budget: rows seen (epochs
    times rows) times the network's weights, about its arithmetic.
    Deterministic, unlike a measured time, so the choice does not depend on
    the machine's load."""
    n_weights = sum(parameter.numel() for parameter in net.module_.parameters())
    return epochs * n_rows * n_weights


#: Costs within this factor of the cheapest count as equal (epochs are whole
#: numbers, so equal budgets over different row counts differ a little).
COST_TOLERANCE = 1.25


def one_standard_error_choice(losses, costs, sample_weight):
    """The cheapest candidate within one standard error of the best.

    A candidate qualifies when its mean held-out loss exceeds the best one's by
    at most the standard error of that difference (paired over the held-out
    rows, weighted): on a small hold-out, a costlier candidate must win clearly
    to be chosen. Among qualified candidates of about the least cost (within
    :data:`COST_TOLERANCE`), the first in ``losses``' order wins.

    Returns
    -------
    choice : Choice
    reason : str
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
    cheapest = min(costs[choice] for choice in qualified)
    chosen = next(c for c in qualified if costs[c] <= COST_TOLERANCE * cheapest)
    if chosen == best:
        reason = "the best held-out score"
    else:
        reason = (
            f"the cheapest of the {len(qualified)} candidates within one standard "
            f"error of the best ({best.label()})"
        )
    return chosen, reason

"""Where the training rows' teacher logits come from: in-sample, OOB or cross-fitted.

A model's probabilities on the rows it was fitted on are over-confident (a forest's
trees have mostly seen those rows), so the labelled rows can take their soft
targets from out-of-bag estimates or from clones fitted on the other folds.
Unlabelled and synthetic rows always use the teacher's plain predictions.

:func:`teacher_logits` is the whole teacher stage of a fit: it fits the teacher if
needed and queries it once per row, in bounded batches.
"""

from dataclasses import dataclass
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils import _safe_indexing

from ._teacher import (
    final_estimator,
    is_fitted,
    output_is_probability,
    output_to_logits,
    query_teacher,
    resolve_response_method,
    teacher_classes,
)

SOFT_TARGET_SOURCES = ("auto", "predict", "oob", "cross_fit")


@dataclass
class TeacherLogits:
    """Result of the teacher stage.

    Attributes
    ----------
    classes : ndarray
        The teacher's classes, sorted; the columns of both logit arrays follow them.
    logits : ndarray of shape (n_rows, n_classes)
        Logits for the real rows.
    synthetic_logits : ndarray of shape (n_synthetic, n_classes) or None
        Logits for the synthetic rows.
    source : str
        The soft-target source used for the labelled rows.
    fitted_teacher : estimator or None
        The teacher fitted here, or None when the given teacher was already fitted.
    """

    classes: np.ndarray
    logits: np.ndarray
    synthetic_logits: np.ndarray | None
    source: str
    fitted_teacher: object


def _supports_oob(teacher):
    params = teacher.get_params(deep=False)
    return "oob_score" in params and params.get("bootstrap", True)


def resolve_source(teacher, soft_targets, y_labelled, cv):
    """Check the requested soft-target source and resolve ``"auto"``.

    ``"auto"``: a fitted teacher uses ``"predict"`` (its OOB rows cannot be assumed
    to be these rows); an unfitted bagged ensemble uses ``"oob"``; any other
    unfitted teacher uses ``"cross_fit"`` when every class has at least ``cv``
    labelled rows, else ``"predict"``.
    """
    fitted = is_fitted(teacher)
    _, counts = np.unique(y_labelled, return_counts=True)
    n_splits = cv if isinstance(cv, Integral) else 2
    enough_rows = len(counts) > 0 and counts.min() >= n_splits
    if soft_targets == "auto":
        if fitted:
            return "predict"
        if _supports_oob(teacher):
            return "oob"
        return "cross_fit" if enough_rows else "predict"
    name = type(teacher).__name__
    if soft_targets == "oob":
        if fitted and not hasattr(final_estimator(teacher), "oob_decision_function_"):
            raise ValueError(
                f"soft_targets='oob' needs out-of-bag estimates, but the fitted teacher "
                f"{name} has no oob_decision_function_: refit it with oob_score=True "
                "and bootstrap=True, pass it unfitted, or use soft_targets='predict'."
            )
        if not fitted and not _supports_oob(teacher):
            raise ValueError(
                f"soft_targets='oob' needs a bagged teacher with out-of-bag estimates "
                f"(oob_score and bootstrap=True, e.g. a random forest); {name} has none. "
                "Use soft_targets='cross_fit' or 'predict'."
            )
    if soft_targets == "cross_fit":
        if fitted:
            raise ValueError(
                f"soft_targets='cross_fit' refits the teacher on folds, but {name} is "
                "already fitted and is never refitted: pass an unfitted teacher, or use "
                "soft_targets='predict' (or 'oob' for a forest fitted with oob_score)."
            )
        if not enough_rows:
            raise ValueError(
                f"soft_targets='cross_fit' with cv={cv} needs at least {n_splits} labelled "
                f"rows of every class; the rarest class has {counts.min()}. Lower cv "
                "or use soft_targets='predict'."
            )
    return soft_targets


def _fit(teacher, X, y):
    return teacher.fit(X, y)


def _fit_and_query(teacher, X, y, X_held_out, method, batch_size):
    teacher.fit(X, y)
    return teacher_classes(teacher), query_teacher(
        teacher, X_held_out, method, batch_size
    )


def _aligned_logits(output, teacher_cls, classes, is_probability, eps):
    """Logits with columns moved from the teacher's class order to ``classes``."""
    logits = output_to_logits(output, is_probability, eps)
    columns = np.searchsorted(classes, teacher_cls)
    aligned = np.full((len(logits), len(classes)), np.log(eps))
    aligned[:, columns] = logits
    return aligned


def teacher_logits(
    teacher,
    X,
    y,
    labelled,
    X_synthetic=None,
    *,
    soft_targets="auto",
    response_method="auto",
    cv=5,
    n_jobs=None,
    random_state=None,
    batch_size=10_000,
    eps=1e-300,
):
    """Fit the teacher if needed and compute logits for every row.

    Parameters
    ----------
    teacher : estimator
        Fitted (used as is) or unfitted (cloned, then fitted on the labelled rows).
    X : array-like or DataFrame
        The rows exactly as the user passed them; the teacher sees them as they are.
    y : ndarray
        Labels; only ``y[labelled]`` is used.
    labelled : ndarray of bool
        Which rows carry a label.
    X_synthetic : array-like or None
        Extra rows to label with the teacher's plain predictions.
    soft_targets, response_method, cv, n_jobs, random_state : see DistilledClassifier
    batch_size : int
        The most rows sent to the teacher in one call.
    eps : float
        Floor of probabilities turned into logits.

    Returns
    -------
    TeacherLogits
    """
    X_labelled = _safe_indexing(X, np.flatnonzero(labelled))
    y_labelled = y[labelled]
    source = resolve_source(teacher, soft_targets, y_labelled, cv)
    method = resolve_response_method(teacher, response_method)
    fitted_teacher = None
    parts = []  # (rows, teacher classes, raw output, is_probability)

    if is_fitted(teacher):
        model = teacher
    elif source == "oob":
        model = fitted_teacher = clone(teacher).set_params(oob_score=True)
        model.fit(X_labelled, y_labelled)
    elif source == "cross_fit":
        if isinstance(cv, Integral):
            cv = StratifiedKFold(cv, shuffle=True, random_state=random_state)
        splits = list(
            check_cv(cv, y_labelled, classifier=True).split(X_labelled, y_labelled)
        )
        jobs = [
            delayed(_fit_and_query)(
                clone(teacher),
                _safe_indexing(X_labelled, train),
                y_labelled[train],
                _safe_indexing(X_labelled, test),
                method,
                batch_size,
            )
            for train, test in splits
        ]
        jobs.append(delayed(_fit)(clone(teacher), X_labelled, y_labelled))
        *fold_results, model = Parallel(n_jobs=n_jobs)(jobs)
        fitted_teacher = model
        labelled_rows = np.flatnonzero(labelled)
        for (_, test), (fold_classes, output) in zip(splits, fold_results, strict=True):
            parts.append(
                (
                    labelled_rows[test],
                    fold_classes,
                    output,
                    output_is_probability(model, method),
                )
            )
    else:
        model = fitted_teacher = clone(teacher).fit(X_labelled, y_labelled)

    model_classes = teacher_classes(model)
    if source == "oob":
        oob = final_estimator(model).oob_decision_function_
        if len(oob) != labelled.sum():
            raise ValueError(
                f"soft_targets='oob': the teacher's out-of-bag estimates cover "
                f"{len(oob)} rows but {labelled.sum()} labelled rows were given. A "
                "fitted teacher's OOB estimates belong to the rows it was fitted on, in "
                "that order: pass exactly those rows, or use soft_targets='predict'."
            )
        has_estimate = np.isfinite(oob).all(axis=1) & (oob.sum(axis=1) > 0)
        labelled_rows = np.flatnonzero(labelled)
        rows = labelled_rows[has_estimate]
        parts.append((rows, model_classes, oob[has_estimate], True))

    needs_query = np.ones(len(y), dtype=bool)
    for rows, *_ in parts:
        needs_query[rows] = False
    query_rows = np.flatnonzero(needs_query)
    is_probability = output_is_probability(model, method)
    if len(query_rows):
        output = query_teacher(model, _safe_indexing(X, query_rows), method, batch_size)
        if model_classes is None:
            model_classes = np.arange(max(output.shape[1], 2))
        parts.append((query_rows, model_classes, output, is_probability))
    classes = np.unique(model_classes)

    logits = np.empty((len(y), len(classes)))
    for rows, part_classes, part_output, part_is_probability in parts:
        logits[rows] = _aligned_logits(
            part_output, part_classes, classes, part_is_probability, eps
        )
    synthetic_logits = None
    if X_synthetic is not None:
        synthetic = query_teacher(model, X_synthetic, method, batch_size)
        synthetic_logits = _aligned_logits(
            synthetic, model_classes, classes, is_probability, eps
        )
    return TeacherLogits(classes, logits, synthetic_logits, source, fitted_teacher)

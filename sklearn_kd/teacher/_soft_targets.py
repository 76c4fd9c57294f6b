"""The teacher stage of a fit: fit the teacher if needed, and read its outputs.

A model's probabilities on the rows it was fitted on are over-confident (a forest's
trees have mostly seen those rows), so the labelled rows can take their soft
targets from out-of-bag estimates or from clones fitted on the other folds.
Unlabelled and synthetic rows always use the teacher's plain predictions.

:func:`teacher_outputs` is the whole stage: it fits the teacher if needed (with
the sample weights, where its ``fit`` takes them) and queries it once per row, in
bounded batches. What a query returns and how the parts become one array is the
task's *reading* (``ClassifierReading``, ``RegressorReading``). The stage is a
pure function of its arguments, so that the estimator can cache it.
"""

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.validation import has_fit_parameter

from .._sklearn_compat import _num_samples, _routing_enabled, _safe_indexing
from .._transfer_set import rows_where
from ._adapters import TeacherOutputError, final_estimator, is_fitted, teacher_name
from ._oob import oob_estimates_belong_to, stored_estimates

SOFT_TARGET_SOURCES = ("auto", "predict", "oob", "cross_fit")


@dataclass
class TeacherOutputs:
    """Result of the teacher stage.

    Attributes
    ----------
    outputs : ndarray of shape (n_rows, n_outputs)
        The teacher's outputs on the real rows, as its reading gives them
        (logits aligned to ``classes`` for a classifier, predictions for a
        regressor).
    synthetic : ndarray of shape (n_synthetic, n_outputs) or None
        The same for the synthetic rows.
    source : str
        The soft-target source used for the labelled rows.
    fitted_teacher : estimator or None
        The teacher fitted here, or None when the given teacher was already fitted.
    classes : ndarray or None
        A classifier's classes, sorted; None for a regressor.
    """

    outputs: np.ndarray
    synthetic: np.ndarray | None
    source: str
    fitted_teacher: object
    classes: np.ndarray | None


def _supports_oob(teacher):
    params = teacher.get_params(deep=False)
    return "oob_score" in params and params.get("bootstrap", True)


def _n_splits(cv, y_labelled, classifier):
    """The number of folds ``cv`` makes: ``cv=5`` and ``StratifiedKFold(5)``
    alike; 2 for a splitter that cannot tell without its groups."""
    try:
        return check_cv(cv, y_labelled, classifier=classifier).get_n_splits()
    except (TypeError, ValueError):
        return 2


def resolve_source(
    teacher, soft_targets, y_labelled, cv, *, classifier=True, X_labelled=None
):
    """Check the requested soft-target source and resolve ``"auto"``.

    ``"auto"``: a fitted teacher uses ``"oob"`` when its out-of-bag estimates
    are shown to be those of the rows ``X_labelled`` (see
    ``sklearn_kd.teacher._oob``), else ``"predict"``; an unfitted bagged ensemble uses
    ``"oob"``; any other unfitted teacher uses ``"cross_fit"`` when every class
    (every fold, for a regressor) has at least ``cv`` labelled rows, else
    ``"predict"``.
    """
    fitted = is_fitted(teacher)
    if classifier:
        _, counts = np.unique(y_labelled, return_counts=True)
    else:
        counts = np.array([len(y_labelled)])
    n_splits = _n_splits(cv, y_labelled, classifier)
    enough_rows = len(counts) > 0 and counts.min() >= n_splits
    if soft_targets == "auto":
        if fitted:
            own_rows = X_labelled is not None and oob_estimates_belong_to(
                teacher, X_labelled, classifier=classifier
            )
            return "oob" if own_rows else "predict"
        if _supports_oob(teacher):
            return "oob"
        return "cross_fit" if enough_rows else "predict"
    name = type(teacher).__name__
    if soft_targets == "oob":
        estimates = "oob_decision_function_" if classifier else "oob_prediction_"
        if fitted and not hasattr(final_estimator(teacher), estimates):
            raise ValueError(
                f"soft_targets='oob' needs out-of-bag estimates, but the fitted teacher "
                f"{name} has no {estimates}: refit it with oob_score=True "
                "and bootstrap=True, pass it unfitted, or use soft_targets='predict'."
            )
        if (
            fitted
            and X_labelled is not None
            and not oob_estimates_belong_to(teacher, X_labelled, classifier=classifier)
            and len(stored_estimates(final_estimator(teacher), classifier))
            == _num_samples(X_labelled)
        ):
            raise ValueError(
                f"soft_targets='oob': the fitted teacher {name}'s out-of-bag "
                "estimates are not those of these rows (recomputed from its trees "
                "on a sample of rows, they differ): they belong to the rows it was "
                "fitted on, in that order. Pass exactly those rows, or use "
                "soft_targets='predict'."
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
            what = (
                "of every class; the rarest class has" if classifier else "; there are"
            )
            raise ValueError(
                f"soft_targets='cross_fit' with cv={cv} needs at least {n_splits} labelled "
                f"rows {what} {counts.min()}. Lower cv or use soft_targets='predict'."
            )
    return soft_targets


def cross_fit_folds(cv, X_labelled, y_labelled, random_state, *, classifier=True):
    """The (train, test) folds of ``soft_targets="cross_fit"`` over labelled rows
    (stratified for a classifier)."""
    if isinstance(cv, Integral):
        splitter = StratifiedKFold if classifier else KFold
        cv = splitter(cv, shuffle=True, random_state=random_state)
    splitter = check_cv(cv, y_labelled, classifier=classifier)
    return [
        (np.asarray(train), np.asarray(test))
        for train, test in splitter.split(X_labelled, y_labelled)
    ]


def sample_weight_fit_params(teacher, sample_weight):
    """Keyword arguments passing ``sample_weight`` to ``teacher.fit``.

    ``{}`` without weights; None when the teacher's ``fit`` cannot take them. A
    pipeline takes them through its last step (``step__sample_weight``).
    """
    if sample_weight is None:
        return {}
    if _routing_enabled():
        return _routed_sample_weight(teacher, sample_weight)
    if isinstance(teacher, Pipeline):
        name, last = teacher.steps[-1]
        if last != "passthrough" and has_fit_parameter(last, "sample_weight"):
            return {f"{name}__sample_weight": sample_weight}
        return None
    if has_fit_parameter(teacher, "sample_weight"):
        return {"sample_weight": sample_weight}
    return None


def _routed_sample_weight(teacher, sample_weight):
    """Under scikit-learn's metadata routing, the teacher's own requests decide.

    A teacher (or a pipeline step) that requested ``sample_weight`` gets it
    through its ``fit``; one that declined it (``set_fit_request(
    sample_weight=False)``) does not; a plain estimator that said nothing gets
    it, as it would without routing.
    """
    routing = get_routing_for_object(teacher)
    if routing.consumes("fit", ["sample_weight"]):
        return {"sample_weight": sample_weight}
    requests = getattr(getattr(routing, "fit", None), "requests", {})
    if requests.get("sample_weight", False) is None:
        return {"sample_weight": sample_weight}
    return None


def warn_if_weights_not_passed(teacher, sample_weight):
    """Warn once when ``sample_weight`` cannot reach the teacher's ``fit``."""
    if sample_weight_fit_params(teacher, sample_weight) is None:
        warnings.warn(
            f"The teacher {teacher_name(teacher)} does not accept sample_weight in "
            "fit, so it is fitted without the weights; the student still uses them."
            + (
                " With metadata routing on, a teacher takes them only where it (or "
                "a pipeline step) requests them: set_fit_request(sample_weight=True)."
                if _routing_enabled()
                else ""
            ),
            UserWarning,
            stacklevel=3,
        )


@contextmanager
def teacher_refusals(teacher, has_nan):
    """Re-raise a teacher's error about NaN with a sentence saying who refused."""
    try:
        yield
    except TeacherOutputError:
        raise
    except ValueError as error:
        if has_nan and "nan" in str(error).lower():
            raise ValueError(
                f"The teacher {teacher_name(teacher)} refused the missing values "
                f"(NaN) in X: {error} Impute them (e.g. a Pipeline starting with "
                "SimpleImputer) or use a teacher that accepts NaN, such as "
                "HistGradientBoostingClassifier."
            ) from error
        raise


def _fit(teacher, X, y, sample_weight):
    params = sample_weight_fit_params(teacher, sample_weight) or {}
    return teacher.fit(X, y, **params)


def _fit_and_read(teacher, X, y, sample_weight, X_held_out, reading, batch_size):
    _fit(teacher, X, y, sample_weight)
    return reading.query(teacher, X_held_out, batch_size)


def teacher_outputs(
    teacher,
    X,
    y,
    labelled,
    X_synthetic=None,
    *,
    source,
    reading,
    folds=None,
    sample_weight=None,
    batch_size=10_000,
    n_jobs=None,
):
    """Fit the teacher if needed and read its output for every row.

    Parameters
    ----------
    teacher : estimator
        Fitted (used as is) or unfitted (cloned, then fitted on the labelled rows).
    X : array-like or DataFrame
        The rows exactly as the user passed them; the teacher sees them as they are.
    y : ndarray
        Labels; only ``y[labelled]`` is used.
    labelled : ndarray of bool
        The rows the teacher is fitted on.
    X_synthetic : array-like or None
        Extra rows to label with the teacher's plain predictions.
    source : {"predict", "oob", "cross_fit"}
        The resolved soft-target source (see :func:`resolve_source`).
    reading : ClassifierReading or RegressorReading
        How the task queries the teacher, reads its out-of-bag estimates and
        assembles the parts into one array.
    folds : list of (train, test) or None
        Folds over the labelled rows, for ``source="cross_fit"``.
    sample_weight : ndarray or None
        Weights of all rows; the teacher is fitted with those of labelled rows.
    batch_size : int
        The most rows sent to the teacher in one call.
    n_jobs : int or None
        Parallel jobs for the cross-fit clones and the teacher's queries.

    Returns
    -------
    TeacherOutputs
    """
    labelled_rows = np.flatnonzero(labelled)
    X_labelled = rows_where(X, labelled)
    y_labelled = y[labelled]
    w_labelled = None if sample_weight is None else sample_weight[labelled]
    fitted_teacher = None
    parts = []  # (rows, what the reading read there)

    if is_fitted(teacher):
        model = teacher
    elif source == "oob":
        model = fitted_teacher = clone(teacher).set_params(oob_score=True)
        _fit(model, X_labelled, y_labelled, w_labelled)
    elif source == "cross_fit":

        def weights(rows):
            return None if w_labelled is None else w_labelled[rows]

        jobs = [
            delayed(_fit_and_read)(
                clone(teacher),
                _safe_indexing(X_labelled, train),
                y_labelled[train],
                weights(train),
                _safe_indexing(X_labelled, test),
                reading,
                batch_size,
            )
            for train, test in folds
        ]
        jobs.append(delayed(_fit)(clone(teacher), X_labelled, y_labelled, w_labelled))
        *fold_results, model = Parallel(n_jobs=n_jobs)(jobs)
        fitted_teacher = model
        for (_, test), read in zip(folds, fold_results, strict=True):
            parts.append((labelled_rows[test], read))
    else:
        model = fitted_teacher = clone(teacher)
        _fit(model, X_labelled, y_labelled, w_labelled)

    if source == "oob":
        read, has_estimate = reading.oob(model)
        if len(has_estimate) != len(labelled_rows):
            raise ValueError(
                f"soft_targets='oob': the teacher's out-of-bag estimates cover "
                f"{len(has_estimate)} rows but {len(labelled_rows)} labelled rows were "
                "given. A fitted teacher's OOB estimates belong to the rows it was "
                "fitted on, in that order: pass exactly those rows, or use "
                "soft_targets='predict'."
            )
        parts.append((labelled_rows[has_estimate], read.take(has_estimate)))

    needs_query = np.ones(len(y), dtype=bool)
    for rows, _ in parts:
        needs_query[rows] = False
    query_rows = np.flatnonzero(needs_query)
    if len(query_rows):
        read = reading.query(model, rows_where(X, needs_query), batch_size, n_jobs)
        parts.append((query_rows, read))
    outputs, classes = reading.assemble(parts, len(y), model)
    synthetic = None
    if X_synthetic is not None:
        read = reading.query(model, X_synthetic, batch_size, n_jobs)
        synthetic, _ = reading.assemble(
            [(np.arange(len(read)), read)], len(read), model, classes=classes
        )
    return TeacherOutputs(outputs, synthetic, source, fitted_teacher, classes)

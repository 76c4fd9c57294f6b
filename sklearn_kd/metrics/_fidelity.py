"""Fidelity metrics: how closely a student mimics its teacher, and their scorers."""

from numbers import Real

import numpy as np
from scipy.special import rel_entr
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
)

from .._probability import PROBABILITY_FLOOR, probability_problem
from .._sklearn_compat import Interval, _check_sample_weight, validate_params


@validate_params(
    {
        "y_teacher": ["array-like"],
        "y_student": ["array-like"],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def agreement_score(y_teacher, y_student, *, sample_weight=None):
    """Share of samples where the student predicts the same class as the teacher.

    This is :func:`~sklearn.metrics.accuracy_score` with the teacher's
    predictions in place of the true labels, hence the same argument order.

    Parameters
    ----------
    y_teacher : array-like of shape (n_samples,)
        Class labels predicted by the teacher.

    y_student : array-like of shape (n_samples,)
        Class labels predicted by the student.

    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights; ``None`` weighs every sample equally.

    Returns
    -------
    score : float
        Weighted share of samples with equal predictions, between 0 and 1.

    See Also
    --------
    mean_kl_divergence : Compares predicted probabilities instead of labels.

    Examples
    --------
    >>> from sklearn_kd.metrics import agreement_score
    >>> agreement_score(["cat", "dog", "dog", "cat"], ["cat", "dog", "cat", "cat"])
    0.75
    >>> agreement_score([0, 1, 1], [0, 1, 0], sample_weight=[1, 1, 2])
    0.5
    """
    for name, labels in (("y_teacher", y_teacher), ("y_student", y_student)):
        shape = np.shape(labels)
        if len(shape) != 1:
            raise ValueError(
                f"{name} must be a 1-D array of predicted class labels, got an "
                f"array of shape {shape}. To compare predicted probabilities, "
                "use mean_kl_divergence."
            )
    check_consistent_length(y_teacher, y_student)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(
            sample_weight, y_teacher, ensure_non_negative=True
        )
    return float(accuracy_score(y_teacher, y_student, sample_weight=sample_weight))


@validate_params(
    {
        "proba_teacher": ["array-like"],
        "proba_student": ["array-like"],
        "sample_weight": ["array-like", None],
        "eps": [Interval(Real, 0, 1, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def mean_kl_divergence(
    proba_teacher, proba_student, *, sample_weight=None, eps=PROBABILITY_FLOOR
):
    """Mean Kullback-Leibler divergence from the teacher's to the student's predictions.

    For each sample, with teacher probabilities ``p`` and student probabilities
    ``q``, ``KL(p || q) = sum_k p_k * (log p_k - log q_k)``, taking
    ``0 * log 0 = 0``. It is 0 when the student reproduces the teacher exactly
    and grows as the student puts less mass where the teacher puts it.

    Parameters
    ----------
    proba_teacher : array-like of shape (n_samples, n_classes)
        Teacher probabilities; each row must be non-negative and sum to 1.

    proba_student : array-like of shape (n_samples, n_classes)
        Student probabilities, with columns in the same class order as
        ``proba_teacher``; each row must be non-negative and sum to 1.

    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights; ``None`` weighs every sample equally.

    eps : float, default=1e-12
        Student probabilities below ``eps`` are raised to ``eps``, so a class the
        student rules out gives a large but finite divergence.

    Returns
    -------
    divergence : float
        Weighted mean over samples of ``KL(p || q)``, in nats (>= 0).

    See Also
    --------
    agreement_score : Compares predicted labels instead of probabilities.

    Examples
    --------
    >>> from sklearn_kd.metrics import mean_kl_divergence
    >>> mean_kl_divergence([[0.5, 0.5], [1.0, 0.0]], [[0.5, 0.5], [1.0, 0.0]])
    0.0
    >>> round(mean_kl_divergence([[1.0, 0.0]], [[0.5, 0.5]]), 4)  # log(2)
    0.6931
    """
    proba_teacher = _check_probabilities(proba_teacher, "proba_teacher")
    proba_student = _check_probabilities(proba_student, "proba_student")
    if proba_teacher.shape != proba_student.shape:
        raise ValueError(
            "proba_teacher and proba_student must have the same shape "
            "(n_samples, n_classes), got "
            f"{proba_teacher.shape} and {proba_student.shape}."
        )
    if sample_weight is not None:
        sample_weight = _check_sample_weight(
            sample_weight, proba_teacher, ensure_non_negative=True
        )
    per_sample = rel_entr(proba_teacher, np.maximum(proba_student, eps)).sum(axis=1)
    return float(np.average(per_sample, weights=sample_weight))


def _check_probabilities(proba, name):
    proba = check_array(proba, dtype=np.float64, input_name=name)
    problem = probability_problem(proba)
    if problem:
        raise ValueError(
            f"{name} must hold probability rows, but has {problem}. Pass "
            "predict_proba outputs, not logits or decision_function scores."
        )
    return proba


class _FidelityScorer:
    """Scorer comparing a fitted distilled estimator's student with its teacher.

    Calling ``scorer(estimator, X, y=None, sample_weight=None)`` returns a float
    where greater is better; ``y`` is ignored. Instances are module-level
    singletons: :data:`agreement_scorer`, :data:`neg_mean_kl_scorer`,
    :data:`fidelity_r2_scorer` and :data:`neg_mean_absolute_deviation_scorer`.

    Parameters
    ----------
    name : str
        Name shown in the repr and in error messages.

    score_func : callable
        ``score_func(estimator, X, sample_weight)`` returning the score.

    teacher_method : str, default="teacher_predict_proba"
        The method of the estimator that gives its teacher's output.

    Examples
    --------
    >>> from sklearn_kd.metrics import agreement_scorer, neg_mean_kl_scorer
    >>> agreement_scorer
    agreement_scorer
    >>> neg_mean_kl_scorer
    neg_mean_kl_scorer
    """

    def __init__(self, name, score_func, teacher_method="teacher_predict_proba"):
        self.name = name
        self.score_func = score_func
        self.teacher_method = teacher_method

    def __call__(self, estimator, X, y=None, sample_weight=None):
        if not callable(getattr(estimator, self.teacher_method, None)):
            kind = (
                "DistilledClassifier"
                if self.teacher_method == "teacher_predict_proba"
                else "DistilledRegressor"
            )
            raise TypeError(
                f"{self.name} scores a distilled estimator such as {kind}, which "
                f"has a {self.teacher_method}(X) method; got "
                f"{type(estimator).__name__}, which has none."
            )
        check_is_fitted(estimator)
        return float(self.score_func(estimator, X, sample_weight))

    def __repr__(self):
        return self.name


def _agreement_with_teacher(estimator, X, sample_weight):
    teacher_proba = estimator.teacher_predict_proba(X)
    teacher_labels = np.asarray(estimator.classes_)[np.argmax(teacher_proba, axis=1)]
    return agreement_score(
        teacher_labels, estimator.predict(X), sample_weight=sample_weight
    )


def _neg_kl_from_teacher(estimator, X, sample_weight):
    return -mean_kl_divergence(
        estimator.teacher_predict_proba(X),
        estimator.predict_proba(X),
        sample_weight=sample_weight,
    )


agreement_scorer = _FidelityScorer("agreement_scorer", _agreement_with_teacher)
"""Scorer: share of samples where the student predicts the teacher's class.

The teacher's class is ``classes_[argmax(teacher_predict_proba(X))]``.
"""

neg_mean_kl_scorer = _FidelityScorer("neg_mean_kl_scorer", _neg_kl_from_teacher)
"""Scorer: minus the mean KL divergence from the teacher's to the student's
probabilities (negated so that greater is better)."""


def _check_predictions(y_teacher, y_student):
    y_teacher = check_array(
        y_teacher, ensure_2d=False, dtype=np.float64, input_name="y_teacher"
    )
    y_student = check_array(
        y_student, ensure_2d=False, dtype=np.float64, input_name="y_student"
    )
    if y_teacher.shape != y_student.shape:
        raise ValueError(
            "y_teacher and y_student must have the same shape, got "
            f"{y_teacher.shape} and {y_student.shape}."
        )
    return y_teacher, y_student


@validate_params(
    {
        "y_teacher": ["array-like"],
        "y_student": ["array-like"],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def fidelity_r2_score(y_teacher, y_student, *, sample_weight=None):
    """R² of a regression student's predictions against its teacher's.

    This is :func:`~sklearn.metrics.r2_score` with the teacher's predictions
    in place of the true targets: 1 when the student reproduces the teacher,
    0 when it does no better than the teacher's mean. Several outputs are
    averaged uniformly.

    Parameters
    ----------
    y_teacher : array-like of shape (n_samples,) or (n_samples, n_outputs)
        The teacher's predictions.

    y_student : array-like of the shape of ``y_teacher``
        The student's predictions.

    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights; ``None`` weighs every sample equally.

    Returns
    -------
    score : float
        At most 1.

    See Also
    --------
    mean_absolute_deviation : The same comparison in the target's unit.

    Examples
    --------
    >>> from sklearn_kd.metrics import fidelity_r2_score
    >>> fidelity_r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 3.5])
    0.875
    """
    y_teacher, y_student = _check_predictions(y_teacher, y_student)
    return float(r2_score(y_teacher, y_student, sample_weight=sample_weight))


@validate_params(
    {
        "y_teacher": ["array-like"],
        "y_student": ["array-like"],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def mean_absolute_deviation(y_teacher, y_student, *, sample_weight=None):
    """Mean absolute difference between a student's and its teacher's predictions.

    In the target's unit (averaged over outputs), 0 when the student reproduces
    the teacher.

    Parameters
    ----------
    y_teacher : array-like of shape (n_samples,) or (n_samples, n_outputs)
        The teacher's predictions.

    y_student : array-like of the shape of ``y_teacher``
        The student's predictions.

    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights; ``None`` weighs every sample equally.

    Returns
    -------
    deviation : float
        Non-negative.

    See Also
    --------
    fidelity_r2_score : The same comparison as a share of the teacher's variance.

    Examples
    --------
    >>> from sklearn_kd.metrics import mean_absolute_deviation
    >>> mean_absolute_deviation([1.0, 2.0, 3.0], [1.5, 2.0, 2.0])
    0.5
    """
    y_teacher, y_student = _check_predictions(y_teacher, y_student)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(
            sample_weight, y_teacher, ensure_non_negative=True
        )
    deviation = np.abs(y_teacher - y_student).reshape(len(y_teacher), -1).mean(axis=1)
    return float(np.average(deviation, weights=sample_weight))


def _r2_against_teacher(estimator, X, sample_weight):
    return fidelity_r2_score(
        estimator.teacher_predict(X), estimator.predict(X), sample_weight=sample_weight
    )


def _neg_deviation_from_teacher(estimator, X, sample_weight):
    return -mean_absolute_deviation(
        estimator.teacher_predict(X), estimator.predict(X), sample_weight=sample_weight
    )


fidelity_r2_scorer = _FidelityScorer(
    "fidelity_r2_scorer", _r2_against_teacher, teacher_method="teacher_predict"
)
"""Scorer: R² of a regression student's predictions against its teacher's."""

neg_mean_absolute_deviation_scorer = _FidelityScorer(
    "neg_mean_absolute_deviation_scorer",
    _neg_deviation_from_teacher,
    teacher_method="teacher_predict",
)
"""Scorer: minus the mean absolute deviation of a regression student from its
teacher (negated so that greater is better)."""

"""Teacher adapters: which output to ask for, how to read it as logits, class order.

Every teacher, whatever its kind, is reduced here to one array of per-class logits
whose columns follow the sorted teacher classes. Probability-only outputs become
logits in exactly one place, :func:`probabilities_to_logits`.
"""

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples, check_is_fitted

# Final estimators whose ``decision_function`` is a true per-class logit: the
# softmax (or, binary, the sigmoid) of it is their ``predict_proba``.
_LOGIT_ESTIMATORS = frozenset(
    {
        "LogisticRegression",
        "LogisticRegressionCV",
        "GradientBoostingClassifier",
        "HistGradientBoostingClassifier",
    }
)


def _is_skorch_net(estimator):
    try:
        from skorch import NeuralNet
    except ImportError:  # pragma: no cover - skorch is a dependency
        return False
    return isinstance(estimator, NeuralNet)


def final_estimator(estimator):
    """Return the estimator that produces the predictions of ``estimator``.

    Pipelines are unwrapped to their last step and frozen estimators to the model
    they hold, recursively.
    """
    while True:
        if isinstance(estimator, Pipeline):
            estimator = estimator.steps[-1][1]
        elif isinstance(estimator, FrozenEstimator):
            estimator = estimator.estimator
        else:
            return estimator


def is_fitted(estimator):
    """Whether ``estimator`` is fitted, by scikit-learn's own test (None is not)."""
    try:
        check_is_fitted(estimator)
    except (NotFittedError, TypeError):
        return False
    return True


def _skorch_criterion_name(net):
    criterion = getattr(net, "criterion_", net.criterion)
    return (
        criterion.__name__ if isinstance(criterion, type) else type(criterion).__name__
    )


def resolve_response_method(teacher, response_method):
    """Pick the teacher output to query: a method name or ``"module"``.

    ``"module"`` means the raw output of a skorch net's module, read as logits or
    probabilities according to its criterion (see :func:`module_output_is_logits`).

    Parameters
    ----------
    teacher : estimator
        The teacher, fitted or not.
    response_method : {"auto", "predict_proba", "decision_function"}
        The user's choice.

    Returns
    -------
    method : {"predict_proba", "decision_function", "module"}
    """
    name = type(teacher).__name__
    if _is_skorch_net(teacher):
        if response_method == "decision_function":
            raise ValueError(
                f"response_method='decision_function' is not available for the skorch "
                f"net {name}: use 'auto' (its module output) or 'predict_proba'."
            )
        return "module" if response_method == "auto" else "predict_proba"
    has_proba = hasattr(teacher, "predict_proba")
    has_decision = hasattr(teacher, "decision_function")
    if response_method == "auto":
        if (
            has_decision
            and type(final_estimator(teacher)).__name__ in _LOGIT_ESTIMATORS
        ):
            return "decision_function"
        if has_proba:
            return "predict_proba"
        if has_decision:
            return "decision_function"
    elif hasattr(teacher, response_method):
        return response_method
    wanted = (
        "predict_proba or decision_function"
        if response_method == "auto"
        else response_method
    )
    raise TypeError(
        f"The teacher {name} has no {wanted} method: a teacher must be a classifier "
        "with predict_proba or decision_function (e.g. a random forest, gradient "
        "boosting, a logistic regression or a skorch NeuralNetClassifier)."
    )


def module_output_is_logits(net):
    """Whether a skorch net's module returns logits rather than probabilities.

    Nets trained with a ``CrossEntropyLoss`` or ``BCEWithLogitsLoss`` criterion output
    logits; skorch's default ``NLLLoss`` nets output probabilities.
    """
    return _skorch_criterion_name(net) in {"CrossEntropyLoss", "BCEWithLogitsLoss"}


def teacher_classes(teacher):
    """The classes of a fitted teacher, in the order of its output columns.

    A skorch net reloaded from its parameters may lack ``classes_``: its ``classes``
    argument is used, else ``0..n-1`` for its number of outputs, which is then
    unknown here and returned as ``None``.
    """
    try:
        return np.asarray(teacher.classes_)
    except AttributeError:
        if _is_skorch_net(teacher) and getattr(teacher, "classes", None) is not None:
            return np.asarray(teacher.classes)
        if _is_skorch_net(teacher):
            return None
        raise


def iter_row_batches(n_rows, batch_size):
    """Yield slices covering ``range(n_rows)`` in batches of ``batch_size``."""
    for start in range(0, n_rows, batch_size):
        yield slice(start, min(start + batch_size, n_rows))


def _query_batch(teacher, X_batch, method):
    if method == "module":
        output = teacher.forward(X_batch, training=False, device="cpu")
        return output.detach().numpy()
    return getattr(teacher, method)(X_batch)


def query_teacher(teacher, X, method, batch_size):
    """Query a fitted teacher once over all rows of ``X``, in bounded batches.

    Returns
    -------
    output : ndarray of shape (n_samples, n_outputs), dtype float64
        The raw output; a binary decision function comes back as one column.
    """
    outputs = [
        np.asarray(_query_batch(teacher, _safe_indexing(X, rows), method), np.float64)
        for rows in iter_row_batches(_num_samples(X), batch_size)
    ]
    output = np.concatenate(outputs)
    return output.reshape(len(output), -1)


def output_is_probability(teacher, method):
    """Whether the raw output of ``method`` holds probabilities."""
    if method == "module":
        return not module_output_is_logits(teacher)
    return method == "predict_proba"


def probabilities_to_logits(proba, eps):
    """Turn probabilities into logits as ``log(clip(proba, eps))``.

    The softmax of the result at temperature ``T`` is ``proba ** (1 / T)``,
    renormalised: temperature softens the teacher's ranking of the classes it
    gives mass to, while a class at exactly zero gets ``eps ** (1 / T)`` relative
    mass. A tiny ``eps`` keeps such classes at zero at any usual temperature.
    """
    return np.log(np.clip(proba, eps, None))


def output_to_logits(output, is_probability, eps):
    """Read a raw teacher output as per-class logits.

    A single column (a binary decision function, or a binary net's one logit)
    becomes the two logits ``[0, z]``.
    """
    if output.shape[1] == 1:
        if is_probability:
            output = np.hstack([1 - output, output])
        else:
            return np.hstack([np.zeros_like(output), output])
    if is_probability:
        return probabilities_to_logits(output, eps)
    return output


def check_teacher_classifier(teacher):
    """Raise a clear error when ``teacher`` cannot serve as a teacher."""
    if not (hasattr(teacher, "predict_proba") or hasattr(teacher, "decision_function")):
        raise TypeError(
            f"The teacher {type(teacher).__name__} is not a classifier with "
            "predict_proba or decision_function: pass a fitted or unfitted classifier "
            "such as RandomForestClassifier(), a Pipeline ending in one, or a skorch "
            "NeuralNetClassifier."
        )

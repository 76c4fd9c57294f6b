"""Teacher adapters: which output to ask for, how to read it as logits, class order.

Every teacher, whatever its kind, is reduced here to one array of per-class logits
whose columns follow the sorted teacher classes. Probability-only outputs become
logits in exactly one place, :func:`probabilities_to_logits`.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .._probability import probabilities_to_logits, probability_problem
from .._sklearn_compat import _num_samples, _safe_indexing
from ._gbdt import gbdt_library, raw_margins

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
    """Pick the teacher output to query: a method name, ``"module"`` or
    ``"raw_margin"``.

    ``"module"`` means the raw output of a skorch net's module, read as logits or
    probabilities according to its criterion (see :func:`module_output_is_logits`).
    ``"raw_margin"`` means the raw margins of a LightGBM, XGBoost or CatBoost
    classifier, true logits (see ``sklearn_kd.teacher._gbdt``).

    Parameters
    ----------
    teacher : estimator
        The teacher, fitted or not.
    response_method : {"auto", "predict_proba", "decision_function"}
        The user's choice.

    Returns
    -------
    method : {"predict_proba", "decision_function", "module", "raw_margin"}
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
        if gbdt_library(final_estimator(teacher)) is not None:
            return "raw_margin"
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


def _query_batch(teacher, X_batch, method):
    if method == "raw_margin":
        model = teacher
        while not gbdt_library(model):  # through pipelines and frozen models
            if isinstance(model, FrozenEstimator):
                model = model.estimator
            else:
                X_batch = model[:-1].transform(X_batch)
                model = model.steps[-1][1]
        return np.asarray(raw_margins(model, X_batch), dtype=np.float64)
    if method == "module":
        output = teacher.forward(X_batch, training=False, device="cpu")
        return output.detach().numpy()
    return np.asarray(getattr(teacher, method)(X_batch), dtype=np.float64)


def query_teacher(teacher, X, method, batch_size, n_jobs=None):
    """Query a fitted teacher once over all rows of ``X``, in bounded batches.

    Batches of at most ``batch_size`` rows run through joblib with ``n_jobs``
    (None means 1, as in scikit-learn), in threads by default, or on whatever
    backend ``joblib.parallel_config`` sets (a Dask cluster, for one); the
    outputs come back in row order, the same as a sequential query.

    Returns
    -------
    output : ndarray of shape (n_samples, n_outputs), dtype float64
        The raw output; a binary decision function comes back as one column.
    """
    n_rows = _num_samples(X)
    batches = [
        slice(start, min(start + batch_size, n_rows))
        for start in range(0, n_rows, batch_size)
    ]
    if n_jobs in (None, 1) or len(batches) == 1:
        outputs = [
            _query_batch(teacher, _safe_indexing(X, rows), method) for rows in batches
        ]
    else:
        from joblib import Parallel, delayed

        outputs = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_query_batch)(teacher, _safe_indexing(X, rows), method)
            for rows in batches
        )
    outputs = [np.asarray(output, dtype=np.float64) for output in outputs]
    output = np.concatenate(outputs) if outputs else np.empty((0, 1))
    return output.reshape(len(output), -1)


def output_is_probability(teacher, method):
    """Whether the raw output of ``method`` holds probabilities."""
    if method == "module":
        return not module_output_is_logits(teacher)
    return method == "predict_proba"


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


def aligned_logits(output, teacher_cls, classes, is_probability, eps):
    """Logits with columns moved from the teacher's class order to ``classes``.

    A class of ``classes`` the teacher does not know gets the floor ``log(eps)``.
    """
    logits = output_to_logits(output, is_probability, eps)
    columns = np.searchsorted(classes, teacher_cls)
    aligned = np.full((len(logits), len(classes)), np.log(eps))
    aligned[:, columns] = logits
    return aligned


def teacher_name(teacher):
    """How error messages name a teacher: its class, and a pipeline's last step."""
    name = type(teacher).__name__
    inner = final_estimator(teacher)
    return name if inner is teacher else f"{name} ({type(inner).__name__})"


class TeacherOutputError(ValueError):
    """A teacher returned an output that cannot be read as it should be."""


def check_teacher_output(output, teacher, method, classes):
    """Raise a clear error unless ``output`` is a usable reading of ``method``.

    Parameters
    ----------
    output : ndarray of shape (n_rows, n_columns)
        What :func:`query_teacher` returned.
    teacher : estimator
        The teacher, named in the errors.
    method : str
        The output read (see :func:`resolve_response_method`).
    classes : ndarray or None
        The teacher's classes, when known: the output must have one column per
        class (or one column for two classes, as a binary decision function).
    """
    name = teacher_name(teacher)
    if not np.isfinite(output).all():
        bad = int((~np.isfinite(output)).any(axis=1).sum())
        raise TeacherOutputError(
            f"The teacher {name} returned NaN or infinite values from {method} for "
            f"{bad} of {len(output)} rows: check the teacher and the rows it was "
            "given."
        )
    if classes is not None:
        allowed = {len(classes)} | ({1} if len(classes) == 2 else set())
        if output.shape[1] not in allowed:
            raise TeacherOutputError(
                f"The teacher {name} returned {output.shape[1]} columns from {method}, "
                f"but it has {len(classes)} classes ({plain(classes)}): its output "
                "must have one column per class."
            )
    if output_is_probability(teacher, method) and output.shape[1] > 1:
        problem = probability_problem(output)
        if problem:
            raise TeacherOutputError(
                f"The teacher {name}'s {method} returned {problem}, so it does not "
                "output probabilities. Use response_method='decision_function' for "
                "a teacher whose scores are logits."
            )


def plain(values):
    """Values as plain Python objects for messages (``0``, not ``np.int64(0)``)."""
    return np.asarray(values).tolist()


@dataclass
class ClassifierRead:
    """A classifier teacher's raw output on some rows, and how to read it."""

    output: np.ndarray
    classes: np.ndarray
    is_probability: bool

    def __len__(self):
        return len(self.output)

    def take(self, mask):
        return ClassifierRead(self.output[mask], self.classes, self.is_probability)


class ClassifierReading:
    """How the teacher stage reads a classifier: per-class logits, aligned.

    Parameters
    ----------
    method : str
        The output to query (see :func:`resolve_response_method`).
    eps : float
        Floor of probabilities turned into logits.
    """

    def __init__(self, method, eps):
        self.method = method
        self.eps = eps

    def query(self, model, X, batch_size, n_jobs=None):
        output = query_teacher(model, X, self.method, batch_size, n_jobs)
        classes = teacher_classes(model)
        check_teacher_output(output, model, self.method, classes)
        if classes is None:
            classes = np.arange(max(output.shape[1], 2))
        return ClassifierRead(
            output, classes, output_is_probability(model, self.method)
        )

    def oob(self, model):
        """Out-of-bag probabilities, and which rows have any."""
        oob = final_estimator(model).oob_decision_function_
        has_estimate = np.isfinite(oob).all(axis=1) & (oob.sum(axis=1) > 0)
        return ClassifierRead(oob, teacher_classes(model), True), has_estimate

    def assemble(self, parts, n_rows, model, classes=None):
        """One logit array from the parts, columns in sorted class order."""
        if classes is None:
            known = teacher_classes(model)
            classes = np.unique(known if known is not None else parts[-1][1].classes)
        logits = np.empty((n_rows, len(classes)))
        for rows, read in parts:
            logits[rows] = aligned_logits(
                read.output, read.classes, classes, read.is_probability, self.eps
            )
        return logits, classes

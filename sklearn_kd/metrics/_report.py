"""Teacher and student side by side: accuracy, fidelity, size and speed."""

import math
import pickle
import statistics
import time
from dataclasses import asdict, dataclass
from numbers import Integral

import numpy as np
from sklearn.base import is_regressor
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, r2_score
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from .._sklearn_compat import (
    HasMethods,
    Interval,
    _num_samples,
    _safe_indexing,
    validate_params,
)
from ._fidelity import (
    agreement_score,
    fidelity_r2_score,
    mean_absolute_deviation,
    mean_kl_divergence,
)

_N_SINGLE_ROW_CALLS = 50
_PICKLE_PROTOCOL = 5


class _ReportTable:
    """Rendering shared by the reports: each defines ``_quality_rows``."""

    @property
    def size_ratio(self):
        return self.teacher_size_bytes / self.student_size_bytes

    @property
    def batch_time_ratio(self):
        return self.teacher_batch_predict_seconds / self.student_batch_predict_seconds

    @property
    def single_time_ratio(self):
        return self.teacher_single_predict_seconds / self.student_single_predict_seconds

    def to_dict(self):
        """Return every field and ratio as a flat dict of plain Python values.

        Returns
        -------
        report : dict
            The attributes listed in the class docstring, ratios included.

        Examples
        --------
        >>> from sklearn_kd.metrics import CompressionReport
        >>> report = CompressionReport(
        ...     n_samples=10, teacher_accuracy=None, student_accuracy=None,
        ...     teacher_log_loss=None, student_log_loss=None, agreement=0.9,
        ...     mean_kl_divergence=0.1, teacher_size_bytes=1000,
        ...     student_size_bytes=100, teacher_batch_predict_seconds=0.2,
        ...     student_batch_predict_seconds=0.1,
        ...     teacher_single_predict_seconds=0.02,
        ...     student_single_predict_seconds=0.01,
        ... )
        >>> report.to_dict()["size_ratio"]
        10.0
        """
        return {
            **asdict(self),
            "size_ratio": self.size_ratio,
            "batch_time_ratio": self.batch_time_ratio,
            "single_time_ratio": self.single_time_ratio,
        }

    def to_frame(self):
        """Return the report as a pandas DataFrame (requires pandas).

        Returns
        -------
        frame : pandas.DataFrame
            One row per metric (index named ``"metric"``), columns ``teacher``,
            ``student`` and ``ratio``, holding raw numbers (sizes in bytes,
            times in seconds) and NaN where a cell does not apply. Accuracy and
            log loss rows are present only when ``y`` was given.

        Examples
        --------
        >>> from sklearn_kd.metrics import CompressionReport
        >>> report = CompressionReport(
        ...     n_samples=10, teacher_accuracy=None, student_accuracy=None,
        ...     teacher_log_loss=None, student_log_loss=None, agreement=0.9,
        ...     mean_kl_divergence=0.1, teacher_size_bytes=1000,
        ...     student_size_bytes=100, teacher_batch_predict_seconds=0.2,
        ...     student_batch_predict_seconds=0.1,
        ...     teacher_single_predict_seconds=0.02,
        ...     student_single_predict_seconds=0.01,
        ... )
        >>> report.to_frame().loc["pickled size", "ratio"]
        np.float64(10.0)
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "CompressionReport.to_frame requires pandas; install it with "
                "`pip install pandas`, or use to_dict() instead."
            ) from exc
        rows = self._rows()
        return pd.DataFrame(
            [[np.nan if v is None else v for v in row[2:]] for row in rows],
            index=pd.Index([row[0] for row in rows], name="metric"),
            columns=["teacher", "student", "ratio"],
            dtype=float,
        )

    def to_markdown(self):
        """Render the report as a Markdown (GitHub-flavoured) table.

        Returns
        -------
        table : str
            A pipe table with columns metric, teacher, student and ratio.

        Examples
        --------
        >>> from sklearn_kd.metrics import CompressionReport
        >>> report = CompressionReport(
        ...     n_samples=10, teacher_accuracy=None, student_accuracy=None,
        ...     teacher_log_loss=None, student_log_loss=None, agreement=0.9,
        ...     mean_kl_divergence=0.1, teacher_size_bytes=1000,
        ...     student_size_bytes=100, teacher_batch_predict_seconds=0.2,
        ...     student_batch_predict_seconds=0.1,
        ...     teacher_single_predict_seconds=0.02,
        ...     student_single_predict_seconds=0.01,
        ... )
        >>> print(report.to_markdown().splitlines()[4])
        | pickled size | 1.0 kB | 100 B | 10.0x |
        """
        lines = ["| metric | teacher | student | ratio |", "|---|--:|--:|--:|"]
        lines += [f"| {' | '.join(cells)} |" for cells in self._formatted_rows()]
        return "\n".join(lines)

    def __str__(self):
        table = [("", "teacher", "student", "ratio"), *self._formatted_rows()]
        widths = [max(len(row[i]) for row in table) for i in range(4)]
        lines = [
            label.ljust(widths[0])
            + "".join(
                "  " + cell.rjust(width)
                for cell, width in zip(cells, widths[1:], strict=True)
            )
            for label, *cells in table
        ]
        return "\n".join(line.rstrip() for line in lines)

    def _rows(self):
        """List of (label, kind, teacher, student, ratio), None for empty cells."""
        rows = [(*row, None) for row in self._quality_rows()]
        rows += [
            (
                "pickled size",
                "bytes",
                self.teacher_size_bytes,
                self.student_size_bytes,
                self.size_ratio,
            ),
            (
                "predict time (batch)",
                "seconds",
                self.teacher_batch_predict_seconds,
                self.student_batch_predict_seconds,
                self.batch_time_ratio,
            ),
            (
                "predict time (1 row)",
                "seconds",
                self.teacher_single_predict_seconds,
                self.student_single_predict_seconds,
                self.single_time_ratio,
            ),
        ]
        return rows

    def _formatted_rows(self):
        formatters = {
            "score": "{:.4f}".format,
            "loss": _format_loss,
            "bytes": _format_bytes,
            "seconds": _format_seconds,
        }
        return [
            (
                label,
                "" if teacher is None else formatters[kind](teacher),
                "" if student is None else formatters[kind](student),
                "" if ratio is None else _format_ratio(ratio),
            )
            for label, kind, teacher, student, ratio in self._rows()
        ]


def _format_bytes(n_bytes):
    if n_bytes < 1000:
        return f"{n_bytes} B"
    value = float(n_bytes)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            return f"{value:.1f} {unit}"


def _format_seconds(seconds):
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale:
            value = seconds / scale
            return f"{value:.3g} {unit}" if value >= 100 else f"{value:.1f} {unit}"
    return f"{seconds * 1e9:.0f} ns"


def _format_loss(value):
    return f"{value:.4f}" if value == 0 or value >= 1e-3 else f"{value:.2e}"


def _format_ratio(ratio):
    if ratio >= 100:
        return f"{ratio:,.0f}x"
    return f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2g}x"


@dataclass(frozen=True)
class CompressionReport(_ReportTable):
    """Side-by-side comparison of a teacher and its (distilled) student.

    Built by :func:`compression_report`; read the attributes, or render it with
    ``str(report)``, :meth:`to_markdown`, :meth:`to_dict` or :meth:`to_frame`.

    Attributes
    ----------
    n_samples : int
        Number of samples the report was computed on.

    teacher_accuracy, student_accuracy : float or None
        Accuracy against ``y``; ``None`` when no ``y`` was given.

    teacher_log_loss, student_log_loss : float or None
        Log loss against ``y``; ``None`` when no ``y`` was given.

    agreement : float
        Share of samples where the student predicts the teacher's class.

    mean_kl_divergence : float
        Mean KL divergence from the teacher's to the student's probabilities.

    teacher_size_bytes, student_size_bytes : int
        Size of the pickled model, in bytes.

    teacher_batch_predict_seconds, student_batch_predict_seconds : float
        Best time to predict all samples at once, in seconds.

    teacher_single_predict_seconds, student_single_predict_seconds : float
        Median time to predict a single sample, in seconds.

    size_ratio, batch_time_ratio, single_time_ratio : float
        Teacher value divided by student value (properties): how many times
        smaller or faster the student is.

    Examples
    --------
    >>> from sklearn_kd.metrics import CompressionReport
    >>> report = CompressionReport(
    ...     n_samples=100, teacher_accuracy=0.97, student_accuracy=0.95,
    ...     teacher_log_loss=0.09, student_log_loss=0.14, agreement=0.96,
    ...     mean_kl_divergence=0.05, teacher_size_bytes=2_000_000,
    ...     student_size_bytes=8_000, teacher_batch_predict_seconds=0.02,
    ...     student_batch_predict_seconds=0.001,
    ...     teacher_single_predict_seconds=0.004,
    ...     student_single_predict_seconds=0.0001,
    ... )
    >>> print(report)
                            teacher  student  ratio
    accuracy                 0.9700   0.9500
    log loss                 0.0900   0.1400
    agreement with teacher            0.9600
    mean KL divergence                0.0500
    pickled size             2.0 MB   8.0 kB   250x
    predict time (batch)    20.0 ms   1.0 ms  20.0x
    predict time (1 row)     4.0 ms   100 µs  40.0x
    """

    n_samples: int
    teacher_accuracy: float | None
    student_accuracy: float | None
    teacher_log_loss: float | None
    student_log_loss: float | None
    agreement: float
    mean_kl_divergence: float
    teacher_size_bytes: int
    student_size_bytes: int
    teacher_batch_predict_seconds: float
    student_batch_predict_seconds: float
    teacher_single_predict_seconds: float
    student_single_predict_seconds: float

    def _quality_rows(self):
        rows = []
        if self.teacher_accuracy is not None:
            rows += [
                ("accuracy", "score", self.teacher_accuracy, self.student_accuracy),
                ("log loss", "loss", self.teacher_log_loss, self.student_log_loss),
            ]
        return rows + [
            ("agreement with teacher", "score", None, self.agreement),
            ("mean KL divergence", "loss", None, self.mean_kl_divergence),
        ]


@dataclass(frozen=True)
class RegressionCompressionReport(_ReportTable):
    """Side-by-side comparison of a regression teacher and its student.

    Built by :func:`compression_report` for regressors; rendered like
    :class:`CompressionReport`.

    Attributes
    ----------
    n_samples : int
        Number of samples the report was computed on.

    teacher_r2, student_r2 : float or None
        R² against ``y``; ``None`` when no ``y`` was given.

    teacher_rmse, student_rmse : float or None
        Root mean squared error against ``y``; ``None`` when no ``y`` was given.

    fidelity_r2 : float
        R² of the student's predictions against the teacher's.

    mean_absolute_deviation : float
        Mean absolute difference between the student's and the teacher's
        predictions.

    teacher_size_bytes, student_size_bytes : int
        Size of the pickled model, in bytes.

    teacher_batch_predict_seconds, student_batch_predict_seconds : float
        Best time to predict all samples at once, in seconds.

    teacher_single_predict_seconds, student_single_predict_seconds : float
        Median time to predict a single sample, in seconds.

    size_ratio, batch_time_ratio, single_time_ratio : float
        Teacher value divided by student value (properties).

    Examples
    --------
    >>> from sklearn_kd.metrics import RegressionCompressionReport
    >>> report = RegressionCompressionReport(
    ...     n_samples=100, teacher_r2=0.81, student_r2=0.79, teacher_rmse=0.5,
    ...     student_rmse=0.52, fidelity_r2=0.95, mean_absolute_deviation=0.1,
    ...     teacher_size_bytes=2_000_000, student_size_bytes=8_000,
    ...     teacher_batch_predict_seconds=0.02, student_batch_predict_seconds=0.001,
    ...     teacher_single_predict_seconds=0.004,
    ...     student_single_predict_seconds=0.0001,
    ... )
    >>> print(report)
                          teacher  student  ratio
    R² (vs y)              0.8100   0.7900
    RMSE (vs y)            0.5000   0.5200
    R² vs teacher                   0.9500
    mean abs. deviation             0.1000
    pickled size           2.0 MB   8.0 kB   250x
    predict time (batch)  20.0 ms   1.0 ms  20.0x
    predict time (1 row)   4.0 ms   100 µs  40.0x
    """

    n_samples: int
    teacher_r2: float | None
    student_r2: float | None
    teacher_rmse: float | None
    student_rmse: float | None
    fidelity_r2: float
    mean_absolute_deviation: float
    teacher_size_bytes: int
    student_size_bytes: int
    teacher_batch_predict_seconds: float
    student_batch_predict_seconds: float
    teacher_single_predict_seconds: float
    student_single_predict_seconds: float

    def _quality_rows(self):
        rows = []
        if self.teacher_r2 is not None:
            rows += [
                ("R² (vs y)", "score", self.teacher_r2, self.student_r2),
                ("RMSE (vs y)", "score", self.teacher_rmse, self.student_rmse),
            ]
        return rows + [
            ("R² vs teacher", "score", None, self.fidelity_r2),
            ("mean abs. deviation", "score", None, self.mean_absolute_deviation),
        ]


@validate_params(
    {
        "teacher": [HasMethods(["predict"])],
        "student": [HasMethods(["predict"])],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like", None],
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def compression_report(teacher, student, X, y=None, *, n_repeats=5):
    """Compare a fitted teacher and its student on accuracy, fidelity, size and speed.

    For a regressor teacher (scikit-learn's ``is_regressor``) the report is a
    :class:`RegressionCompressionReport`: R² and RMSE against ``y``, R² and mean
    absolute deviation against the teacher.

    Parameters
    ----------
    teacher : fitted classifier or regressor
        The large model: a classifier with ``classes_``, ``predict`` and
        ``predict_proba``, or a regressor with ``predict``.

    student : fitted classifier or regressor
        The compressed model; a classifier's student has the same set of
        ``classes_`` (in any order).
        If it has an ``export_student()`` method (as ``DistilledClassifier``
        has, since it carries its teacher), the pickled size is that of
        ``student.export_student()``; its prediction times are those of
        ``student.predict``.

    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Data to evaluate on; held-out data gives honest numbers.

    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        True labels or targets. Without them, the rows against ``y`` are left
        out (None).

    n_repeats : int, default=5
        Number of times each model predicts all of ``X``; the best time counts.
        Single-row time is the median over 50 calls on single rows.

    Returns
    -------
    report : CompressionReport or RegressionCompressionReport
        Teacher and student metrics, and teacher/student ratios for size and
        prediction times (above 1 when the student is smaller or faster).

    Notes
    -----
    The teacher's probabilities are reordered to the student's ``classes_`` by
    class value before computing the divergence and log losses. Agreement
    compares the labels returned by each model's ``predict``. Sizes are those
    of ``pickle.dumps(model, protocol=5)``. Times use
    :func:`time.perf_counter` on the current machine and load.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklearn_kd.metrics import compression_report
    >>> X, y = load_iris(return_X_y=True)
    >>> teacher = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    >>> student = DecisionTreeClassifier(max_depth=2, random_state=0).fit(
    ...     X, teacher.predict(X))
    >>> report = compression_report(teacher, student, X, y, n_repeats=1)
    >>> round(report.agreement, 3)
    0.96
    >>> report.size_ratio > 10
    True
    >>> print(report)  # doctest: +SKIP
                            teacher  student  ratio
    accuracy                 1.0000   0.9600
    log loss                 0.0239   0.1432
    agreement with teacher            0.9600
    mean KL divergence                0.1357
    pickled size            38.1 kB   1.6 kB  24.2x
    predict time (batch)     982 µs   106 µs   9.3x
    predict time (1 row)     808 µs  64.4 µs  12.5x
    """
    if y is not None:
        check_consistent_length(X, y)
    if is_regressor(teacher):
        return _regression_report(teacher, student, X, y, n_repeats)
    for model, role in ((teacher, "teacher"), (student, "student")):
        if not hasattr(model, "predict_proba"):
            raise TypeError(
                f"The {role} {type(model).__name__} has no predict_proba: a "
                "classifier's report needs the probabilities of both models (a "
                "regressor teacher gets a regression report)."
            )
    teacher_classes = _fitted_classes(teacher, "teacher")
    student_classes = _fitted_classes(student, "student")
    teacher_columns = _matching_columns(teacher_classes, student_classes)

    teacher_batch_seconds, teacher_labels = _best_time(teacher.predict, X, n_repeats)
    student_batch_seconds, student_labels = _best_time(student.predict, X, n_repeats)
    teacher_proba = np.asarray(teacher.predict_proba(X))[:, teacher_columns]
    student_proba = student.predict_proba(X)

    if y is None:
        accuracies = log_losses = (None, None)
    else:
        accuracies = tuple(
            float(accuracy_score(y, labels))
            for labels in (teacher_labels, student_labels)
        )
        log_losses = tuple(
            float(log_loss(y, proba, labels=student_classes))
            for proba in (teacher_proba, student_proba)
        )
    return CompressionReport(
        n_samples=_num_samples(X),
        teacher_accuracy=accuracies[0],
        student_accuracy=accuracies[1],
        teacher_log_loss=log_losses[0],
        student_log_loss=log_losses[1],
        agreement=agreement_score(teacher_labels, student_labels),
        mean_kl_divergence=mean_kl_divergence(teacher_proba, student_proba),
        **_costs(teacher, student, X, teacher_batch_seconds, student_batch_seconds),
    )


def _regression_report(teacher, student, X, y, n_repeats):
    check_is_fitted(teacher)
    check_is_fitted(student)
    teacher_batch_seconds, teacher_pred = _best_time(teacher.predict, X, n_repeats)
    student_batch_seconds, student_pred = _best_time(student.predict, X, n_repeats)
    scores = rmses = (None, None)
    if y is not None:
        scores = tuple(float(r2_score(y, p)) for p in (teacher_pred, student_pred))
        rmses = tuple(
            math.sqrt(mean_squared_error(y, p)) for p in (teacher_pred, student_pred)
        )
    return RegressionCompressionReport(
        n_samples=_num_samples(X),
        teacher_r2=scores[0],
        student_r2=scores[1],
        teacher_rmse=rmses[0],
        student_rmse=rmses[1],
        fidelity_r2=fidelity_r2_score(teacher_pred, student_pred),
        mean_absolute_deviation=mean_absolute_deviation(teacher_pred, student_pred),
        **_costs(teacher, student, X, teacher_batch_seconds, student_batch_seconds),
    )


def _costs(teacher, student, X, teacher_batch_seconds, student_batch_seconds):
    """Sizes and prediction times; a distilled estimator is sized by the
    student it exports (it carries its teacher)."""
    exported = (
        student.export_student()
        if callable(getattr(student, "export_student", None))
        else student
    )
    single_rows = _single_rows(X)
    return {
        "teacher_size_bytes": _pickled_size(teacher, "teacher"),
        "student_size_bytes": _pickled_size(exported, "student"),
        "teacher_batch_predict_seconds": teacher_batch_seconds,
        "student_batch_predict_seconds": student_batch_seconds,
        "teacher_single_predict_seconds": _median_time(teacher.predict, single_rows),
        "student_single_predict_seconds": _median_time(student.predict, single_rows),
    }


def _fitted_classes(estimator, role):
    check_is_fitted(estimator)
    if not hasattr(estimator, "classes_"):
        raise TypeError(
            f"The {role} must be a fitted classifier with a classes_ attribute; "
            f"{type(estimator).__name__} has none."
        )
    return np.asarray(estimator.classes_)


def _matching_columns(teacher_classes, student_classes):
    """Teacher probability columns, reordered to the student's class order."""
    column_of = {label: column for column, label in enumerate(teacher_classes.tolist())}
    missing = [c for c in student_classes.tolist() if c not in column_of]
    extra = sorted(set(column_of) - set(student_classes.tolist()), key=str)
    if missing or extra:
        raise ValueError(
            "The teacher and the student must have the same classes; classes "
            f"only the student has: {missing}, only the teacher has: {extra}."
        )
    return [column_of[c] for c in student_classes.tolist()]


def _pickled_size(model, role):
    try:
        return len(pickle.dumps(model, protocol=_PICKLE_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise TypeError(
            f"Cannot measure the size of the {role}: pickling it failed ({exc})."
        ) from exc


def _best_time(predict, X, n_repeats):
    """Best wall time of ``predict(X)`` over ``n_repeats`` calls, and its output."""
    best = math.inf
    for _ in range(n_repeats):
        start = time.perf_counter()
        output = predict(X)
        best = min(best, time.perf_counter() - start)
    return best, output


def _single_rows(X):
    n_samples = _num_samples(X)
    return [
        _safe_indexing(X, slice(i % n_samples, i % n_samples + 1))
        for i in range(_N_SINGLE_ROW_CALLS)
    ]


def _median_time(predict, rows):
    durations = []
    for row in rows:
        start = time.perf_counter()
        predict(row)
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)

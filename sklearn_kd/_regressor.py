"""DistilledRegressor, and what is particular to regression in its fit.

:class:`RegressionTask` answers the shared fit body's questions (targets and
their scale, the teacher's predictions, the loss's targets, the candidates'
score); the estimator adds its parameters and the predict methods.
"""

import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_array

from ._base import BaseDistiller
from ._docstrings import fill_docstring
from ._parameters import (
    SHARED_PARAMETERS,
    Parameter,
    distiller_init,
    parameter_constraints,
)
from ._sklearn_compat import HasMethods, Interval, StrOptions
from .serving._export import StudentRegressor
from .student._loss import RegressionDistillationLoss, pack_regression_targets
from .student._skorch_net import ScoredValues, StudentRegressorNet
from .teacher._adapters import query_teacher, teacher_name
from .teacher._regression import RegressorReading


@dataclass(frozen=True)
class TargetScale:
    """Per-output mean and standard deviation of the targets: of the labels
    where there are any, else of the teacher's predictions. The network works
    in these standard units."""

    shift: np.ndarray
    scale: np.ndarray


def target_statistics(y, fallback=None):
    """Per-output mean and standard deviation of the observed entries of ``y``.

    An output without a single observed entry takes those of ``fallback`` (the
    teacher's predictions); a constant output gets a standard deviation of 1.
    """
    observed = ~np.isnan(y)
    count = observed.sum(axis=0)
    filled = np.where(observed, y, 0.0)
    mean = filled.sum(axis=0) / np.maximum(count, 1)
    var = (np.where(observed, y - mean, 0.0) ** 2).sum(axis=0) / np.maximum(count, 1)
    if fallback is not None and (count == 0).any():
        empty = count == 0
        mean[empty] = fallback[:, empty].mean(axis=0)
        var[empty] = fallback[:, empty].var(axis=0)
    scale = np.sqrt(var)
    scale[~(scale > 1e-12)] = 1.0
    return mean, scale


FLOAT32_MAX = float(np.finfo(np.float32).max)


def warn_if_teacher_misfits(teacher, predictions, y):
    """Warn when a fitted teacher predicts the labelled targets worse than their
    mean (R^2 < 0): ``y`` is then most likely in other units than the teacher's,
    as under a ``TransformedTargetRegressor``, and the student would learn a mix
    of both."""
    predictions = np.asarray(predictions, dtype=np.float64).reshape(len(y), -1)
    for output in range(y.shape[1]):
        rows = ~np.isnan(y[:, output])
        if rows.sum() < 2 or np.ptp(y[rows, output]) == 0:
            continue
        r2 = r2_score(y[rows, output], predictions[rows, output])
        if r2 < 0:
            where = "" if y.shape[1] == 1 else f" (output {output})"
            warnings.warn(
                f"The fitted teacher {teacher_name(teacher)} scores R^2 = {r2:.3g} on "
                f"the labelled rows{where}: its predictions and y disagree more than "
                "y's mean does, as when y was transformed (for example by a "
                "TransformedTargetRegressor) after the teacher was fitted. Give the "
                "teacher the same targets, or pass it unfitted.",
                UserWarning,
                stacklevel=7,
            )


class RegressionTask:
    """What is particular to regression in a distiller's fit.

    The shared body (``BaseDistiller._fit``) asks it how targets are read and
    scaled, how the teacher is read, what the loss compares and how a
    candidate is scored; ``targets`` below are a :class:`TargetScale`.
    """

    name = "regressor"
    #: The argument a custom student's output size is passed under.
    output_argument = "n_outputs"
    #: The selection's hold-out is a plain random share.
    stratify = False
    criterion = RegressionDistillationLoss
    net_class = StudentRegressorNet

    def __init__(self, loss, huber_delta):
        self.loss = loss
        self.huber_delta = huber_delta

    @classmethod
    def from_estimator(cls, estimator):
        return cls(estimator.loss, estimator.huber_delta)

    # -- targets and the teacher -------------------------------------------------

    def validate_targets(self, y, n_rows):
        if y is None:
            raise ValueError(
                "DistilledRegressor requires y to be passed, but the target y is None."
            )
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise ValueError(
                f"Unknown label type: y must hold numbers (NaN marks a missing "
                f"label), got dtype {y.dtype}."
            )
        if np.isinf(y.astype(np.float64)).any():
            raise ValueError(
                "y holds infinite values; targets must be finite (NaN marks an "
                "entry without a label)."
            )
        y = check_array(
            y,
            ensure_2d=False,
            dtype=np.float64,
            ensure_all_finite="allow-nan",
            input_name="y",
        )
        if y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}.")
        largest = np.nanmax(np.abs(y), initial=0.0)
        if largest > FLOAT32_MAX:
            raise ValueError(
                f"y holds values up to {largest:.3g}, beyond what the student's "
                f"float32 numbers can hold (about {FLOAT32_MAX:.2g}): express y in "
                "larger units (divide it by a power of ten), for example with a "
                "TransformedTargetRegressor that scales the predictions back."
            )
        if len(y) != n_rows:
            raise ValueError(
                f"X has {n_rows} rows but y has {len(y)}: give one target per row."
            )
        y = y.reshape(n_rows, -1)
        return y, ~np.isnan(y).all(axis=1)

    def teacher_labels(self, data):
        """The targets a teacher is fitted on (1-D for one output), and the rows
        labelled for every output."""
        y = data.y
        return (y[:, 0] if y.shape[1] == 1 else y), ~np.isnan(y).any(axis=1)

    def targets_from_labels(self, data, fitted_teacher):
        return TargetScale(*target_statistics(data.y))

    def check_teacher(self, teacher, data, fitted):
        """Errors due before the teacher is queried."""
        if not fitted and not self.teacher_labels(data)[1].any():
            raise ValueError(
                "The unfitted teacher needs rows labelled for every output to be "
                "fitted on, and there are none: label some rows, or pass a "
                "fitted teacher."
            )

    def reading(self, teacher, data):
        return RegressorReading(data.y.shape[1])

    def targets_from_teacher(self, teacher, result, data, fitted):
        if fitted:
            warn_if_teacher_misfits(teacher, result.outputs, data.y)
        return TargetScale(*target_statistics(data.y, fallback=result.outputs))

    # -- the loss ----------------------------------------------------------------

    def transfer_labels(self, data, targets):
        return data.y

    def packed_targets(self, transfer, c_soft, c_hard, soft_target_weight):
        teacher = transfer.teacher if soft_target_weight > 0 else None
        return pack_regression_targets(teacher, transfer.labels, c_soft, c_hard)

    def n_outputs(self, targets):
        return len(targets.scale)

    def output_affine(self, targets):
        return targets.scale, targets.shift

    def scoring_targets(self, targets):
        n_outputs = len(targets.scale)
        return ScoredValues(n_outputs, one_column=n_outputs == 1)

    def fidelity_targets(self, teacher_outputs):
        return teacher_outputs

    def validation_losses(self, output, labels, sample_weight, targets):
        """Per held-out row score of a candidate (lower is better): the training
        loss (squared error, or Huber's with ``huber_delta``) in standard units,
        averaged over the row's labelled outputs. Gross outliers among the
        held-out labels must not pick the student that chases them."""
        observed = ~np.isnan(labels)
        residual = np.abs(np.where(observed, (output - labels) / targets.scale, 0.0))
        if self.loss == "huber":
            delta = self.huber_delta
            row_loss = np.where(
                residual <= delta, 0.5 * residual**2, delta * (residual - 0.5 * delta)
            )
        else:
            row_loss = residual**2
        return row_loss.sum(axis=1) / np.maximum(observed.sum(axis=1), 1)

    def net_params(self, targets, soft_target_weight):
        return {
            "criterion__n_outputs": len(targets.scale),
            "criterion__scale": targets.scale.tolist(),
            "criterion__loss": self.loss,
            "criterion__huber_delta": self.huber_delta,
            "criterion__soft_target_weight": soft_target_weight,
        }

    def fitted_attributes(self, targets):
        return {
            "n_outputs_": len(targets.scale),
            "target_mean_": targets.shift,
            "target_scale_": targets.scale,
        }


#: The regressor's own parameters, before the shared ones.
REGRESSOR_PARAMETERS = (
    Parameter(
        "teacher",
        None,
        [HasMethods(["fit", "predict"]), HasMethods(["predict"]), None],
    ),
    Parameter("loss", "squared_error", [StrOptions({"squared_error", "huber"})]),
    Parameter("huber_delta", 1.0, [Interval(Real, 0, None, closed="neither")]),
    *SHARED_PARAMETERS,
)


@fill_docstring("regressor")
class DistilledRegressor(RegressorMixin, BaseDistiller):
    """Distil a teacher regressor into a small neural network student.

    The student, a PyTorch network trained by skorch, learns from the teacher's
    predictions and from the true targets. With ``w = soft_target_weight``,
    sample weights ``s``, all training rows ``A``, the rows ``L_k`` labelled for
    output ``k`` of ``K``, student predictions ``z``, teacher predictions ``t``
    and each target's standard deviation ``d_k``::

        loss = w * sum_A s * mean_k l((z_k - t_k) / d_k) / sum_A s
             + (1 - w) * mean_k [sum_{L_k} s * l((z_k - y_k) / d_k) / sum_{L_k} s]

    with ``l(r) = r**2`` or the Huber loss. The network works in standard units
    and the scale is undone inside the module, so ``lr`` and the defaults work
    whatever the target's unit. A target value of NaN marks an entry without a
    label: such a row (or output) learns from the teacher alone, as MUNGE's
    synthetic rows do.

    Parameters
    ----------
    teacher : regressor, default=None
        Any regressor with ``predict``: a scikit-learn model or pipeline, a skorch
        ``NeuralNetRegressor``, a ``FrozenEstimator``. A **fitted** teacher is used
        as it is: never refitted or mutated, and kept fitted by
        :func:`sklearn.base.clone` (so grid searches do not refit it); its nested
        parameters are then read-only. An **unfitted** teacher is cloned and
        fitted on the fully labelled rows in every ``fit`` (with their
        ``sample_weight`` when its ``fit`` takes them, with a warning
        otherwise). ``None`` is allowed only with ``soft_target_weight`` 0 or
        ``"auto"`` (which then means 0). Predictions that are not finite, or
        whose number of outputs differs from ``y``'s, raise an error naming the
        teacher.
    loss : {"squared_error", "huber"}, default="squared_error"
        The loss ``l`` of both terms, on residuals in standard units. Huber
        (quadratic up to ``huber_delta`` standard deviations, linear beyond)
        keeps a few wild targets, or a teacher's wild predictions, from
        dominating the gradients: use it on heavy-tailed or top-coded targets.
    huber_delta : float, default=1.0
        Where the Huber loss turns linear, in standard deviations of the target.
    soft_target_weight : float or "auto", default="auto"
        Weight ``w`` in ``[0, 1]`` of the soft term. ``0`` trains on labels alone
        (the teacher is then neither fitted nor queried); ``1`` on the teacher's
        predictions alone. ``"auto"``: chosen by ``fit`` between ``0`` and
        ``0.5`` (see Notes).
    soft_targets : {"auto", "predict", "oob", "cross_fit"}, default="auto"
        Where the labelled rows' soft targets come from. ``"predict"``: the
        teacher's plain predictions. ``"oob"``: out-of-bag predictions of a bagged
        ensemble (random forest, extra trees, bagging); for an unfitted teacher
        the library turns ``oob_score`` on; rows that every tree saw have no
        out-of-bag prediction and take the plain one. ``"cross_fit"``: each row's
        prediction from a clone fitted on the other ``cv`` folds (unfitted
        teachers only). ``"auto"``: ``"oob"`` for a fitted bagged teacher whose
        out-of-bag predictions are checked to be those of the labelled rows
        (see the user guide on soft targets), ``"predict"`` for any other fitted
        teacher, ``"oob"`` for an unfitted bagged one, else ``"cross_fit"``.
    cv : int, cross-validation generator or iterable, default=5
        Folds for ``soft_targets="cross_fit"``: a number of shuffled folds, or any
        scikit-learn splitter.
    [[augmentation]]
    [[student]]
    [[running]]
    **kwargs
        Nested parameters ``student__name``, ``optimizer__name`` and
        ``callbacks__name__param``; any other keyword raises a ``TypeError``
        that names the parameter most likely meant.

    Attributes
    ----------
    teacher_ : estimator or None
        The fitted teacher (the given one when it was fitted); ``None`` when
        trained on labels alone without a fitted teacher.
    soft_targets_ : str or None
        The soft-target source used (``"auto"`` resolved).
    n_outputs_ : int
        Number of targets.
    target_mean_, target_scale_ : ndarray of shape (`n_outputs_`,)
        The targets' mean and standard deviation the network's outputs are
        scaled by.
    [[fitted_state]]

    See Also
    --------
    StudentRegressor : The trained student alone, without its teacher.
    DistilledClassifier : The same for classifiers.

    [[selection_notes]]

    Examples
    --------
    An unfitted teacher is fitted on the rows given to ``fit`` first:

    >>> from sklearn.datasets import load_diabetes
    >>> X, y = load_diabetes(return_X_y=True)
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from sklearn_kd import DistilledRegressor
    >>> teacher = RandomForestRegressor(n_estimators=50, random_state=0)
    >>> student = DistilledRegressor(teacher, max_epochs=100, random_state=0)
    >>> student.fit(X, y).predict(X[:2]).shape
    (2,)
    >>> float(student.score(X, y)) > 0.4
    True
    """

    _parameter_constraints = parameter_constraints(REGRESSOR_PARAMETERS)
    _task_class = RegressionTask
    __init__ = distiller_init(REGRESSOR_PARAMETERS)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    # -- predict ---------------------------------------------------------------

    def predict(self, X):
        """Predicted targets.

        [[rows_to_predict]]
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            One column per output; 1-D for a single target.
        """
        output = self._student_output(X).astype(np.float64)
        return output[:, 0] if self.n_outputs_ == 1 else output

    def teacher_predict(self, X):
        """The teacher's predictions, in the shape ``predict`` gives.

        [[rows_for_the_teacher]]
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            One column per output; 1-D for a single target.
        """
        output = query_teacher(
            self._fitted_teacher(), X, "predict", self.teacher_batch_size, self.n_jobs
        )
        return output[:, 0] if self.n_outputs_ == 1 else output

    def export_student(self):
        """The trained student alone, as a :class:`StudentRegressor`.

        It holds the input encoding, the network and the map back to the
        targets' units, on the CPU, and no reference to the teacher.

        Returns
        -------
        student : StudentRegressor
            A copy of the student, independent of this estimator.
        """
        return self._exported(StudentRegressor, n_outputs=self.n_outputs_)

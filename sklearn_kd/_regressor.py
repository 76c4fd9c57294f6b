"""DistilledRegressor: distil any regressor into a small PyTorch student."""

import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_array, check_is_fitted

from ._base import BaseDistiller
from ._docstrings import fill_docstring
from ._encoding import ENCODINGS
from ._export import StudentRegressor
from ._loss import (
    RegressionDistillationLoss,
    loss_coefficients,
    pack_regression_targets,
)
from ._regression_teacher import RegressorReading
from ._seeds import draw_seed
from ._sklearn_compat import HasMethods, Interval, StrOptions, _fit_context
from ._skorch_net import ScoredValues, StudentRegressorNet
from ._soft_targets import (
    SOFT_TARGET_SOURCES,
    cross_fit_folds,
    resolve_source,
    teacher_outputs,
    teacher_refusals,
    warn_if_weights_not_passed,
)
from ._teacher import is_fitted, query_teacher, teacher_name
from ._transfer_set import TransferSet


@dataclass
class RegressorStage:
    """What the teacher stage gives the rest of a regressor's fit.

    Attributes
    ----------
    predictions : ndarray of shape (n_rows, n_outputs) or None
        The teacher's predictions on the real rows; None when training on labels.
    synthetic : tuple (X, predictions, source_row) or None
        MUNGE rows, their predictions and the real row each came from.
    source : str or None
        The soft-target source used.
    teacher : estimator or None
        The fitted teacher (the given one when it came fitted).
    shift, scale : ndarray of shape (n_outputs,)
        Mean and standard deviation of the targets: of the labels where there
        are any, else of the teacher's predictions.
    """

    predictions: np.ndarray | None
    synthetic: tuple | None
    source: str | None
    teacher: object
    shift: np.ndarray
    scale: np.ndarray

    @property
    def logits(self):  # the name the shared pipeline reads: the teacher's outputs
        return self.predictions


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
                stacklevel=4,
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
    soft_target_weight : float or "auto", default="auto"
        Weight ``w`` in ``[0, 1]`` of the soft term. ``0`` trains on labels alone
        (the teacher is then neither fitted nor queried); ``1`` on the teacher's
        predictions alone. ``"auto"``: chosen by ``fit`` between ``0`` and
        ``0.5`` (see Notes).
    loss : {"squared_error", "huber"}, default="squared_error"
        The loss ``l`` of both terms, on residuals in standard units. Huber
        (quadratic up to ``huber_delta`` standard deviations, linear beyond)
        keeps a few wild targets, or a teacher's wild predictions, from
        dominating the gradients: use it on heavy-tailed or top-coded targets.
    huber_delta : float, default=1.0
        Where the Huber loss turns linear, in standard deviations of the target.
    soft_targets : {"auto", "predict", "oob", "cross_fit"}, default="auto"
        Where the labelled rows' soft targets come from. ``"predict"``: the
        teacher's plain predictions. ``"oob"``: out-of-bag predictions of a bagged
        ensemble (random forest, extra trees, bagging); for an unfitted teacher
        the library turns ``oob_score`` on; rows that every tree saw have no
        out-of-bag prediction and take the plain one. ``"cross_fit"``: each row's
        prediction from a clone fitted on the other ``cv`` folds (unfitted
        teachers only). ``"auto"``: ``"predict"`` for a fitted teacher, ``"oob"``
        for an unfitted bagged one, else ``"cross_fit"``.
    cv : int, cross-validation generator or iterable, default=5
        Folds for ``soft_targets="cross_fit"``: a number of shuffled folds, or any
        scikit-learn splitter.
    [[augmentation]]
    [[student]]
    [[running]]
    **kwargs
        Nested parameters ``student__name``, ``optimizer__name`` and
        ``callbacks__name__param``.

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
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` has string column names.

    [[selection_notes]]

    See Also
    --------
    StudentRegressor : the trained student alone, without its teacher.
    DistilledClassifier : the same for classifiers.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from sklearn_kd import DistilledRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> forest = RandomForestRegressor(n_estimators=50, random_state=0).fit(X, y)
    >>> student = DistilledRegressor(forest, max_epochs=100, random_state=0)
    >>> student.fit(X, y).predict(X[:2]).shape
    (2,)
    >>> float(student.score(X, y)) > 0.4
    True
    """

    _task = "regressor"
    _output_argument = "n_outputs"
    _stratify = False

    _parameter_constraints = {
        "teacher": [HasMethods(["fit", "predict"]), HasMethods(["predict"]), None],
        "soft_target_weight": [
            Interval(Real, 0, 1, closed="both"),
            StrOptions({"auto"}),
        ],
        "loss": [StrOptions({"squared_error", "huber"})],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
        "soft_targets": [StrOptions(set(SOFT_TARGET_SOURCES))],
        "cv": ["cv_object"],
        "augment": [StrOptions({"munge", "auto"}), None],
        "augment_factor": [Interval(Integral, 1, None, closed="left")],
        "munge_swap_probability": [Interval(Real, 0, 1, closed="both")],
        "munge_spread": [Interval(Real, 0, None, closed="neither")],
        "categorical_features": ["array-like", None],
        "student": [type, None],
        "hidden_layer_sizes": [StrOptions({"auto"}), tuple, list],
        "max_epochs": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [type],
        "callbacks": [list, None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "accelerate": [None, "boolean", dict],
        "encoding": [StrOptions({"auto", *ENCODINGS})],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "scaling": [StrOptions({"standard"}), None],
        "teacher_batch_size": [Interval(Integral, 1, None, closed="left")],
        "memory": [None, str, HasMethods(["cache"])],
        "n_jobs": [Integral, None],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    _criterion = RegressionDistillationLoss
    _net_class = StudentRegressorNet

    def __init__(
        self,
        teacher=None,
        *,
        soft_target_weight="auto",
        loss="squared_error",
        huber_delta=1.0,
        soft_targets="auto",
        cv=5,
        augment="auto",
        augment_factor=5,
        munge_swap_probability=0.5,
        munge_spread=1.0,
        categorical_features=None,
        student=None,
        hidden_layer_sizes="auto",
        max_epochs="auto",
        batch_size="auto",
        lr=1e-3,
        optimizer=torch.optim.Adam,
        callbacks=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        device="cpu",
        accelerate=None,
        encoding="auto",
        n_bins=32,
        scaling="standard",
        teacher_batch_size=10_000,
        memory=None,
        n_jobs=None,
        n_threads=None,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        self.teacher = teacher
        self.soft_target_weight = soft_target_weight
        self.loss = loss
        self.huber_delta = huber_delta
        self.soft_targets = soft_targets
        self.cv = cv
        self.augment = augment
        self.augment_factor = augment_factor
        self.munge_swap_probability = munge_swap_probability
        self.munge_spread = munge_spread
        self.categorical_features = categorical_features
        self.student = student
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.callbacks = callbacks
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.accelerate = accelerate
        self.encoding = encoding
        self.n_bins = n_bins
        self.scaling = scaling
        self.teacher_batch_size = teacher_batch_size
        self.memory = memory
        self.n_jobs = n_jobs
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        for key, value in kwargs.items():
            setattr(self, key, value)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    # -- fit -------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the teacher if needed, read its predictions and train the student.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows, passed to the teacher exactly as given. NaN reaches
            the teacher, which decides whether it accepts it; the student imputes
            it.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets; NaN marks an entry without a label (infinity is an error).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights, in the loss and in an unfitted teacher's
            ``fit``.

        Returns
        -------
        self : DistilledRegressor
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    def _validate_targets(self, y, n_rows):
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

    def _teacher_stage(self, data, rng, progress):
        y = data.y
        teacher = self.teacher
        if self.soft_target_weight == 0 or (
            teacher is None and self.soft_target_weight == "auto"
        ):
            shift, scale = target_statistics(y)
            fitted = teacher is not None and is_fitted(teacher)
            return RegressorStage(
                None, None, None, teacher if fitted else None, shift, scale
            )
        teacher = self._checked_teacher(data)
        fit_rows = ~np.isnan(y).any(axis=1)
        fitted = is_fitted(teacher)
        if not fitted:
            if not fit_rows.any():
                raise ValueError(
                    "The unfitted teacher needs rows labelled for every output to be "
                    "fitted on, and there are none: label some rows, or pass a "
                    "fitted teacher."
                )
            warn_if_weights_not_passed(teacher, data.sample_weight)
        y_teacher = y[:, 0] if y.shape[1] == 1 else y
        source = resolve_source(
            teacher, self.soft_targets, y_teacher[fit_rows], self.cv, classifier=False
        )
        synthetic = self._synthetic_rows(data, rng, progress)
        folds = None
        if source == "cross_fit":
            folds = cross_fit_folds(
                self.cv,
                data.X[fit_rows],
                y_teacher[fit_rows],
                draw_seed(rng),
                classifier=False,
            )
        with (
            teacher_refusals(teacher, data.has_nan),
            progress.stage("teacher") as said,
        ):
            result = self._cached(
                teacher_outputs,
                teacher,
                X=data.X_teacher,
                y=y_teacher,
                labelled=fit_rows,
                X_synthetic=None if synthetic is None else synthetic[0],
                source=source,
                reading=RegressorReading(y.shape[1]),
                folds=folds,
                sample_weight=data.sample_weight,
            )
            action = "queried" if fitted else f"fitted ({result.source}) and queried"
            n_rows = len(y) + (0 if synthetic is None else len(synthetic[2]))
            said.append(f"{teacher_name(teacher)} {action} on {n_rows} rows")
        if fitted:
            warn_if_teacher_misfits(teacher, result.outputs, y)
        shift, scale = target_statistics(y, fallback=result.outputs)
        if synthetic is not None:
            synthetic = (synthetic[1], result.synthetic, synthetic[2])
        return RegressorStage(
            result.outputs,
            synthetic,
            result.source,
            result.fitted_teacher or teacher,
            shift,
            scale,
        )

    def _transfer_set(self, data, stage):
        if stage.predictions is None:
            return TransferSet.from_labels(data.X, data.y, data.weights)
        return TransferSet.for_distillation(
            data.X, stage.predictions, data.y, data.weights, stage.synthetic
        )

    def _coefficients(self, transfer, train_rows, soft_target_weight):
        return loss_coefficients(
            transfer.sample_weight, transfer.labelled, soft_target_weight, train_rows
        )

    def _packed_targets(self, transfer, train_rows, soft_target_weight):
        teacher = transfer.teacher if soft_target_weight > 0 else None
        c_soft, c_hard = self._coefficients(transfer, train_rows, soft_target_weight)
        return pack_regression_targets(teacher, transfer.labels, c_soft, c_hard)

    def _n_outputs(self, stage):
        return len(stage.scale)

    def _output_affine(self, stage):
        return stage.scale, stage.shift

    def _scoring_targets(self, stage):
        return ScoredValues(len(stage.scale), one_column=len(stage.scale) == 1)

    def _fidelity_targets(self, teacher_outputs):
        return teacher_outputs

    def _validation_losses(self, output, labels, sample_weight, stage):
        """Per held-out row score of a candidate (lower is better): the training
        loss (squared error, or Huber's with ``huber_delta``) in standard units,
        averaged over the row's labelled outputs. Gross outliers among the
        held-out labels must not pick the student that chases them."""
        observed = ~np.isnan(labels)
        residual = np.abs(np.where(observed, (output - labels) / stage.scale, 0.0))
        if self.loss == "huber":
            delta = self.huber_delta
            row_loss = np.where(
                residual <= delta, 0.5 * residual**2, delta * (residual - 0.5 * delta)
            )
        else:
            row_loss = residual**2
        return row_loss.sum(axis=1) / np.maximum(observed.sum(axis=1), 1)

    def _net_params(self, stage, soft_target_weight):
        return {
            "criterion__n_outputs": len(stage.scale),
            "criterion__scale": stage.scale.tolist(),
            "criterion__loss": self.loss,
            "criterion__huber_delta": self.huber_delta,
            "criterion__soft_target_weight": soft_target_weight,
        }

    def _set_task_attributes(self, data, stage):
        self.teacher_ = stage.teacher
        self.soft_targets_ = stage.source
        self.n_outputs_ = len(stage.scale)
        self.target_mean_ = stage.shift
        self.target_scale_ = stage.scale

    # -- predict ---------------------------------------------------------------

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict, with the columns (and names) seen in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            One column per output; 1-D for a single target.
        """
        output = self._student_output(X).astype(np.float64)
        return output[:, 0] if self.n_outputs_ == 1 else output

    def teacher_predict(self, X):
        """The teacher's predictions, in the shape ``predict`` gives.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows, passed to the teacher as they are.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        check_is_fitted(self)
        if self.teacher_ is None:
            raise ValueError(
                "This DistilledRegressor was trained on labels alone "
                "(soft_target_weight=0) without a fitted teacher."
            )
        output = query_teacher(
            self.teacher_, X, "predict", self.teacher_batch_size, self.n_jobs
        )
        return output[:, 0] if self.n_outputs_ == 1 else output

    def export_student(self):
        """The trained student alone, as a :class:`StudentRegressor`.

        It holds the input encoding, the network and the map back to the
        targets' units, on the CPU, and no reference to the teacher.

        Returns
        -------
        student : StudentRegressor
        """
        check_is_fitted(self)
        import copy

        module = copy.deepcopy(self.student_.module_).cpu().eval()
        return StudentRegressor(
            module,
            n_outputs=self.n_outputs_,
            feature_names=getattr(self, "feature_names_in_", None),
            category_codes=self.category_codes_,
            allow_nan=self.allow_nan_,
            input_offset=self.input_offset_,
        )

"""What every distilling estimator shares: parameters, the fit pipeline, the student.

``fit`` reads top to bottom, as a list of stages::

    check the settings      nested parameters, device, the student's arguments
    validate the data       -> FitData
    teacher stage           -> the teacher's outputs (fitted and queried, cached)
    transfer set            -> TransferSet
    train the student       -> StudentNet
    assign fitted state     only now: a failed fit leaves the previous state whole

What differs between classification and regression is one task object
(``ClassificationTask`` in ``_classifier.py``, ``RegressionTask`` in
``_regressor.py``) that this body asks: how labels are read, what the targets
are (classes, or the targets' scale), how the teacher is read, what the loss
compares, how a selection candidate is scored and which fitted attributes the
task adds. The estimators add their parameters and predict methods.
"""

import copy
import inspect
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from numbers import Integral

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, is_classifier, is_regressor
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.validation import check_is_fitted, check_memory, validate_data

from . import __version__
from ._categorical import (
    CategoryCodes,
    as_frame,
    categorical_mask,
    is_pandas_dataframe,
    synthetic_frame,
)
from ._munge import munge
from ._parameters import NESTED_PREFIXES
from ._progress import Progress
from ._seeds import draw_seed
from ._sklearn_compat import (
    _check_feature_names,
    _check_sample_weight,
    _fit_context,
)
from ._transfer_set import TransferSet, rows_where
from .serving._inference import StudentInference, lean_rows
from .student._budget import resolved_budget
from .student._input_offset import fit_offset, student_rows
from .student._loss import loss_coefficients
from .student._lr_schedule import check_schedule, schedule_callbacks
from .student._network import MLP, InputEncoder, StudentModule, auto_hidden_layer_sizes
from .student._selection import (
    can_select,
    fixed_choice,
    munge_searched,
    no_search_reason,
    select,
)
from .student._skorch_net import (
    EpochProgressBar,
    FixedSplit,
    RowTensors,
    StudentTraining,
    TeacherFidelity,
    with_label_targets,
)
from .student._threads import auto_threads
from .student._torch_state import seeded, torch_threads
from .teacher._adapters import final_estimator, is_fitted, teacher_name
from .teacher._categorical import teacher_categorical_mask
from .teacher._fingerprint import remembered_fingerprint
from .teacher._shared_models import SharedFittedModels
from .teacher._soft_targets import (
    cross_fit_folds,
    resolve_source,
    teacher_outputs,
    teacher_refusals,
    warn_if_weights_not_passed,
)
from .teacher._split_thresholds import split_thresholds

DEFAULT_CALLBACK_NAMES = frozenset(
    {
        "epoch_timer",
        "train_loss",
        "valid_loss",
        "divergence_guard",
        "print_log",
        "progress_bar",
        "early_stopping",
        "teacher_fidelity",
    }
)
#: Dropout of the default MLP's hidden layers under the piecewise-linear
#: encoding (unless ``student__dropout`` says otherwise): it curbs the
#: overfitting of the encoding's many inputs (see benchmarks/selection_probe.py).
PIECEWISE_LINEAR_DROPOUT = 0.2
#: What ``verbose`` says of a fitted teacher's soft targets, by source.
FITTED_TEACHER_READINGS = {
    "predict": "queried (in-sample outputs on the training rows)",
    "oob": "queried (out-of-bag estimates on the rows it was fitted on, checked)",
}
#: Training rows on which the history records the student's fidelity per epoch.
FIDELITY_SAMPLE_ROWS = 1000


@dataclass
class FitData:
    """The validated inputs of one fit.

    Attributes
    ----------
    X_teacher : array-like or DataFrame
        The rows as the teacher reads them (a DataFrame stays one).
    X : ndarray of shape (n_rows, n_features)
        The rows as the student reads them: floats, string columns as codes.
    y : ndarray
        The labels as validated.
    labelled : ndarray of bool
        Which rows carry a label (any of their outputs, for several outputs).
    sample_weight : ndarray or None
        The user's row weights, validated; None when none were given.
    categorical : ndarray of bool
        Categorical columns.
    category_codes : CategoryCodes or None
        The coding of a DataFrame's string columns.
    has_nan : bool
        Whether ``X`` holds missing values.
    input_offset : ndarray or None
        Per-column float64 shifts applied before the student's float32 (see
        ``sklearn_kd.student._input_offset``); None when no column needs one.
    """

    X_teacher: object
    X: np.ndarray
    y: np.ndarray
    labelled: np.ndarray
    sample_weight: np.ndarray | None
    categorical: np.ndarray
    category_codes: CategoryCodes | None
    has_nan: bool
    input_offset: np.ndarray | None = None

    @property
    def X_student(self):
        """``X`` less the input offset, in float64 (what encodings are fitted on)."""
        return self.X if self.input_offset is None else self.X - self.input_offset

    @property
    def weights(self):
        """Row weights, ones when none were given."""
        if self.sample_weight is None:
            return np.ones(len(self.X))
        return self.sample_weight

    @property
    def n_weighted_labels(self):
        """Labelled rows of positive weight: those the selection can learn from
        and score on."""
        return int((self.labelled & (self.weights > 0)).sum())


@dataclass
class TeacherStage:
    """What the teacher stage gives the rest of a fit.

    Attributes
    ----------
    outputs : ndarray of shape (n_rows, n_outputs) or None
        The teacher's logits (classification) or predictions (regression) on
        the real rows; None when training on labels alone.
    synthetic : tuple (X, outputs, source_row) or None
        MUNGE rows, the teacher's outputs on them and the real row each came
        from.
    source : str or None
        The soft-target source used.
    teacher : estimator or None
        The fitted teacher (the given one when it came fitted).
    targets : object
        The task's description of the targets: the sorted classes, or the
        regression targets' scale.
    """

    outputs: np.ndarray | None
    synthetic: tuple | None
    source: str | None
    teacher: object
    targets: object


@contextmanager
def fitted_state_kept_on_error(estimator):
    """On an error inside the block, put the estimator's fitted state back whole.

    Fitted attributes are those ending in one underscore; an estimator that was
    not fitted before is left unfitted.
    """

    def fitted_names():
        return [k for k in vars(estimator) if k.endswith("_") and not k.endswith("__")]

    saved = {name: vars(estimator)[name] for name in fitted_names()}
    try:
        yield
    except BaseException:
        for name in fitted_names():
            delattr(estimator, name)
        vars(estimator).update(saved)
        raise


def resolve_device(device):
    """The torch device to train on, or a clear error."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"device={device!r} is not a torch device: use 'cpu', 'cuda', 'cuda:N' "
            "or 'auto' (a GPU when there is one)."
        ) from error
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but PyTorch sees no CUDA device; use "
            "device='cpu', or device='auto' to use a GPU only when there is one."
        )
    if parsed.type != "cpu":
        try:
            torch.empty(0, device=parsed)
        except (RuntimeError, AssertionError):
            raise ValueError(
                f"device={device!r} was requested but PyTorch cannot place a tensor "
                f"on {parsed.type!r} on this machine; use "
                "device='cpu', or device='auto' to use a GPU only when there is one."
            ) from None
    return device


def _accepted_keywords(callable_, fixed=()):
    """Keyword arguments ``callable_`` takes, or None when it takes any."""
    try:
        parameters = inspect.signature(callable_).parameters.values()
    except (TypeError, ValueError):  # no signature to read
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in parameters if p.kind in kinds} - set(fixed)


def _check_keywords(callable_, params, message):
    accepted = _accepted_keywords(callable_)
    unknown = [] if accepted is None else sorted(set(params) - accepted)
    if unknown:
        raise TypeError(message.format(unknown=unknown, accepted=sorted(accepted)))


class BaseDistiller(SharedFittedModels, BaseEstimator):
    """Shared machinery of :class:`DistilledClassifier` and
    :class:`DistilledRegressor`.

    A subclass declares its parameters (``__init__`` and
    ``_parameter_constraints``, see ``sklearn_kd._parameters``) and its
    ``_task_class``, whose ``from_estimator`` builds the task object that
    ``fit`` asks what is particular to the task.
    """

    _shared_model_params = ("teacher",)

    # -- parameters ------------------------------------------------------------

    def _extra_params(self):
        """The nested parameters (``student__*``, ``optimizer__*``,
        ``callbacks__*``): any other attribute set on the estimator stays an
        attribute, never a parameter."""
        return {
            key: value
            for key, value in vars(self).items()
            if key.startswith(NESTED_PREFIXES)
        }

    def _nested_params(self, prefix):
        return {
            key[len(prefix) :]: value
            for key, value in self._extra_params().items()
            if key.startswith(prefix)
        }

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update(self._extra_params())
        return params

    def set_params(self, **params):
        for key in [key for key in params if key.startswith(NESTED_PREFIXES)]:
            setattr(self, key, params.pop(key))
        return super().set_params(**params)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._teacher_allows_nan()
        return tags

    def _teacher_allows_nan(self):
        """Whether the teacher is known to accept NaN (the student imputes).

        A pipeline sets no ``allow_nan`` tag of its own; its first step decides
        whether missing values get past it.
        """
        teacher = self.teacher
        if teacher is None or self.soft_target_weight == 0:
            return True
        first = teacher
        while hasattr(first, "steps"):
            first = first.steps[0][1]
        if first == "passthrough" or first is None:
            first = final_estimator(teacher)
        try:
            return bool(get_tags(first).input_tags.allow_nan)
        except (TypeError, AttributeError):
            return False

    # -- fit -------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the teacher if needed, read its outputs and train the student.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows, passed to the teacher exactly as given. NaN reaches
            the teacher, which decides whether it accepts it (a teacher that
            refuses it raises an error saying so); the student imputes it.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels, ``-1`` marking an unlabelled row (see
            :class:`~sklearn_kd.DistilledClassifier`); or regression targets, one column
            per output, NaN marking an entry without a label (infinity is an
            error).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights, in the loss and in an unfitted teacher's
            ``fit``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        with fitted_state_kept_on_error(self):
            self._check_settings()
            task = self._task_class.from_estimator(self)
            progress = Progress(self.verbose, type(self).__name__)
            data = self._validate_fit_data(task, X, y, sample_weight)
            rng = check_random_state(self.random_state)
            seed = draw_seed(rng)
            accelerator = None
            if self.accelerate:
                from .student._accelerate import broadcast_from_main, make_accelerator

                accelerator = make_accelerator(self.accelerate, self.device)
                stage = broadcast_from_main(
                    accelerator, lambda: self._teacher_stage(task, data, rng, progress)
                )
            else:
                stage = self._teacher_stage(task, data, rng, progress)
            transfer = self._transfer_set(task, data, stage)
            has_teacher = stage.outputs is not None
            n_labelled, n_rows = data.n_weighted_labels, len(data.X)
            choice, scores = fixed_choice(self, has_teacher), None
            reason = no_search_reason(self, n_labelled, n_rows, has_teacher)
            if can_select(self, n_labelled, n_rows, has_teacher):

                def train_candidate(rows, choice, max_epochs):
                    return self._student_training(
                        task, rows, data, stage, choice, seed, max_epochs=max_epochs
                    )

                choice, scores, reason = select(
                    self,
                    transfer,
                    stage,
                    seed,
                    progress,
                    train=train_candidate,
                    score=task.validation_losses,
                    stratify=task.stratify,
                    input_offset=data.input_offset,
                )
            if not choice.augment and len(transfer) > transfer.n_real:
                transfer = transfer.take(np.arange(transfer.n_real))
            with progress.stage(f"student ({choice.label()})") as said:
                student = self._student_training(
                    task, transfer, data, stage, choice, seed, accelerator=accelerator
                ).run()
                said.append(
                    f"{len(student.history)} epochs on {len(transfer)} rows in "
                    f"batches of {student.batch_size}, train loss "
                    f"{student.history[-1, 'train_loss']:.4f}"
                )
            self.student_ = student
            self.__dict__["_inference_cache"] = StudentInference(
                student.module_, student.device
            )
            self.selected_params_ = {
                **choice.as_dict(),
                "max_epochs": student.max_epochs,
                "batch_size": student.batch_size,
            }
            self.selection_scores_ = scores
            self.selection_reason_ = reason
            self.category_codes_ = data.category_codes
            self.input_offset_ = data.input_offset
            self.allow_nan_ = data.has_nan or self._teacher_allows_nan()
            self.teacher_ = stage.teacher
            self.soft_targets_ = stage.source
            vars(self).update(task.fitted_attributes(stage.targets))
        return self

    # -- settings checked before any work ---------------------------------------

    def _check_settings(self):
        """Check what would otherwise fail late: nested parameters, the student's
        arguments, the optimizer's, named callbacks, the device. A typo must not
        cost a teacher fit first."""
        resolve_device(self.device)
        student_params = self._nested_params("student__")
        if self.student is None:
            if "hidden_layer_sizes" in student_params:
                raise TypeError(
                    "Set the default MLP's layers with hidden_layer_sizes, not "
                    "student__hidden_layer_sizes."
                )
            self._check_hidden_layer_sizes()
            module_class = MLP
        else:
            if not (
                isinstance(self.student, type)
                and issubclass(self.student, torch.nn.Module)
            ):
                raise TypeError(
                    f"student must be a torch.nn.Module subclass, got {self.student!r}."
                )
            if not (
                isinstance(self.hidden_layer_sizes, str)
                and self.hidden_layer_sizes == "auto"
            ):
                raise ValueError(
                    "hidden_layer_sizes shapes the default MLP only; with a custom "
                    "student, pass its own arguments as student__name=value."
                )
            module_class = self.student
        _check_keywords(
            module_class,
            student_params,
            f"The student {module_class.__name__} does not take the arguments "
            "{unknown} (given as student__name); it takes {accepted}.",
        )
        _check_keywords(
            self.optimizer,
            self._nested_params("optimizer__"),
            f"The optimizer {getattr(self.optimizer, '__name__', self.optimizer)} "
            "does not take the arguments {unknown} (given as optimizer__name); it "
            "takes {accepted}.",
        )
        self._check_callback_params()

    def _check_hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, str):
            return
        if not all(
            isinstance(size, Integral) and not isinstance(size, bool) and size > 0
            for size in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be 'auto' or a tuple of positive integers "
                f"(the width of each hidden layer), got {sizes!r}."
            )

    def _check_callback_params(self):
        names = set(DEFAULT_CALLBACK_NAMES)
        for item in self.callbacks or []:
            callback = item[1] if isinstance(item, tuple) else item
            check_schedule(self.lr_schedule, callback)
            monitor = getattr(callback, "monitor", None)
            if (
                isinstance(monitor, str)
                and monitor.startswith("valid_")
                and not self.early_stopping
            ):
                raise ValueError(
                    f"The callback {type(callback).__name__} monitors {monitor!r}, "
                    "which exists only with a validation split: set "
                    "early_stopping=True, or monitor 'train_loss_best'."
                )
            if isinstance(item, tuple):
                names.add(item[0])
            else:
                cls = item if isinstance(item, type) else type(item)
                names.add(cls.__name__)
        for key in self._nested_params("callbacks__"):
            callback = key.split("__", 1)[0]
            if callback not in names:
                raise ValueError(
                    f"callbacks__{key} names no callback: the callbacks are "
                    f"{sorted(names)} (name your own as (name, callback) tuples)."
                )

    # -- data ------------------------------------------------------------------

    def _validate_fit_data(self, task, X, y, sample_weight):
        self._refuse_unreadable_rows(X)
        # A DataFrame (pandas, polars, ...) reaches the teacher as it is.
        keep = isinstance(X, np.ndarray) or hasattr(X, "iloc")
        X_teacher = X if keep or as_frame(X) is not None else None
        category_codes = CategoryCodes.from_frame(X)
        if category_codes is not None:
            X = category_codes.encode(X)
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        y, labelled = task.validate_targets(y, len(X))
        X_teacher = X if X_teacher is None else X_teacher
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, ensure_non_negative=True
            )
        if self.categorical_features is None and self.teacher is not None:
            categorical = teacher_categorical_mask(
                self.teacher, X.shape[1], getattr(self, "feature_names_in_", None)
            )
        else:
            categorical = categorical_mask(self.categorical_features, X.shape[1])
        if category_codes is not None:
            # The frame's own labels: feature_names_in_ exists only for string ones.
            categorical |= category_codes.columns_mask(category_codes.columns)
        return FitData(
            X_teacher=X_teacher,
            X=X,
            y=y,
            labelled=labelled,
            sample_weight=sample_weight,
            categorical=categorical,
            category_codes=category_codes,
            has_nan=bool(np.isnan(X).any()),
            input_offset=fit_offset(X, categorical),
        )

    def _refuse_unreadable_rows(self, X):
        """Sparse matrices and raw documents: what the student cannot read, said
        with what to do instead of a bare shape or format error."""
        name = type(self).__name__
        if sp.issparse(X):
            raise TypeError(
                f"{name}'s student reads dense feature rows, and X is a sparse "
                f"matrix of shape {X.shape}. Densify it (X.toarray()) when it fits "
                "in memory, or reduce it first (for example with TruncatedSVD) and "
                "distil a teacher fitted on the reduced features."
            )
        documents = isinstance(X, (list, tuple)) or (
            isinstance(X, np.ndarray) and X.ndim == 1
        )
        if documents and len(X) and isinstance(X[0], str):
            raise ValueError(
                f"X is a 1-D array of strings (raw documents?): {name}'s student "
                "reads feature rows. Turn the documents into features first (for "
                "example TfidfVectorizer followed by TruncatedSVD), then distil a "
                "teacher fitted on those features."
            )

    def _validate_predict_data(self, X):
        """Rows for the student: the fitted columns less the input offset, as
        float32."""
        check_is_fitted(self)
        _check_feature_names(self, X, reset=False)
        if self.category_codes_ is not None:
            self.category_codes_.check_columns(X, type(self).__name__)
            X = self.category_codes_.encode(X)
        finite = "allow-nan" if self.allow_nan_ else True
        offset = self.input_offset_
        dtype = np.float32 if offset is None else np.float64
        X = validate_data(self, X, reset=False, dtype=dtype, ensure_all_finite=finite)
        return student_rows(X, offset)

    # -- teacher stage -----------------------------------------------------------

    def _cached(self, stage, teacher, **arguments):
        """``stage(teacher, **arguments)``, through ``memory``.

        The key holds what decides the teacher's output: the stage, the
        teacher's content fingerprint and the arguments, except
        ``teacher_batch_size`` and ``n_jobs``, which change how it runs, not what
        it returns.
        """
        memory = check_memory(self.memory)
        run = _run_teacher_stage
        if memory.location is not None:
            run = memory.cache(run, ignore=["stage", "teacher", "batch_size", "n_jobs"])
        return run(
            stage,
            f"{stage.__module__}.{stage.__qualname__} {__version__}",
            teacher,
            None if memory.location is None else remembered_fingerprint(teacher),
            arguments,
            batch_size=self.teacher_batch_size,
            n_jobs=self.n_jobs,
        )

    def _teacher_stage(self, task, data, rng, progress):
        """Fit the teacher if it is unfitted, and query it once on every row
        (real and MUNGE), through ``memory``; skipped when training on labels
        alone."""
        teacher = self.teacher
        if self.soft_target_weight == 0 or (
            teacher is None and self.soft_target_weight == "auto"
        ):
            fitted = teacher if teacher is not None and is_fitted(teacher) else None
            targets = task.targets_from_labels(data, fitted)
            return TeacherStage(None, None, None, fitted, targets)
        teacher = self._checked_teacher(task, data)
        fitted = is_fitted(teacher)
        task.check_teacher(teacher, data, fitted)
        if not fitted:
            warn_if_weights_not_passed(teacher, data.sample_weight)
        reading = task.reading(teacher, data)
        y_teacher, fit_rows = task.teacher_labels(data)
        classifier = task.name == "classifier"
        source = resolve_source(
            teacher,
            self.soft_targets,
            y_teacher[fit_rows],
            self.cv,
            classifier=classifier,
            X_labelled=rows_where(data.X_teacher, fit_rows)
            if fitted and self.soft_targets in ("auto", "oob")
            else None,
        )
        synthetic = self._synthetic_rows(data, rng, progress)
        folds = None
        if source == "cross_fit":
            folds = cross_fit_folds(
                self.cv,
                rows_where(data.X, fit_rows),
                y_teacher[fit_rows],
                draw_seed(rng),
                classifier=classifier,
            )
        with teacher_refusals(teacher, data.has_nan), progress.stage("teacher") as said:
            result = self._cached(
                teacher_outputs,
                teacher,
                X=data.X_teacher,
                y=y_teacher,
                labelled=fit_rows,
                X_synthetic=None if synthetic is None else synthetic[0],
                source=source,
                reading=reading,
                folds=folds,
                sample_weight=data.sample_weight,
            )
            action = f"fitted ({result.source}) and queried"
            if fitted:
                action = FITTED_TEACHER_READINGS[result.source]
            n_rows = len(data.y) + (0 if synthetic is None else len(synthetic[2]))
            said.append(f"{teacher_name(teacher)} {action} on {n_rows} rows")
        targets = task.targets_from_teacher(teacher, result, data, fitted)
        if synthetic is not None:
            synthetic = (synthetic[1], result.synthetic, synthetic[2])
        return TeacherStage(
            result.outputs,
            synthetic,
            result.source,
            result.fitted_teacher or teacher,
            targets,
        )

    def _checked_teacher(self, task, data):
        teacher = self.teacher
        name = type(self).__name__
        if teacher is None:
            raise ValueError(
                f"{name} needs a teacher: pass a fitted or unfitted {task.name}, or "
                "set soft_target_weight=0 to train on labels alone."
            )
        mixed_up = (
            is_classifier(teacher)
            if task.name == "regressor"
            else is_regressor(teacher)
        )
        if mixed_up:
            other = "classifier" if task.name == "regressor" else "regressor"
            sibling = (
                "DistilledClassifier" if other == "classifier" else "DistilledRegressor"
            )
            raise ValueError(
                f"The teacher {teacher_name(teacher)} is a {other}: {name} distils "
                f"{task.name}s; use {sibling}."
            )
        expected = (
            getattr(teacher, "n_features_in_", None) if is_fitted(teacher) else None
        )
        if expected is not None and expected != data.X.shape[1]:
            raise ValueError(
                f"X has {data.X.shape[1]} features, but the fitted teacher "
                f"{teacher_name(teacher)} expects {expected}."
            )
        return teacher

    def _synthetic_rows(self, data, rng, progress):
        """MUNGE rows as the teacher and the student read them, and their sources.

        They are made for ``augment="munge"``, and for ``augment="auto"`` when the
        automatic selection will run (MUNGE is then one of its candidates).

        Returns
        -------
        synthetic : tuple (X_teacher, X_student, source_row) or None
        """
        wanted = self.augment == "munge" or munge_searched(
            self, data.n_weighted_labels, len(data.X)
        )
        if not wanted:
            return None
        with progress.stage("MUNGE") as said:
            X_synthetic = self._munge(data, rng)
            said.append(f"{len(X_synthetic)} synthetic rows")
        source = np.repeat(np.arange(len(data.X)), self.augment_factor)
        return as_teacher_rows(X_synthetic, data), X_synthetic, source

    def _munge(self, data, rng):
        return munge(
            data.X,
            n_samples_per_row=self.augment_factor,
            swap_probability=self.munge_swap_probability,
            spread=self.munge_spread,
            categorical_features=data.categorical,
            random_state=rng,
        )

    def _transfer_set(self, task, data, stage):
        labels = task.transfer_labels(data, stage.targets)
        if stage.outputs is None:
            return TransferSet.from_labels(data.X, labels, data.weights)
        return TransferSet.for_distillation(
            data.X, stage.outputs, labels, data.weights, stage.synthetic
        )

    # -- student -----------------------------------------------------------------

    def _checked_coefficients(self, transfer, train_rows, soft_target_weight):
        """Each row's soft and label coefficients in the loss, or a clear error
        when the rows to train on carry no loss."""
        c_soft, c_hard = loss_coefficients(
            transfer.sample_weight, transfer.labelled, soft_target_weight, train_rows
        )
        if len(train_rows) == 0 or not (
            c_soft[train_rows].any() or c_hard[train_rows].any()
        ):
            raise ValueError(
                self._nothing_to_train_message(transfer, train_rows, soft_target_weight)
            )
        return c_soft, c_hard

    def _nothing_to_train_message(self, transfer, train_rows, soft_target_weight):
        if soft_target_weight == 0 and not transfer.labelled.any():
            return (
                "Nothing to train on: soft_target_weight=0 trains on labels alone, but "
                "every row is unlabelled. Give labels, or a teacher and "
                "soft_target_weight > 0."
            )
        if len(train_rows) == 0:
            return (
                f"Nothing to train on: early stopping holds out validation_fraction="
                f"{self.validation_fraction} of the {transfer.n_real} rows, which "
                "leaves none to train on. Give more rows, lower validation_fraction "
                "or set early_stopping=False."
            )
        return (
            "Nothing to train on: the rows to train on have a total sample_weight of "
            "0 (for the labels or for the teacher's targets)."
        )

    def _network(self, n_inputs, n_outputs, encoding, output_argument):
        params = self._nested_params("student__")
        if self.student is None:
            hidden = self.hidden_layer_sizes
            if isinstance(hidden, str):
                hidden = auto_hidden_layer_sizes(n_inputs, n_outputs)
            if encoding == "piecewise_linear":
                params.setdefault("dropout", PIECEWISE_LINEAR_DROPOUT)
            return MLP(n_inputs, n_outputs, hidden_layer_sizes=tuple(hidden), **params)
        return self.student(
            n_features_in=n_inputs, **{output_argument: n_outputs}, **params
        )

    def _callbacks(self, extractor, fidelity=None):
        callbacks = []
        for item in copy.deepcopy(self.callbacks or []):
            if isinstance(item, tuple):
                callbacks.append((item[0], with_label_targets(item[1], extractor)))
            else:
                callbacks.append(with_label_targets(item, extractor))
        if fidelity is not None:  # before early stopping, which may end an epoch
            callbacks.append(("teacher_fidelity", fidelity))
        if self.early_stopping:
            from skorch.callbacks import EarlyStopping

            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=self.n_iter_no_change,
                        load_best=True,
                    ),
                )
            )
        if self.verbose == 1:
            callbacks.append(("progress_bar", EpochProgressBar()))
        return callbacks

    def _student_training(
        self,
        task,
        transfer,
        data,
        stage,
        choice,
        seed,
        *,
        max_epochs=None,
        accelerator=None,
    ):
        """A student with the settings ``choice``, ready to train on ``transfer``.

        ``max_epochs`` set means a candidate of the automatic selection: it
        trains without early stopping, callbacks or progress output, and may
        be trained on (:meth:`StudentTraining.run` again). With an
        ``accelerator``, the net trains through Accelerate and is unwrapped
        into a plain net afterwards.

        Returns
        -------
        StudentTraining
        """
        device = resolve_device(self.device)
        net_class = task.net_class
        net_device = device
        if accelerator is not None:
            from .student._accelerate import accelerated

            net_class, net_device = accelerated(task.net_class), None
            device = accelerator.device
        candidate = max_epochs is not None
        w = choice.soft_target_weight
        train_rows = np.arange(len(transfer))
        split = None
        if self.early_stopping and not candidate:
            train_rows, valid_rows = transfer.hold_out(
                self.validation_fraction, np.random.RandomState(seed)
            )
            split = FixedSplit(train_rows, valid_rows)
        c_soft, c_hard = self._checked_coefficients(transfer, train_rows, w)
        packed = task.packed_targets(transfer, c_soft, c_hard, w)
        fidelity = None
        if not candidate and w > 0 and transfer.teacher is not None:
            sample = np.random.RandomState(seed).permutation(
                train_rows[train_rows < transfer.n_real]
            )[:FIDELITY_SAMPLE_ROWS]
            fidelity = TeacherFidelity(
                sample, task.fidelity_targets(transfer.teacher[sample])
            )
        thresholds = None
        if choice.encoding == "piecewise_linear" and stage.teacher is not None:
            thresholds = split_thresholds(stage.teacher, data.X.shape[1])
            if thresholds is not None and data.input_offset is not None:
                thresholds = [
                    column - offset
                    for column, offset in zip(
                        thresholds, data.input_offset, strict=True
                    )
                ]
        encoder = InputEncoder.from_data(
            data.X_student,
            encoding=choice.encoding,
            scaling=self.scaling,
            categorical=data.categorical,
            n_bins=self.n_bins,
            thresholds=thresholds,
        )
        n_outputs = task.n_outputs(stage.targets)
        epochs, batch_size = resolved_budget(self, transfer.n_real, len(train_rows))
        with seeded(seed):
            module = StudentModule(
                encoder,
                self._network(
                    encoder.n_outputs, n_outputs, choice.encoding, task.output_argument
                ),
                n_outputs,
                *task.output_affine(stage.targets),
            )
            n_weights = sum(parameter.numel() for parameter in module.parameters())
            n_threads = self.n_threads or auto_threads(
                n_weights, batch_size, training=True
            )
            with torch_threads(n_threads):
                generator = torch.Generator().manual_seed(seed)
                net = net_class(
                    module=module,
                    criterion=task.criterion,
                    optimizer=self.optimizer,
                    lr=self.lr,
                    max_epochs=max_epochs or epochs,
                    batch_size=batch_size,
                    train_split=split,
                    callbacks=(
                        []
                        if candidate
                        else self._callbacks(
                            task.scoring_targets(stage.targets), fidelity
                        )
                    )
                    + schedule_callbacks(self.lr_schedule),
                    device=net_device,
                    verbose=0 if candidate else int(self.verbose >= 2),
                    generator=generator,
                    **task.net_params(stage.targets, w),
                    **self._accelerate_params(accelerator),
                    **{
                        f"optimizer__{key}": value
                        for key, value in self._nested_params("optimizer__").items()
                    },
                    **(
                        {}
                        if candidate
                        else {
                            f"callbacks__{key}": value
                            for key, value in self._nested_params("callbacks__").items()
                        }
                    ),
                )
                net.initialize()
                encoder = module.encoder  # the module itself, also under Accelerate
                with torch.no_grad():
                    inputs = encoder.to(device)(
                        torch.from_numpy(
                            student_rows(transfer.X, data.input_offset)
                        ).to(device)
                    )
            unwrap = None
            if accelerator is not None:
                from .student._accelerate import unwrapped

                unwrap = partial(unwrapped, net_class=task.net_class)

            dataset = RowTensors(inputs, torch.as_tensor(packed, device=device))
            return StudentTraining(net, dataset, n_threads, unwrap=unwrap)

    def _accelerate_params(self, accelerator):
        if accelerator is None:
            return {}
        from .student._accelerate import print_sink

        return {
            "accelerator": accelerator,
            "callbacks__print_log__sink": print_sink(accelerator, self.verbose),
        }

    # -- predict -----------------------------------------------------------------

    def _fitted_teacher(self):
        """``teacher_``, or a clear error when there is none to query."""
        check_is_fitted(self)
        if self.teacher_ is None:
            raise ValueError(
                f"This {type(self).__name__} was trained on labels alone "
                "(soft_target_weight=0) without a fitted teacher."
            )
        return self.teacher_

    def _exported(self, student_class, **task_arguments):
        """A copy of the student as ``student_class``, on the CPU, with what it
        needs to read rows as this estimator does and no reference to the
        teacher."""
        check_is_fitted(self)
        module = copy.deepcopy(self.student_.module_).cpu().eval()
        return student_class(
            module,
            **task_arguments,
            feature_names=getattr(self, "feature_names_in_", None),
            category_codes=self.category_codes_,
            allow_nan=self.allow_nan_,
            input_offset=self.input_offset_,
        )

    def _student_output(self, X):
        """The student's raw outputs (logits) for ``X``, validated as in fit."""
        if not hasattr(self, "student_"):
            check_is_fitted(self)
        rows = None
        offset = self.input_offset_
        plain = self.category_codes_ is None and not hasattr(self, "feature_names_in_")
        if plain and offset is None:
            rows = lean_rows(X, self.n_features_in_, self.allow_nan_)
        if rows is None:
            rows = self._validate_predict_data(X)
        return self._inference().logits(rows, n_threads=self.n_threads)

    def _inference(self):
        """How the student is evaluated (see ``sklearn_kd.serving._inference``); made on
        first use, and kept out of pickles."""
        module = self.student_.module_
        inference = self.__dict__.get("_inference_cache")
        if inference is None or inference.module is not module:
            inference = StudentInference(module, self.student_.device)
            self.__dict__["_inference_cache"] = inference
        return inference

    def __getstate__(self):
        # A copy: object.__getstate__ returns the instance's own __dict__.
        state = dict(super().__getstate__())
        state.pop("_inference_cache", None)
        if "student_" in state:
            from .serving._skops import StudentState

            # Pickled whole; skops.io gets its numbers (see sklearn_kd.serving._skops).
            state["student_"] = StudentState(
                state["student_"], classes=state.get("classes_")
            )
        return state

    def __setstate__(self, state):
        from .serving._skops import StudentState

        student = state.get("student_")
        task = type(self)._task_class
        if isinstance(student, StudentState):
            state = {
                **state,
                "student_": student.net(task.net_class, task.criterion),
            }
        super().__setstate__(state)


def as_teacher_rows(X_synthetic, data):
    """Synthetic rows in the layout the teacher was given: the dtype of the
    ``X`` passed to ``fit`` (a float32 skorch net refuses float64), or a
    DataFrame of the same library with its columns, string columns decoded and
    float dtypes kept (see ``synthetic_frame`` for other libraries than pandas)."""
    original = data.X_teacher
    frame = as_frame(original)
    if frame is None:
        dtype = getattr(original, "dtype", None)
        if dtype is not None and dtype.kind == "f":
            return X_synthetic.astype(dtype, copy=False)
        return X_synthetic
    if not is_pandas_dataframe(original):
        return synthetic_frame(frame, X_synthetic, data.X, data.category_codes)
    import pandas as pd

    frame = pd.DataFrame(X_synthetic, columns=original.columns)
    if data.category_codes is not None:
        frame = data.category_codes.decode(frame)
    floats = {
        column: dtype
        for column, dtype in original.dtypes.items()
        if getattr(dtype, "kind", None) == "f"
    }
    return frame.astype(floats) if floats else frame


def _run_teacher_stage(
    stage, stage_name, teacher, teacher_fingerprint, arguments, batch_size, n_jobs
):
    """Run a teacher stage; ``stage_name`` and the fingerprint key the cache."""
    return stage(teacher, **arguments, batch_size=batch_size, n_jobs=n_jobs)

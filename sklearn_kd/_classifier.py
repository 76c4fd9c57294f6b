"""DistilledClassifier, and what is particular to classification in its fit.

:class:`ClassificationTask` answers the shared fit body's questions (labels,
classes, the teacher's logits, the loss's targets, the candidates' score);
the estimator adds its parameters and the predict methods.
"""

import warnings
from functools import partial
from numbers import Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from ._base import BaseDistiller
from ._docstrings import fill_docstring
from ._parameters import (
    SHARED_PARAMETERS,
    Parameter,
    distiller_init,
    parameter_constraints,
)
from ._probability import calibrated_log_loss, centred_logits, log_softmax, softmax
from ._sklearn_compat import HasMethods, Interval, StrOptions
from ._transfer_set import UNLABELLED
from .serving._export import StudentClassifier
from .student._loss import DistillationLoss, pack_targets
from .student._network import shift_logit_bias
from .student._skorch_net import StudentNet, scored_labels
from .teacher._adapters import (
    ClassifierReading,
    aligned_logits,
    check_teacher_output,
    output_is_probability,
    plain,
    query_teacher,
    resolve_response_method,
    teacher_classes,
    teacher_name,
)

# Floors for probabilities turned into logits with proba_eps="auto": under the KL
# loss, classes a probability-only teacher gives exactly zero stay (numerically)
# zero at any temperature; the MSE loss needs finite, moderate logits.
_AUTO_EPS = {"kl": 1e-300, "mse": 1e-6}


def unlabelled_rows(y):
    """Rows marked unlabelled: ``-1`` among numeric labels, or the integer ``-1``
    among an object array's labels (a string ``"-1"`` is a label like any other)."""
    if y.dtype.kind in "iuf":
        return y == UNLABELLED
    if y.dtype.kind == "O":
        return np.fromiter(
            (
                isinstance(value, (int, np.integer))
                and not isinstance(value, (bool, np.bool_))
                and value == UNLABELLED
                for value in y
            ),
            dtype=bool,
            count=len(y),
        )
    return np.zeros(len(y), dtype=bool)


class UnlabelledRowsWarning(UserWarning):
    """Rows labelled -1 are taken as unlabelled.

    scikit-learn's semi-supervised estimators mark an unlabelled row with -1,
    and so does :class:`DistilledClassifier`: such rows train on the teacher's
    targets alone, and -1 is never a class. Each ``fit`` that meets them says
    how many; silence it where unlabelled rows are intended, with
    ``warnings.filterwarnings("ignore", category=UnlabelledRowsWarning)``.
    """


def warn_if_classes_differ(teacher, classes, y_labelled):
    """Warn when a fitted teacher knows classes that no labelled row has.

    The student learns the teacher's classes; labels of fewer classes most often
    mean that ``y`` was changed after the teacher was fitted (a
    ``OneVsRestClassifier`` hands each member a binary ``y``).
    """
    if len(y_labelled) == 0:
        return
    missing = np.setdiff1d(classes, np.unique(y_labelled))
    if len(missing):
        warnings.warn(
            f"The fitted teacher {teacher_name(teacher)} knows the classes "
            f"{plain(classes)}, but the labelled rows lack {plain(missing)}: the "
            "student learns the teacher's classes. If y was transformed (for "
            "example by a OneVsRestClassifier), pass the teacher unfitted so that "
            "it learns the same labels.",
            UserWarning,
            stacklevel=7,
        )


class ClassificationTask:
    """What is particular to classification in a distiller's fit.

    The shared body (``BaseDistiller._fit``) asks it how labels are read, which
    classes there are, how the teacher is read, what the loss compares and how
    a candidate is scored. Built from the estimator's classification
    parameters; ``targets`` below are the sorted classes.
    """

    name = "classifier"
    #: The argument a custom student's output size is passed under.
    output_argument = "n_classes"
    #: The selection's hold-out keeps each class's share.
    stratify = True
    criterion = DistillationLoss
    net_class = StudentNet

    def __init__(self, temperature, loss, proba_eps, response_method):
        self.temperature = temperature
        self.loss = loss
        self.proba_eps = _AUTO_EPS[loss] if proba_eps == "auto" else proba_eps
        self.response_method = response_method

    @classmethod
    def from_estimator(cls, estimator):
        return cls(
            estimator.temperature,
            estimator.loss,
            estimator.proba_eps,
            estimator.response_method,
        )

    # -- labels and the teacher --------------------------------------------------

    def validate_targets(self, y, n_rows):
        y = column_or_1d(y, warn=True)
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
        if len(y) != n_rows:
            raise ValueError(
                f"X has {n_rows} rows but y has {len(y)}: give one label per row."
            )
        labelled = ~unlabelled_rows(y)
        if labelled.any():
            check_classification_targets(y[labelled])
        n_unlabelled = int((~labelled).sum())
        if n_unlabelled:
            warnings.warn(
                f"{n_unlabelled} of {len(y)} rows have the label -1 and are taken as "
                "unlabelled (scikit-learn's marker for semi-supervised data): they "
                "train on the teacher's targets alone. If -1 is a class, relabel y "
                "first (for example with a LabelEncoder).",
                UnlabelledRowsWarning,
                stacklevel=6,
            )
        return y, labelled

    def teacher_labels(self, data):
        """The labels a teacher is fitted on, and the rows that carry one."""
        return data.y, data.labelled

    def targets_from_labels(self, data, fitted_teacher):
        """The classes when the teacher is not queried: a fitted teacher's, else
        the labels'."""
        y_labelled = data.y[data.labelled]
        known = None if fitted_teacher is None else teacher_classes(fitted_teacher)
        return check_classes(
            y_labelled if known is None else known,
            y_labelled,
            from_teacher=known is not None,
        )

    def check_teacher(self, teacher, data, fitted):
        """Errors and warnings due before the teacher is queried."""
        y_labelled = data.y[data.labelled]
        known = teacher_classes(teacher) if fitted else None
        if known is not None:
            known = check_classes(known, y_labelled, from_teacher=True)
            warn_if_classes_differ(teacher, known, y_labelled)
        elif not fitted:
            check_classes(y_labelled, y_labelled, from_teacher=False)

    def reading(self, teacher, data):
        """How the teacher's outputs become logits."""
        method = resolve_response_method(teacher, self.response_method)
        return ClassifierReading(method, self.proba_eps)

    def targets_from_teacher(self, teacher, result, data, fitted):
        return check_classes(result.classes, data.y[data.labelled], from_teacher=True)

    # -- the loss ----------------------------------------------------------------

    def transfer_labels(self, data, classes):
        """Each row's class index, ``UNLABELLED`` for an unlabelled row."""
        label_index = np.full(len(data.y), UNLABELLED)
        label_index[data.labelled] = np.searchsorted(classes, data.y[data.labelled])
        return label_index

    def packed_targets(self, transfer, c_soft, c_hard, soft_target_weight):
        soft = None
        if transfer.teacher is not None and soft_target_weight > 0:
            if self.loss == "kl":
                soft = softmax(transfer.teacher, self.temperature)
            else:
                soft = centred_logits(transfer.teacher)
        return pack_targets(soft, transfer.labels, c_soft, c_hard)

    def n_outputs(self, classes):
        return len(classes)

    def output_affine(self, classes):
        return None, None  # unit scale, zero logit bias

    def scoring_targets(self, classes):
        return scored_labels

    def fidelity_targets(self, teacher_outputs):
        return teacher_outputs.argmax(axis=1)

    def validation_losses(self, output, labels, sample_weight, classes):
        """Per held-out row score of a candidate (lower is better).

        The log loss of the student's logits ``z`` at the temperature that
        suits them best, ``min_T logloss(softmax(z / T))``: a student that
        mimics a forest's soft votes is less confident than one trained on
        labels, and a plain log loss would favour the latter for that alone.
        """
        return calibrated_log_loss(output, labels, sample_weight, per_row=True)

    def net_params(self, classes, soft_target_weight):
        return {
            "criterion__temperature": self.temperature,
            "criterion__loss": self.loss,
            "criterion__soft_target_weight": soft_target_weight,
            "classes": list(range(len(classes))),
            "predict_nonlinearity": partial(torch.softmax, dim=-1),
        }

    def fitted_attributes(self, classes):
        return {"classes_": classes}


def check_classes(classes, y_labelled, *, from_teacher):
    """The sorted classes, or a clear error about them and the labels."""
    classes = np.unique(classes)
    if classes.dtype.kind in "iuf" and UNLABELLED in classes:
        raise ValueError(
            "The teacher has a class -1, which scikit-learn reserves for "
            "unlabelled rows: relabel its classes (e.g. with a LabelEncoder) "
            "before distilling."
        )
    if len(classes) < 2:
        if from_teacher:
            raise ValueError(
                f"The teacher knows {len(classes)} class ({plain(classes)}); "
                "distillation needs a teacher of at least two classes."
            )
        raise ValueError(
            f"y has {len(classes)} class ({plain(classes)}) among its labelled "
            "rows; a classifier needs at least two classes (-1 marks "
            "unlabelled rows)."
        )
    known = set(plain(classes))
    unknown = sorted(
        {label for label in plain(y_labelled) if label not in known}, key=str
    )
    if unknown:
        message = (
            f"y has labels {unknown} that the teacher does not know; its classes "
            f"are {plain(classes)}."
        )
        if "-1" in unknown:
            message += (
                " The string '-1' is a label like any other: the integer -1 "
                "marks an unlabelled row, among numeric labels or in an object "
                "array of string labels."
            )
        else:
            message += " Use -1 for unlabelled rows."
        raise ValueError(message)
    return classes


#: The classifier's own parameters, before the shared ones.
CLASSIFIER_PARAMETERS = (
    Parameter(
        "teacher",
        None,
        [
            HasMethods(["predict_proba"]),
            HasMethods(["decision_function"]),
            HasMethods(["predict"]),  # a regressor, to name the mix-up in fit
            None,
        ],
    ),
    Parameter("temperature", 1.0, [Interval(Real, 0, None, closed="neither")]),
    Parameter("loss", "kl", [StrOptions({"kl", "mse"})]),
    Parameter(
        "proba_eps",
        "auto",
        [StrOptions({"auto"}), Interval(Real, 0, 1, closed="neither")],
    ),
    Parameter(
        "response_method",
        "auto",
        [StrOptions({"auto", "predict_proba", "decision_function"})],
    ),
    *SHARED_PARAMETERS,
)


@fill_docstring("classifier")
class DistilledClassifier(ClassifierMixin, BaseDistiller):
    """Distil a teacher classifier into a small neural network student.

    The student, a PyTorch network trained by skorch, learns from the teacher's
    soft targets ``softmax(teacher_logits / T)`` and from the true labels
    (Hinton, Vinyals & Dean, 2015). With ``w = soft_target_weight``, sample
    weights ``s``, all training rows ``A`` and the labelled ones ``L``::

        loss = w * sum_A s * T**2 * KL(softmax(v / T) || softmax(z / T)) / sum_A s
             + (1 - w) * sum_L s * CE(z, y) / sum_L s

    for teacher logits ``v`` and student logits ``z``: the soft term is averaged
    over every row, the label term over the labelled rows, so the labels weigh
    the same however many unlabelled or synthetic rows there are. Rows labelled
    ``-1`` are unlabelled transfer data: they learn from the teacher alone. With
    numeric labels any ``-1`` marks such a row; with string labels, the integer
    ``-1`` in an object array does (as in :mod:`sklearn.semi_supervised`).

    Parameters
    ----------
    teacher : classifier, default=None
        Any classifier with ``predict_proba`` or ``decision_function``: a
        scikit-learn model or pipeline, a skorch net, a ``FrozenEstimator``. A
        **fitted** teacher is used as it is: never refitted or mutated, and kept
        fitted by :func:`sklearn.base.clone` (so grid searches do not refit it);
        its nested parameters are then read-only. An **unfitted** teacher is cloned
        and fitted on the labelled rows in every ``fit``: the honest choice inside
        cross-validation, since a teacher fitted on all the data has seen the
        validation folds' labels and inflates cross-validated scores; it gets the
        ``sample_weight`` of the labelled rows when its ``fit`` takes them (a
        pipeline's last step), with a warning otherwise. ``None`` is allowed only
        with ``soft_target_weight=0``. The teacher's outputs are checked: NaN or
        infinite values, a wrong number of columns, or ``predict_proba`` values
        that are not probabilities (outside ``[0, 1]`` or rows not summing to 1,
        within ``1e-4``) raise an error naming the teacher.
    temperature : float, default=1.0
        The temperature ``T > 0`` softening teacher and student alike. Tune it by
        grid search: neural teachers with confident logits often gain from
        ``T`` of 2 to 20 (the paper's MNIST nets); forests, whose averaged votes
        are already soft, did best at ``T = 1`` in our benchmarks, and higher
        temperatures cost accuracy there.
    loss : {"kl", "mse"}, default="kl"
        The soft term: ``"kl"`` as above, or ``"mse"``, the paper's
        high-temperature limit matching row-centred logits by mean squared error
        (Ba & Caruana, 2014); ``temperature`` is then unused.
    proba_eps : "auto" or float, default="auto"
        Floor of a probability-only teacher's probabilities when they become
        logits, ``log(clip(p, proba_eps))``. ``"auto"``: ``1e-300`` for
        ``loss="kl"``, so classes the teacher rules out stay ruled out at any
        temperature and temperature softens only the ranking of the classes it
        gives mass to; ``1e-6`` for ``loss="mse"``, which needs finite logits.
    response_method : {"auto", "predict_proba", "decision_function"}, default="auto"
        The teacher output read as logits. ``"auto"`` uses ``decision_function``
        for models whose decision function is a true per-class logit (logistic
        regression, gradient boosting and histogram gradient boosting, also at
        the end of a pipeline), a skorch net's module output (logits for a
        ``CrossEntropyLoss``/``BCEWithLogitsLoss`` criterion, the log of it for
        the default ``NLLLoss``, which outputs probabilities), else
        ``predict_proba``, else ``decision_function``.
    soft_target_weight : float or "auto", default="auto"
        Weight ``w`` in ``[0, 1]`` of the soft term. ``0`` trains on labels alone
        (the teacher is then neither fitted nor queried); ``1`` on soft targets
        alone. ``"auto"``: chosen by ``fit`` between ``0`` and ``0.5`` (see
        Notes); ``0`` without a teacher.
    soft_targets : {"auto", "predict", "oob", "cross_fit"}, default="auto"
        Where the labelled rows' soft targets come from. ``"predict"``: the
        teacher's plain output. ``"oob"``: out-of-bag estimates of a bagged
        ensemble (random forest, extra trees, bagging); for an unfitted teacher the
        library turns ``oob_score`` on; a fitted teacher must have been fitted with
        ``oob_score=True`` on exactly the labelled rows, in the same order
        (checked by recomputing the estimates of a sample of rows from its
        trees; see the user guide on soft targets). ``"cross_fit"``: each row's
        output from a clone fitted on the other ``cv`` folds (unfitted teachers
        only); the teacher fitted on all labelled rows serves everything else.
        ``"auto"``: ``"oob"`` for a fitted bagged teacher that passes that
        check, ``"predict"`` for any other fitted teacher, ``"oob"`` for an
        unfitted bagged one, else ``"cross_fit"`` when each class has ``cv``
        labelled rows, else ``"predict"``. Rows without an OOB estimate, unlabelled rows and
        synthetic rows always use the teacher's plain output.
    cv : int, cross-validation generator or iterable, default=5
        Folds for ``soft_targets="cross_fit"``, over the labelled rows: a number of
        stratified folds, or any scikit-learn splitter.
    [[augmentation]]
    [[student]]
    [[running]]
    **kwargs
        Nested parameters ``student__name``, ``optimizer__name`` and
        ``callbacks__name__param``. Any other keyword raises a ``TypeError``
        that names the parameter most likely meant (``max_iter`` ->
        ``max_epochs``, ``learning_rate_init`` -> ``lr``, ``alpha`` ->
        ``optimizer__weight_decay``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The teacher's classes (so a class absent from ``y`` is still predicted).
    teacher_ : estimator or None
        The fitted teacher (the given one when it was fitted); ``None`` when
        ``soft_target_weight=0`` and the teacher was not fitted.
    soft_targets_ : str or None
        The soft-target source used (``"auto"`` resolved).
    [[fitted_state]]

    See Also
    --------
    StudentClassifier : The trained student alone, without its teacher.

    [[selection_notes]]

    References
    ----------
    G. Hinton, O. Vinyals and J. Dean, "Distilling the Knowledge in a Neural
    Network", 2015. C. Bucila, R. Caruana and A. Niculescu-Mizil, "Model
    Compression", KDD 2006. J. Ba and R. Caruana, "Do Deep Nets Really Need to be
    Deep?", NeurIPS 2014. Y. Gorishniy, I. Rubachev and A. Babenko, "On
    Embeddings for Numerical Features in Tabular Deep Learning", NeurIPS 2022.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn_kd import DistilledClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> forest = RandomForestClassifier(n_estimators=50, random_state=0).fit(X, y)
    >>> student = DistilledClassifier(forest, batch_size=32, max_epochs=30,
    ...                               random_state=0).fit(X, y)
    >>> student.predict(X[:3])
    array([0, 0, 0])
    >>> float(student.score(X, y)) > 0.9
    True
    """

    _parameter_constraints = parameter_constraints(CLASSIFIER_PARAMETERS)
    _task_class = ClassificationTask
    __init__ = distiller_init(CLASSIFIER_PARAMETERS)

    # -- predict ---------------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities of the student at temperature 1.

        [[rows_to_predict]]
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; rows sum to 1.
        """
        return softmax(self._student_output(X))

    def predict_log_proba(self, X):
        """Log of the class probabilities, computed from the logits.

        Unlike the log of ``predict_proba``, it stays finite where a
        probability underflows to 0.

        [[rows_to_predict]]
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        return log_softmax(self._student_output(X))

    def predict(self, X):
        """Predicted class labels.

        [[rows_to_predict]]
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        logits = self._student_output(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def teacher_predict_proba(self, X):
        """The teacher's probabilities at temperature 1, aligned to ``classes_``.

        [[rows_for_the_teacher]]
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; rows sum to 1.
        """
        teacher = self._fitted_teacher()
        method = resolve_response_method(teacher, self.response_method)
        output = query_teacher(teacher, X, method, self.teacher_batch_size, self.n_jobs)
        known = teacher_classes(teacher)
        check_teacher_output(output, teacher, method, known)
        known = self.classes_ if known is None else known
        logits = aligned_logits(
            output, known, self.classes_, output_is_probability(teacher, method), 1e-300
        )
        return softmax(logits)

    def shift_logit_bias(self, class_label, shift):
        """Add ``shift`` to the student's logit for ``class_label``, in place.

        The paper's fix for a class that was missing from the transfer set
        (Hinton et al. 2015, section 3): the student learns to recognise it from
        soft targets alone, but under-predicts it until its bias is raised. Choose
        ``shift`` on training or validation data, never on test data. The shift
        travels with :meth:`export_student` and ONNX exports.

        Parameters
        ----------
        class_label : label
            A class in ``classes_``.
        shift : float
            Amount added to that class's logit (negative to lower it).

        Returns
        -------
        self : DistilledClassifier
            The estimator, its student shifted.
        """
        check_is_fitted(self)
        shift_logit_bias(self.student_.module_, self.classes_, class_label, shift)
        return self

    def export_student(self):
        """The trained student alone, as a :class:`StudentClassifier`.

        It holds the input encoding, the network (with any logit-bias shift) and
        ``classes_``, on the CPU, and no reference to the teacher: its pickle is a
        small fraction of a large teacher's, and it exports to ONNX. It checks the
        columns of its input (count, and names when fitted on a DataFrame) as
        this estimator does.

        Returns
        -------
        student : StudentClassifier
            A copy of the student, independent of this estimator.
        """
        return self._exported(StudentClassifier, classes=self.classes_)

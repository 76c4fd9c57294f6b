"""DistilledClassifier: distil any classifier into a small PyTorch student."""

from dataclasses import dataclass
from functools import partial
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin, is_regressor
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from ._base import BaseDistiller
from ._encoding import ENCODINGS
from ._export import StudentClassifier
from ._loss import DistillationLoss, loss_coefficients, pack_targets
from ._munge import munge
from ._probability import calibrated_log_loss, centred_logits, softmax
from ._selection import can_select
from ._sklearn_compat import HasMethods, Interval, StrOptions, _fit_context
from ._skorch_net import StudentNet
from ._soft_targets import (
    SOFT_TARGET_SOURCES,
    cross_fit_folds,
    resolve_source,
    teacher_logits,
    teacher_refusals,
    warn_if_weights_not_passed,
)
from ._student import shift_logit_bias
from ._teacher import (
    aligned_logits,
    check_teacher_output,
    is_fitted,
    output_is_probability,
    plain,
    query_teacher,
    resolve_response_method,
    teacher_classes,
    teacher_name,
)
from ._transfer_set import UNLABELLED, TransferSet

# Floors for probabilities turned into logits with proba_eps="auto": under the KL
# loss, classes a probability-only teacher gives exactly zero stay (numerically)
# zero at any temperature; the MSE loss needs finite, moderate logits.
_AUTO_EPS = {"kl": 1e-300, "mse": 1e-6}
_MAX_SEED = np.iinfo(np.int32).max


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


@dataclass
class ClassifierStage:
    """What the teacher stage gives the rest of a classifier's fit.

    Attributes
    ----------
    classes : ndarray
        The classes, sorted: the teacher's, or the labels' without one.
    logits : ndarray of shape (n_rows, n_classes) or None
        The teacher's logits on the real rows; None when training on labels.
    synthetic : tuple (X, logits, source_row) or None
        MUNGE rows, their logits and the real row each came from.
    source : str or None
        The soft-target source used.
    teacher : estimator or None
        The fitted teacher (the given one when it came fitted).
    """

    classes: np.ndarray
    logits: np.ndarray | None
    synthetic: tuple | None
    source: str | None
    teacher: object


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
    soft_target_weight : float or "auto", default="auto"
        Weight ``w`` in ``[0, 1]`` of the soft term. ``0`` trains on labels alone
        (the teacher is then neither fitted nor queried); ``1`` on soft targets
        alone. ``"auto"``: chosen by ``fit`` between ``0`` and ``0.5`` (see
        Notes); ``0`` without a teacher.
    loss : {"kl", "mse"}, default="kl"
        The soft term: ``"kl"`` as above, or ``"mse"``, the paper's
        high-temperature limit matching row-centred logits by mean squared error
        (Ba & Caruana, 2014); ``temperature`` is then unused.
    soft_targets : {"auto", "predict", "oob", "cross_fit"}, default="auto"
        Where the labelled rows' soft targets come from. ``"predict"``: the
        teacher's plain output. ``"oob"``: out-of-bag estimates of a bagged
        ensemble (random forest, extra trees, bagging); for an unfitted teacher the
        library turns ``oob_score`` on; a fitted teacher must have been fitted with
        ``oob_score=True`` on exactly the labelled rows, in the same order (only
        their number can be checked). ``"cross_fit"``: each row's output from a
        clone fitted on the other ``cv`` folds (unfitted teachers only); the
        teacher fitted on all labelled rows serves everything else. ``"auto"``:
        ``"predict"`` for a fitted teacher, ``"oob"`` for an unfitted bagged one,
        else ``"cross_fit"`` when each class has ``cv`` labelled rows, else
        ``"predict"``. Rows without an OOB estimate, unlabelled rows and
        synthetic rows always use the teacher's plain output.
    cv : int, cross-validation generator or iterable, default=5
        Folds for ``soft_targets="cross_fit"``, over the labelled rows: a number of
        stratified folds, or any scikit-learn splitter.
    proba_eps : "auto" or float, default="auto"
        Floor of a probability-only teacher's probabilities when they become
        logits, ``log(clip(p, proba_eps))``. ``"auto"``: ``1e-300`` for
        ``loss="kl"``, so classes the teacher rules out stay ruled out at any
        temperature and temperature softens only the ranking of the classes it
        gives mass to; ``1e-6`` for ``loss="mse"``, which needs finite logits.
    augment : {"auto", "munge"} or None, default="auto"
        ``"munge"`` adds synthetic rows (Bucila et al., 2006), labelled by the
        teacher's soft targets only; each synthetic row has the ``sample_weight``
        of the row it was made from. ``"auto"``: ``fit`` chooses between
        ``"munge"`` and ``None`` (see Notes).
    augment_factor : int, default=5
        Synthetic rows per real row with ``augment="munge"``.
    munge_swap_probability : float, default=0.5
        MUNGE's probability of taking an attribute from the nearest neighbour.
    munge_spread : float, default=1.0
        MUNGE's ``s``: continuous values are drawn with standard deviation
        ``|a - b| / s`` around the neighbour's value.
    categorical_features : array-like of int or bool, default=None
        Categorical columns (indices or a boolean mask, as in
        ``HistGradientBoostingClassifier``), integer-coded. The student one-hot
        encodes them inside the network; MUNGE swaps them as values. ``None``
        takes them from the teacher where it declares them: a histogram
        gradient boosting model's categorical features, or the columns a teacher
        pipeline one-hot, ordinal or target encodes; elsewhere integer codes
        are read as numbers, so name them here (``[]`` turns the detection off).
        A DataFrame's non-numeric and ``category`` columns are always
        categorical.
    student : subclass of torch.nn.Module, default=None
        The student's network, constructed as ``student(n_features_in=...,
        n_classes=..., **student__params)`` where ``n_features_in`` is the width
        of the encoded input. Its own arguments are set as ``student__name=value``
        (in the constructor, ``set_params`` or a grid), and checked against its
        signature before any work. ``None`` builds an :class:`~sklearn_kd.MLP`
        with ``hidden_layer_sizes`` (its other arguments, such as
        ``student__dropout``, are nested parameters too).
    hidden_layer_sizes : "auto" or tuple of int, default="auto"
        Hidden layers of the default MLP student, positive integers; the one way
        to set them (``student__hidden_layer_sizes`` is an error), and an error
        with a custom ``student``. ``"auto"``: ``(w, w // 2)`` with ``w`` the
        power of two at or above ``4 * (n_inputs + n_classes)``, clipped to
        ``[32, 256]``.
    max_epochs : int, default=50
        Training epochs (an upper bound with ``early_stopping``).
    batch_size : int, default=256
        Rows per mini-batch.
    lr : float, default=1e-3
        Learning rate of ``optimizer``.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Its other arguments are set as ``optimizer__name=value``.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks, alone or as ``(name, callback)`` tuples (copied
        before use, so the given ones stay as they are). A named callback's
        parameters are nested parameters, ``callbacks__name__param``, so they can
        be grid-searched. Scoring callbacks (``EpochScoring``, ``BatchScoring``)
        score against each row's class: its label, or the teacher's class for an
        unlabelled row. ``Checkpoint`` monitors ``valid_loss_best`` by default,
        which exists only with ``early_stopping=True``; otherwise give it
        ``monitor="train_loss_best"``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and stop once the validation
        loss has not improved for ``n_iter_no_change`` epochs, keeping the best
        weights. Only real rows validate: synthetic (MUNGE) rows never do, and
        those made from a held-out row are not trained on either. At least one
        row must be left to train on.
    validation_fraction : float, default=0.1
        Share of the real rows held out for early stopping.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where the student trains; ``"auto"`` uses a GPU when there is one. A model
        trained on a GPU predicts on a CPU after unpickling.
    encoding : {"auto", "standard", "piecewise_linear"}, default="auto"
        How the student's network reads each numeric column (the teacher always
        sees the raw ``X``). ``"standard"``: the value itself, standardised as
        ``scaling`` says. ``"piecewise_linear"``: the piecewise-linear encoding
        of Gorishniy et al. (2022) over ``n_bins`` bins, whose edges are
        quantiles of the teacher's split thresholds when the teacher is a tree
        ensemble on the raw columns, else quantiles of the training rows; it
        often lets a student match a forest where trees are far ahead of a
        plain MLP, and costs accuracy on smooth data. ``"auto"``: chosen by
        ``fit`` (see Notes). Categorical columns are one-hot encoded and missing
        values get an indicator either way.
    n_bins : int, default=32
        The most piecewise-linear bins per numeric column.
    scaling : {"standard"} or None, default="standard"
        Standardisation of numeric columns under ``encoding="standard"``;
        piecewise-linear bins are already on a common scale, and ignore it.
    response_method : {"auto", "predict_proba", "decision_function"}, default="auto"
        The teacher output read as logits. ``"auto"`` uses ``decision_function``
        for models whose decision function is a true per-class logit (logistic
        regression, gradient boosting and histogram gradient boosting, also at
        the end of a pipeline), a skorch net's module output (logits for a
        ``CrossEntropyLoss``/``BCEWithLogitsLoss`` criterion, the log of it for
        the default ``NLLLoss``, which outputs probabilities), else
        ``predict_proba``, else ``decision_function``.
    teacher_batch_size : int, default=10000
        The most rows sent to the teacher in one call.
    memory : str, joblib.Memory or None, default=None
        Cache of the teacher stage (teacher outputs, and teachers fitted here),
        keyed by the teacher's content and the data, as in
        ``Pipeline(memory=...)``. A grid search over the student's settings then
        queries the teacher once per fold. The key holds the teacher's content,
        the rows, labels, sample weights, synthetic rows, the soft-target source
        and the cross-fit folds, nothing else: with ``random_state=None`` a grid
        search still hits it, except where cross-fit folds or MUNGE rows are
        drawn anew in each fit (set ``random_state`` then).
    n_jobs : int, default=None
        Parallel jobs for fitting cross-fit teachers and querying the teacher
        (``None`` means 1); they run on joblib's configured backend.
    n_threads : int, default=None
        Torch intra-op threads while the student trains and predicts (restored
        afterwards); ``None`` leaves torch's setting. Small students rarely gain
        from several threads, and on a busy machine ``n_threads=1`` can train
        several times faster. Grid-search workers already run one thread each.
    random_state : int, RandomState instance or None, default=None
        Seeds the student's initialisation and shuffling, the folds and MUNGE.
    verbose : int, default=0
        ``0`` silent; ``1`` a progress bar over epochs (needs ``tqdm``); ``2``
        skorch's table of epochs.
    **kwargs
        Nested parameters ``student__name``, ``optimizer__name`` and
        ``callbacks__name__param``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The teacher's classes (so a class absent from ``y`` is still predicted).
    teacher_ : estimator or None
        The fitted teacher (the given one when it was fitted); ``None`` when
        ``soft_target_weight=0`` and the teacher was not fitted.
    soft_targets_ : str or None
        The soft-target source used (``"auto"`` resolved).
    selected_params_ : dict
        The ``encoding``, ``augment`` and ``soft_target_weight`` the student was
        trained with: chosen by ``fit`` where they were ``"auto"``.
    selection_scores_ : dict or None
        Each candidate's held-out score (lower is better) when ``fit`` chose
        between candidates; None when nothing was searched.
    student_ : StudentNet
        The trained skorch net; ``student_.module_`` is the PyTorch module
        (input encoding, network and logit bias) and ``student_.history`` its
        training history.
    category_codes_ : CategoryCodes or None
        The integer coding of a DataFrame's string columns, learnt in ``fit``.
    allow_nan_ : bool
        Whether ``predict`` accepts NaN: when ``fit`` saw NaN, or the teacher is
        known to accept it (the student imputes either way).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` has string column names.

    Notes
    -----
    **Automatic selection.** Each of ``encoding``, ``augment`` and
    ``soft_target_weight`` left at ``"auto"`` is chosen by ``fit`` on the
    training rows: the teacher is fitted and queried once and the MUNGE rows
    made once; a stratified 20% of the labelled rows is held out (with the
    synthetic rows made from them); every candidate, from the product of both
    encodings, MUNGE or not, and ``w`` in ``{0, 0.5}`` (the label-only student
    of each encoding is always one, so a teacher worse than its student cannot
    drag the default below training on labels alone), trains on the other rows
    for half of ``max_epochs`` on at most 5,000 real rows; the one with the
    lowest weighted log loss on the held-out rows, at the temperature that
    suits its logits best, is trained again on all rows. ``selected_params_``
    and ``selection_scores_`` record the outcome (``verbose=1`` prints it).
    Explicit values are never searched, so a grid search over them is not
    doubled. With fewer than 500 labelled rows nothing is searched and the
    fallbacks are ``encoding="standard"``, ``augment=None`` and
    ``soft_target_weight=0.5``. A fitted teacher has seen the held-out rows'
    labels, which favours the distilled candidates somewhat; an unfitted one
    (fitted here, out-of-bag or cross-fitted) does not.

    See Also
    --------
    StudentClassifier : the trained student alone, without its teacher.

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

    _parameter_constraints = {
        "teacher": [
            HasMethods(["predict_proba"]),
            HasMethods(["decision_function"]),
            None,
        ],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "soft_target_weight": [
            Interval(Real, 0, 1, closed="both"),
            StrOptions({"auto"}),
        ],
        "loss": [StrOptions({"kl", "mse"})],
        "soft_targets": [StrOptions(set(SOFT_TARGET_SOURCES))],
        "cv": ["cv_object"],
        "proba_eps": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="neither")],
        "augment": [StrOptions({"munge", "auto"}), None],
        "augment_factor": [Interval(Integral, 1, None, closed="left")],
        "munge_swap_probability": [Interval(Real, 0, 1, closed="both")],
        "munge_spread": [Interval(Real, 0, None, closed="neither")],
        "categorical_features": ["array-like", None],
        "student": [type, None],
        "hidden_layer_sizes": [StrOptions({"auto"}), tuple, list],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [type],
        "callbacks": [list, None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "encoding": [StrOptions({"auto", *ENCODINGS})],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "scaling": [StrOptions({"standard"}), None],
        "response_method": [StrOptions({"auto", "predict_proba", "decision_function"})],
        "teacher_batch_size": [Interval(Integral, 1, None, closed="left")],
        "memory": [None, str, HasMethods(["cache"])],
        "n_jobs": [Integral, None],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    _criterion = DistillationLoss
    _net_class = StudentNet

    def __init__(
        self,
        teacher=None,
        *,
        temperature=1.0,
        soft_target_weight="auto",
        loss="kl",
        soft_targets="auto",
        cv=5,
        proba_eps="auto",
        augment="auto",
        augment_factor=5,
        munge_swap_probability=0.5,
        munge_spread=1.0,
        categorical_features=None,
        student=None,
        hidden_layer_sizes="auto",
        max_epochs=50,
        batch_size=256,
        lr=1e-3,
        optimizer=torch.optim.Adam,
        callbacks=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        device="cpu",
        encoding="auto",
        n_bins=32,
        scaling="standard",
        response_method="auto",
        teacher_batch_size=10_000,
        memory=None,
        n_jobs=None,
        n_threads=None,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        self.teacher = teacher
        self.temperature = temperature
        self.soft_target_weight = soft_target_weight
        self.loss = loss
        self.soft_targets = soft_targets
        self.cv = cv
        self.proba_eps = proba_eps
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
        self.encoding = encoding
        self.n_bins = n_bins
        self.scaling = scaling
        self.response_method = response_method
        self.teacher_batch_size = teacher_batch_size
        self.memory = memory
        self.n_jobs = n_jobs
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        for key, value in kwargs.items():
            setattr(self, key, value)

    # -- fit -------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the teacher if needed, compute soft targets and train the student.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows, passed to the teacher exactly as given. NaN reaches
            the teacher, which decides whether it accepts it (a teacher that
            refuses it raises an error saying so); the student imputes it.
        y : array-like of shape (n_samples,)
            Labels; ``-1`` marks an unlabelled row (see the class docstring).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights, in the loss and in an unfitted teacher's
            ``fit``.

        Returns
        -------
        self : DistilledClassifier
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    def _validate_targets(self, y, n_rows):
        y = column_or_1d(y, warn=True)
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
        if len(y) != n_rows:
            raise ValueError(
                f"X has {n_rows} rows but y has {len(y)}: give one label per row."
            )
        labelled = ~unlabelled_rows(y)
        if labelled.any():
            check_classification_targets(y[labelled])
        return y, labelled

    def _check_classes(self, classes, y_labelled, *, from_teacher):
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

    def _teacher_stage(self, data, rng, progress):
        y_labelled = data.y[data.labelled]
        teacher = self.teacher
        if self.soft_target_weight == 0 or (
            teacher is None and self.soft_target_weight == "auto"
        ):
            fitted = teacher is not None and is_fitted(teacher)
            known = teacher_classes(teacher) if fitted else None
            classes = self._check_classes(
                y_labelled if known is None else known,
                y_labelled,
                from_teacher=known is not None,
            )
            return ClassifierStage(
                classes, None, None, None, teacher if fitted else None
            )
        teacher = self._checked_teacher(data)
        fitted = is_fitted(teacher)
        if fitted:
            known = teacher_classes(teacher)
            if known is not None:
                self._check_classes(known, y_labelled, from_teacher=True)
        else:
            self._check_classes(y_labelled, y_labelled, from_teacher=False)
            warn_if_weights_not_passed(teacher, data.sample_weight)
        method = resolve_response_method(teacher, self.response_method)
        source = resolve_source(teacher, self.soft_targets, y_labelled, self.cv)
        synthetic = self._synthetic_rows(data, rng, progress)
        folds = None
        if source == "cross_fit":
            X_labelled = data.X[data.labelled]
            folds = cross_fit_folds(
                self.cv, X_labelled, y_labelled, int(rng.randint(_MAX_SEED))
            )
        eps = _AUTO_EPS[self.loss] if self.proba_eps == "auto" else self.proba_eps
        with teacher_refusals(teacher, data.has_nan), progress.stage("teacher") as said:
            result = self._cached(
                teacher_logits,
                teacher,
                X=data.X_teacher,
                y=data.y,
                labelled=data.labelled,
                X_synthetic=None if synthetic is None else synthetic[0],
                source=source,
                method=method,
                folds=folds,
                sample_weight=data.sample_weight,
                eps=eps,
            )
            action = "queried" if fitted else f"fitted ({result.source}) and queried"
            n_rows = len(data.y) + (0 if synthetic is None else len(synthetic[2]))
            said.append(f"{teacher_name(teacher)} {action} on {n_rows} rows")
        classes = self._check_classes(result.classes, y_labelled, from_teacher=True)
        if synthetic is not None:
            synthetic = (synthetic[1], result.synthetic_logits, synthetic[2])
        return ClassifierStage(
            classes,
            result.logits,
            synthetic,
            result.source,
            result.fitted_teacher or teacher,
        )

    def _checked_teacher(self, data):
        teacher = self.teacher
        if teacher is None:
            raise ValueError(
                "DistilledClassifier needs a teacher: pass a fitted or unfitted "
                "classifier, or set soft_target_weight=0 to train on labels alone."
            )
        if is_regressor(teacher):
            raise ValueError(
                f"The teacher {teacher_name(teacher)} is a regressor: "
                "DistilledClassifier distils classifiers; use DistilledRegressor."
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
        wanted = self.augment == "munge" or (
            self.augment == "auto"
            and can_select(self, int(data.labelled.sum()), has_teacher=True)
        )
        if not wanted:
            return None
        with progress.stage("MUNGE") as said:
            X_synthetic = self._munge(data, rng)
            said.append(f"{len(X_synthetic)} synthetic rows")
        source = np.repeat(np.arange(len(data.X)), self.augment_factor)
        X_teacher = X_synthetic
        if hasattr(data.X_teacher, "columns"):
            import pandas as pd

            X_teacher = pd.DataFrame(X_synthetic, columns=data.X_teacher.columns)
            if data.category_codes is not None:
                X_teacher = data.category_codes.decode(X_teacher)
        return X_teacher, X_synthetic, source

    def _munge(self, data, rng):
        return munge(
            data.X,
            n_samples_per_row=self.augment_factor,
            swap_probability=self.munge_swap_probability,
            spread=self.munge_spread,
            categorical_features=data.categorical,
            random_state=rng,
        )

    def _transfer_set(self, data, stage):
        label_index = np.full(len(data.y), UNLABELLED)
        label_index[data.labelled] = np.searchsorted(
            stage.classes, data.y[data.labelled]
        )
        if stage.logits is None:
            return TransferSet.from_labels(data.X, label_index, data.weights)
        return TransferSet.for_distillation(
            data.X, stage.logits, label_index, data.weights, stage.synthetic
        )

    def _coefficients(self, transfer, train_rows, soft_target_weight):
        return loss_coefficients(
            transfer.sample_weight, transfer.labelled, soft_target_weight, train_rows
        )

    def _packed_targets(self, transfer, train_rows, soft_target_weight):
        soft = None
        if transfer.teacher is not None and soft_target_weight > 0:
            if self.loss == "kl":
                soft = softmax(transfer.teacher, self.temperature)
            else:
                soft = centred_logits(transfer.teacher)
        c_soft, c_hard = self._coefficients(transfer, train_rows, soft_target_weight)
        return pack_targets(soft, transfer.labels, c_soft, c_hard)

    def _n_outputs(self, stage):
        return len(stage.classes)

    def _validation_loss(self, output, labels, sample_weight, n_outputs):
        """Held-out score of a candidate (lower is better).

        The weighted log loss of the student's logits ``z`` at the temperature
        that suits them best, ``min_T logloss(softmax(z / T))``: a student that
        mimics a forest's soft votes is less confident than one trained on
        labels, and a plain log loss would favour the latter for that alone.
        """
        return calibrated_log_loss(output, labels, sample_weight)

    def _net_params(self, n_outputs, soft_target_weight):
        return {
            "criterion__temperature": self.temperature,
            "criterion__loss": self.loss,
            "criterion__soft_target_weight": soft_target_weight,
            "classes": list(range(n_outputs)),
            "predict_nonlinearity": partial(torch.softmax, dim=-1),
        }

    def _set_task_attributes(self, data, stage):
        self.classes_ = stage.classes
        self.teacher_ = stage.teacher
        self.soft_targets_ = stage.source

    # -- predict ---------------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities of the student at temperature 1.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict, with the columns (and names) seen in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; rows sum to 1.
        """
        return softmax(self._student_output(X).astype(np.float64))

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict, with the columns (and names) seen in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        logits = self._student_output(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def teacher_predict_proba(self, X):
        """The teacher's probabilities at temperature 1, aligned to ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows, passed to the teacher as they are.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        teacher = self.teacher_
        if teacher is None:
            raise ValueError(
                "This DistilledClassifier was trained on labels alone "
                "(soft_target_weight=0) without a fitted teacher."
            )
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
        """
        check_is_fitted(self)
        import copy

        module = copy.deepcopy(self.student_.module_).cpu().eval()
        return StudentClassifier(
            module,
            self.classes_,
            feature_names=getattr(self, "feature_names_in_", None),
            category_codes=self.category_codes_,
            allow_nan=self.allow_nan_,
        )

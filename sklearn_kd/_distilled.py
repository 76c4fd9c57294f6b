"""DistilledClassifier: distil any classifier into a small PyTorch student."""

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    check_memory,
    validate_data,
)

from ._export import StudentClassifier
from ._fingerprint import fingerprint
from ._loss import (
    UNLABELLED,
    DistillationLoss,
    centred_logits,
    pack_targets,
    softmax,
)
from ._munge import munge
from ._preprocessing import CategoryCodes, InputEncoder, categorical_mask
from ._shared_models import SharedFittedModels
from ._skorch_net import EpochProgressBar, RowTensors, StudentNet, ValidationSplit
from ._soft_targets import SOFT_TARGET_SOURCES, teacher_logits
from ._student import (
    MLP,
    StudentModule,
    auto_hidden_layer_sizes,
    predict_logits,
    shift_logit_bias,
    torch_threads,
)
from ._teacher import (
    is_fitted,
    output_is_probability,
    output_to_logits,
    query_teacher,
    resolve_response_method,
    teacher_classes,
)

_NESTED_PREFIXES = ("student__", "optimizer__")
# Floors for probabilities turned into logits with proba_eps="auto": under the KL
# loss, classes a probability-only teacher gives exactly zero stay (numerically)
# zero at any temperature; the MSE loss needs finite, moderate logits.
_AUTO_EPS = {"kl": 1e-300, "mse": 1e-6}


def _softmax_rows(logits):
    return torch.softmax(logits, dim=-1)


def _cached_teacher_logits(
    teacher, teacher_fingerprint, X, y, labelled, X_synthetic, **kw
):
    return teacher_logits(teacher, X, y, labelled, X_synthetic, **kw)


def _resolve_device(device):
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but PyTorch sees no CUDA device; use "
            "device='cpu', or device='auto' to use a GPU only when there is one."
        )
    return device


class DistilledClassifier(SharedFittedModels, ClassifierMixin, BaseEstimator):
    """Distil a teacher classifier into a small neural network student.

    The student, a PyTorch network trained by skorch, learns from the teacher's
    soft targets ``softmax(teacher_logits / T)`` and from the true labels
    (Hinton, Vinyals & Dean, 2015). Per row, with ``w = soft_target_weight``, the
    loss is ``w * T**2 * KL(soft targets || softmax(student_logits / T))`` plus
    ``(1 - w) * CE(student_logits, y)``, averaged over rows (weighted by
    ``sample_weight``). Rows labelled ``-1`` are unlabelled transfer data: they
    learn from the teacher alone.

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
        validation folds' labels and inflates cross-validated scores. ``None`` is
        allowed only with ``soft_target_weight=0``.
    temperature : float, default=1.0
        The temperature ``T > 0`` softening teacher and student alike. Tune it by
        grid search: neural teachers with confident logits often gain from
        ``T`` of 2 to 20 (the paper's MNIST nets); forests, whose averaged votes
        are already soft, did best at ``T = 1`` in our benchmarks, and higher
        temperatures cost accuracy there.
    soft_target_weight : float, default=0.5
        Weight ``w`` in ``[0, 1]`` of the soft term. ``0`` trains on labels alone
        (the teacher is then neither fitted nor queried); ``1`` on soft targets
        alone.
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
    augment : {"munge"} or None, default=None
        ``"munge"`` adds synthetic rows (Bucila et al., 2006), labelled by the
        teacher's soft targets only.
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
        encodes them inside the network; MUNGE swaps them as values.
    student : subclass of torch.nn.Module, default=None
        The student's network, constructed as ``student(n_features_in=...,
        n_classes=..., **student__params)`` where ``n_features_in`` is the width
        of the encoded input. Its own arguments are set as ``student__name=value``
        (in the constructor, ``set_params`` or a grid). ``None`` builds an
        :class:`~sklearn_kd.MLP` with ``hidden_layer_sizes``.
    hidden_layer_sizes : "auto" or tuple of int, default="auto"
        Hidden layers of the default MLP student. ``"auto"``: ``(w, w // 2)`` with
        ``w`` the power of two at or above ``4 * (n_inputs + n_classes)``, clipped
        to ``[32, 256]``.
    max_epochs : int, default=50
        Training epochs (an upper bound with ``early_stopping``).
    batch_size : int, default=256
        Rows per mini-batch.
    lr : float, default=1e-3
        Learning rate of ``optimizer``.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Its other arguments are set as ``optimizer__name=value``.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks (copied before use, so the given ones stay as
        they are).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and stop once the validation
        loss has not improved for ``n_iter_no_change`` epochs, keeping the best
        weights. Only real rows validate: synthetic (MUNGE) rows never do, and
        those made from a held-out row are not trained on either.
    validation_fraction : float, default=0.1
        Share of the real rows held out for early stopping.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where the student trains; ``"auto"`` uses a GPU when there is one. A model
        trained on a GPU predicts on a CPU after unpickling.
    scaling : {"standard"} or None, default="standard"
        Input standardisation inside the student's network (the teacher always
        sees the raw ``X``).
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
        queries the teacher once per fold. Set ``random_state`` for hits with
        ``soft_targets="cross_fit"`` or ``augment``.
    n_jobs : int, default=None
        Parallel jobs for fitting cross-fit teachers.
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
        Nested parameters ``student__name`` and ``optimizer__name``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The teacher's classes (so a class absent from ``y`` is still predicted).
    teacher_ : estimator or None
        The fitted teacher (the given one when it was fitted); ``None`` when
        ``soft_target_weight=0`` and the teacher was not fitted.
    soft_targets_ : str or None
        The soft-target source used (``"auto"`` resolved).
    student_ : StudentNet
        The trained skorch net; ``student_.module_`` is the PyTorch module
        (input encoding, network and logit bias) and ``student_.history`` its
        training history.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` has string column names.

    See Also
    --------
    StudentClassifier : the trained student alone, without its teacher.

    References
    ----------
    G. Hinton, O. Vinyals and J. Dean, "Distilling the Knowledge in a Neural
    Network", 2015. C. Bucila, R. Caruana and A. Niculescu-Mizil, "Model
    Compression", KDD 2006. J. Ba and R. Caruana, "Do Deep Nets Really Need to be
    Deep?", NeurIPS 2014.

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

    _shared_model_params = ("teacher",)

    _parameter_constraints = {
        "teacher": [
            HasMethods(["predict_proba"]),
            HasMethods(["decision_function"]),
            None,
        ],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "soft_target_weight": [Interval(Real, 0, 1, closed="both")],
        "loss": [StrOptions({"kl", "mse"})],
        "soft_targets": [StrOptions(set(SOFT_TARGET_SOURCES))],
        "cv": ["cv_object"],
        "proba_eps": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="neither")],
        "augment": [StrOptions({"munge"}), None],
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
        "scaling": [StrOptions({"standard"}), None],
        "response_method": [StrOptions({"auto", "predict_proba", "decision_function"})],
        "teacher_batch_size": [Interval(Integral, 1, None, closed="left")],
        "memory": [None, str, HasMethods(["cache"])],
        "n_jobs": [Integral, None],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        teacher=None,
        *,
        temperature=1.0,
        soft_target_weight=0.5,
        loss="kl",
        soft_targets="auto",
        cv=5,
        proba_eps="auto",
        augment=None,
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

    # -- parameters ------------------------------------------------------------

    def _extra_params(self):
        """Parameters given as ``**kwargs``: neither declared nor fitted state."""
        declared = self._get_param_names()
        return {
            key: value
            for key, value in vars(self).items()
            if key not in declared and not key.startswith("_") and not key.endswith("_")
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
        for key in [key for key in params if key.startswith(_NESTED_PREFIXES)]:
            setattr(self, key, params.pop(key))
        return super().set_params(**params)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # The student imputes missing values; the teacher decides whether it can.
        tags.input_tags.allow_nan = (
            self.teacher is None or get_tags(self.teacher).input_tags.allow_nan
        )
        return tags

    def _finiteness(self):
        return "allow-nan" if get_tags(self).input_tags.allow_nan else True

    # -- fit -------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the teacher if needed, compute soft targets and train the student.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows, passed to the teacher exactly as given. NaN is allowed
            when the teacher accepts it; the student imputes it.
        y : array-like of shape (n_samples,)
            Labels; with numeric labels, ``-1`` marks an unlabelled row.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights in the loss.

        Returns
        -------
        self : DistilledClassifier
            The fitted estimator.
        """
        unknown = [
            key for key in self._extra_params() if not key.startswith(_NESTED_PREFIXES)
        ]
        if unknown:
            raise TypeError(
                f"DistilledClassifier got unexpected parameters {unknown}; nested "
                "parameters start with 'student__' (the student module's arguments) "
                "or 'optimizer__' (the optimizer's)."
            )
        X_teacher = X if hasattr(X, "iloc") or isinstance(X, np.ndarray) else None
        self.category_codes_ = CategoryCodes.from_frame(X)
        if self.category_codes_ is not None:
            X = self.category_codes_.encode(X)
        X, y = validate_data(
            self, X, y, dtype=np.float64, ensure_all_finite=self._finiteness()
        )
        check_classification_targets(y)
        X_teacher = X if X_teacher is None else X_teacher
        sample_weight = _check_sample_weight(sample_weight, X)
        labelled = (y != UNLABELLED) if y.dtype.kind in "iuf" else np.ones(len(y), bool)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        categorical = categorical_mask(self.categorical_features, X.shape[1])
        if self.category_codes_ is not None:
            categorical |= self.category_codes_.columns_mask(self.feature_names_in_)

        if self.soft_target_weight == 0:
            rows = np.flatnonzero(labelled)
            fitted = self.teacher is not None and is_fitted(self.teacher)
            self.teacher_ = self.teacher if fitted else None
            self.soft_targets_ = None
            known = None if self.teacher_ is None else teacher_classes(self.teacher_)
            self.classes_ = self._check_classes(
                np.unique(y[rows] if known is None else known), y[rows]
            )
            targets = np.zeros((len(rows), len(self.classes_)))
            X_student = X[rows]
            label_index = np.searchsorted(self.classes_, y[rows])
            weights = sample_weight[rows]
            synthetic_per_row = 0
        else:
            X_synthetic = None
            if self.augment == "munge":
                X_synthetic = munge(
                    X,
                    n_samples_per_row=self.augment_factor,
                    swap_probability=self.munge_swap_probability,
                    spread=self.munge_spread,
                    categorical_features=categorical,
                    random_state=rng,
                )
            stage = self._teacher_stage(X_teacher, X, y, labelled, X_synthetic, rng)
            self.teacher_ = stage.fitted_teacher or self.teacher
            self.soft_targets_ = stage.source
            self.classes_ = self._check_classes(stage.classes, y[labelled])
            logits = stage.logits
            X_student = X
            label_index = np.full(len(y), UNLABELLED)
            label_index[labelled] = np.searchsorted(self.classes_, y[labelled])
            weights = sample_weight
            synthetic_per_row = 0 if X_synthetic is None else self.augment_factor
            if X_synthetic is not None:
                logits = np.vstack([logits, stage.synthetic_logits])
                X_student = np.vstack([X, X_synthetic])
                label_index = np.concatenate(
                    [label_index, np.full(len(X_synthetic), UNLABELLED)]
                )
                weights = np.concatenate([weights, np.ones(len(X_synthetic))])
            if self.loss == "kl":
                targets = softmax(logits, self.temperature)
            else:
                targets = centred_logits(logits)

        encoder = InputEncoder.from_data(
            X, scaling=self.scaling, categorical=categorical
        )
        with torch_threads(self.n_threads):
            self.student_ = self._train_student(
                encoder,
                X_student,
                pack_targets(targets, label_index, weights),
                seed,
                synthetic_per_row,
            )
        return self

    def _check_classes(self, classes, y_labelled):
        if UNLABELLED in classes and np.asarray(classes).dtype.kind in "iuf":
            raise ValueError(
                "The teacher has a class -1, which scikit-learn reserves for "
                "unlabelled rows: relabel its classes (e.g. with a LabelEncoder) "
                "before distilling."
            )
        if len(classes) < 2:
            raise ValueError(
                f"The teacher knows {len(classes)} class(es) ({list(classes)}); "
                "distillation needs a teacher of at least two classes."
            )
        unknown = np.setdiff1d(np.unique(y_labelled), classes)
        if unknown.size:
            raise ValueError(
                f"y has labels {unknown.tolist()} that the teacher does not know; its "
                f"classes are {list(classes)}. Use -1 for unlabelled rows."
            )
        return np.asarray(classes)

    def _teacher_stage(self, X_teacher, X, y, labelled, X_synthetic, rng):
        teacher = self.teacher
        if teacher is None:
            raise ValueError(
                "DistilledClassifier needs a teacher: pass a fitted or unfitted "
                "classifier, or set soft_target_weight=0 to train on labels alone."
            )
        if is_fitted(teacher):
            known = teacher_classes(teacher)
            if known is not None:
                self._check_classes(np.unique(known), y[labelled])
            expected = getattr(teacher, "n_features_in_", X.shape[1])
            if expected != X.shape[1]:
                raise ValueError(
                    f"X has {X.shape[1]} features, but the fitted teacher "
                    f"{type(teacher).__name__} expects {expected}."
                )
        if X_synthetic is not None and hasattr(X_teacher, "columns"):
            import pandas as pd

            X_synthetic = pd.DataFrame(X_synthetic, columns=X_teacher.columns)
            if self.category_codes_ is not None:
                X_synthetic = self.category_codes_.decode(X_synthetic)
        if self.proba_eps == "auto":
            eps = _AUTO_EPS[self.loss]
        else:
            eps = self.proba_eps
        memory = check_memory(self.memory)
        cached = memory.cache(_cached_teacher_logits, ignore=["teacher"])
        return cached(
            teacher,
            fingerprint(teacher) if memory.location is not None else None,
            X_teacher,
            y,
            labelled,
            X_synthetic,
            soft_targets=self.soft_targets,
            response_method=self.response_method,
            cv=self.cv,
            n_jobs=self.n_jobs,
            random_state=int(rng.randint(np.iinfo(np.int32).max)),
            batch_size=self.teacher_batch_size,
            eps=eps,
        )

    def _build_network(self, n_inputs, n_classes):
        params = self._nested_params("student__")
        if self.student is None:
            hidden = self.hidden_layer_sizes
            if isinstance(hidden, str):
                hidden = auto_hidden_layer_sizes(n_inputs, n_classes)
            return MLP(n_inputs, n_classes, hidden_layer_sizes=tuple(hidden), **params)
        if not issubclass(self.student, torch.nn.Module):
            raise TypeError(
                f"student must be a torch.nn.Module subclass, got {self.student!r}."
            )
        return self.student(n_features_in=n_inputs, n_classes=n_classes, **params)

    def _callbacks(self):
        callbacks = list(copy.deepcopy(self.callbacks or []))
        if self.early_stopping:
            from skorch.callbacks import EarlyStopping

            callbacks.append(
                EarlyStopping(
                    monitor="valid_loss", patience=self.n_iter_no_change, load_best=True
                )
            )
        if self.verbose == 1:
            callbacks.append(("progress_bar", EpochProgressBar()))
        return callbacks

    def _train_student(self, encoder, X, packed_targets, seed, synthetic_per_row):
        """Train the student on ``X``: the real rows, then ``synthetic_per_row``
        synthetic rows made from each real row in turn."""
        device = _resolve_device(self.device)
        n_classes = len(self.classes_)
        generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = StudentModule(
                encoder, self._build_network(encoder.n_outputs, n_classes), n_classes
            )
            net = StudentNet(
                module=module,
                criterion=DistillationLoss,
                criterion__temperature=self.temperature,
                criterion__soft_target_weight=self.soft_target_weight,
                criterion__loss=self.loss,
                optimizer=self.optimizer,
                lr=self.lr,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                train_split=(
                    ValidationSplit(
                        self.validation_fraction, generator, synthetic_per_row
                    )
                    if self.early_stopping
                    else None
                ),
                callbacks=self._callbacks(),
                classes=list(range(n_classes)),
                predict_nonlinearity=_softmax_rows,
                device=device,
                verbose=int(self.verbose >= 2),
                generator=generator,
                **{
                    f"optimizer__{key}": value
                    for key, value in self._nested_params("optimizer__").items()
                },
            )
            net.initialize()
            with torch.no_grad():
                inputs = net.module_.encoder(
                    torch.from_numpy(np.array(X, dtype=np.float32)).to(device)
                )
            data = RowTensors(inputs, torch.as_tensor(packed_targets, device=device))
            net.partial_fit(data, y=None, encoded=True)
        return net

    # -- predict ---------------------------------------------------------------

    def _student_logits(self, X):
        check_is_fitted(self)
        if self.category_codes_ is not None:
            X = self.category_codes_.encode(X)
        X = validate_data(
            self, X, reset=False, dtype=np.float32, ensure_all_finite=self._finiteness()
        )
        with torch_threads(self.n_threads):
            return predict_logits(self.student_.module_, X, device=self.student_.device)

    def predict_proba(self, X):
        """Class probabilities of the student at temperature 1.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; rows sum to 1.
        """
        return softmax(self._student_logits(X).astype(np.float64))

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        logits = self._student_logits(X)
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
        if self.teacher_ is None:
            raise ValueError(
                "This DistilledClassifier was trained on labels alone "
                "(soft_target_weight=0) without a fitted teacher."
            )
        method = resolve_response_method(self.teacher_, self.response_method)
        output = query_teacher(self.teacher_, X, method, self.teacher_batch_size)
        logits = output_to_logits(
            output, output_is_probability(self.teacher_, method), 1e-300
        )
        teacher_cls = teacher_classes(self.teacher_)
        if teacher_cls is not None:
            logits = logits[:, np.argsort(teacher_cls)]
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
        small fraction of a large teacher's, and it exports to ONNX.

        Returns
        -------
        student : StudentClassifier
        """
        check_is_fitted(self)
        module = copy.deepcopy(self.student_.module_).cpu().eval()
        return StudentClassifier(
            module,
            self.classes_,
            feature_names=getattr(self, "feature_names_in_", None),
            category_codes=self.category_codes_,
        )

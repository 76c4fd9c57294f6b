"""A generalist plus specialists on confusable classes (Hinton et al. 2015, sec. 5)."""

import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from scipy.special import xlogy
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import cross_val_predict
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._probability import PROBABILITY_FLOOR
from .._seeds import draw_seed, draw_seeds
from .._sklearn_compat import HasMethods, Interval, _fit_context
from ._adapters import is_fitted
from ._shared_models import SharedFittedModels


class SpecialistEnsembleClassifier(SharedFittedModels, ClassifierMixin, BaseEstimator):
    """A generalist classifier refined by specialists on confusable classes.

    Implements the ensemble of specialists of Hinton, Vinyals and Dean (2015),
    section 5. A generalist is trained on all classes. The classes are then
    clustered by the covariance of the generalist's predicted probabilities
    (k-means on the columns of the correlation matrix, see Notes), so that
    classes it tends to predict together (confuses) end up in the same subset.
    Each subset gets a specialist: a classifier trained on that subset's classes
    plus one "dustbin" class standing for all the other classes.

    At prediction time, the ``top_n`` classes the generalist finds most probable
    select the active specialists: those whose subset contains any of them. The
    prediction is the distribution ``q`` over all classes minimising::

        KL(p_generalist || q) + sum over active m of KL(p_m || q_m)

    where ``q_m`` is ``q`` restricted to specialist ``m``'s classes, with all of
    ``q``'s remaining mass merged into its dustbin. Rows with no active specialist
    keep the generalist's distribution exactly.

    Parameters
    ----------
    generalist : classifier
        Classifier with ``predict_proba`` trained on all classes. If it is already
        fitted it is used as is: never refitted, never modified, shared (not
        copied) by :func:`~sklearn.base.clone`, and its nested parameters cannot
        be set through this estimator. Otherwise a clone of it is fitted on the
        training data. A fitted generalist must know exactly the classes of
        ``y``.

    specialist : classifier, default=None
        Template for the specialists: any classifier with ``predict_proba``,
        cloned once per subset. ``None`` uses a clone of the generalist with its
        hyperparameters (the unwrapped estimator for a
        :class:`~sklearn.frozen.FrozenEstimator`), so the specialists share the
        generalist's architecture as in the paper. Every ``random_state``
        parameter of each clone (nested ones included) is set from
        ``random_state``.

    n_specialists : int, default=4
        Number of specialists, i.e. of k-means clusters of classes. Must lie in
        ``[1, n_classes]``.

    classes_per_specialist : int, default=None
        Size each class subset is filled up to: a subset is its k-means cluster
        plus the classes nearest to the cluster centre, so subsets overlap when
        this exceeds the cluster sizes. Clusters larger than this are kept whole.
        ``None`` uses the clusters alone (disjoint subsets covering every class).
        Must lie in ``[1, n_classes]``; a subset of all classes has no dustbin.

    top_n : int, default=1
        Number of the generalist's most probable classes that select the active
        specialists of a row. Must lie in ``[1, n_classes]``.

    cv : int, cross-validation generator or iterable, default=3
        Splitting used for the out-of-fold generalist probabilities that the
        classes are clustered on, when the generalist is fitted here (in-sample
        probabilities are overconfident and hide confusions). Ignored for an
        already fitted generalist, whose plain predictions on the training data
        are used instead. Accepts any ``cv`` that
        :func:`~sklearn.model_selection.cross_val_predict` accepts.

    solver_max_iter : int, default=1000
        Maximum number of updates per row of the solver combining the generalist
        and the specialists at prediction time (see Notes). Rows still
        unconverged then raise a :class:`~sklearn.exceptions.ConvergenceWarning`.

    solver_tol : float, default=1e-4
        A row's solver stops once a certified upper bound on its objective gap
        (in nats) is at most this.

    n_jobs : int, default=None
        Number of jobs fitting the specialists (and the cross-validated
        generalist) in parallel. ``None`` means 1 unless in a
        :obj:`joblib.parallel_backend` context; ``-1`` uses all processors.

    random_state : int, RandomState instance or None, default=None
        Seeds the k-means clustering, the sampling of each specialist's dustbin
        rows and the specialists' own ``random_state``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.

    n_features_in_ : int
        Number of features seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`. Defined only when ``X`` has
        feature names that are all strings.

    generalist_ : classifier
        The fitted generalist: ``generalist`` itself when it came fitted.

    specialist_classes_ : list of ndarray
        Class labels of each specialist's subset, in ``classes_`` order.

    specialists_ : list of classifiers
        The fitted specialists. Specialist ``m`` predicts the integer codes
        ``0 .. len(specialist_classes_[m]) - 1`` for its classes, and one more
        code for the dustbin when its subset is not all the classes.

    dustbin_log_corrections_ : ndarray of shape (n_specialists,)
        Log of the factor by which each specialist's dustbin class was
        under-sampled in training, added to its dustbin log-probability before
        renormalising. Zero when no under-sampling was needed.

    See Also
    --------
    sklearn.ensemble.StackingClassifier : Learns how to combine classifiers.

    Notes
    -----
    **Class subsets.** Each class is a point: its column of the covariance
    matrix of the predicted probability vectors, scaled to unit diagonal (that
    is, the correlation matrix). Without the scaling each column is dominated by
    the class's own variance, and k-means isolates the classes the generalist
    predicts confidently as singletons while lumping the rest into one cluster
    (26 letters into clusters of 1, 23, 1 and 1, for instance).

    **Training a specialist.** Half its training rows are all the rows of its
    classes, the other half rows of other classes, drawn at random without
    replacement and labelled as the dustbin (all of them if there are fewer).
    Drawing ``n_used`` of the ``n_rest`` other rows under-samples the dustbin by
    ``n_rest / n_used``, so ``log(n_rest / n_used)`` is added to the
    specialist's dustbin log-probability and its output renormalised.

    **Combining.** The objective is convex in ``q``. It is minimised by the
    expectation-maximisation (majorise-minimise) update::

        q <- (p_generalist + sum over active m of t_m(q)) / (1 + n_active)

    where ``t_m(q)`` is ``p_m`` on specialist ``m``'s classes, with its dustbin
    probability spread over the other classes in proportion to ``q``. The
    gradient of the objective with respect to the logits of ``q`` is
    ``(1 + n_active) q - sum(targets)``, so this update is a gradient step on the
    logits preconditioned by ``1 / (1 + n_active)`` and taken in probability
    space; unlike plain gradient steps on the logits it needs no step size and
    never increases the objective. Updates are vectorised over rows, start from
    the generalist's distribution (floored at ``1e-12``) and are accelerated by
    SQUAREM extrapolation (Varadhan and Roland, 2008), kept only where it lowers
    the objective. A row stops once the Frank-Wolfe bound on its objective gap,
    ``(1 + n_active) * (max_k q_new[k] / q[k] - 1)``, is at most ``solver_tol``.
    Convergence is slow only where the specialists' dustbins push mass onto
    classes the generalist rules out, since the objective is nearly flat in how
    that mass is shared among them.

    References
    ----------
    G. Hinton, O. Vinyals and J. Dean. Distilling the Knowledge in a Neural
    Network. NIPS Deep Learning Workshop, 2015. arXiv:1503.02531.

    R. Varadhan and C. Roland. Simple and Globally Convergent Methods for
    Accelerating the Convergence of Any EM Algorithm. Scandinavian Journal of
    Statistics 35(2), 2008.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_kd.teacher._specialists import SpecialistEnsembleClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SpecialistEnsembleClassifier(
    ...     LogisticRegression(max_iter=1000), n_specialists=2, random_state=0
    ... ).fit(X, y)
    >>> [subset.tolist() for subset in clf.specialist_classes_]
    [[0], [1, 2]]
    >>> print(f"{clf.score(X, y):.2f}")
    0.97
    """

    _shared_model_params = ("generalist",)

    _parameter_constraints: dict = {
        "generalist": [HasMethods(["fit", "predict_proba"])],
        "specialist": [HasMethods(["fit", "predict_proba"]), None],
        "n_specialists": [Interval(Integral, 1, None, closed="left")],
        "classes_per_specialist": [Interval(Integral, 1, None, closed="left"), None],
        "top_n": [Interval(Integral, 1, None, closed="left")],
        "cv": ["cv_object"],
        "solver_max_iter": [Interval(Integral, 1, None, closed="left")],
        "solver_tol": [Interval(Real, 0, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        generalist,
        *,
        specialist=None,
        n_specialists=4,
        classes_per_specialist=None,
        top_n=1,
        cv=3,
        solver_max_iter=1000,
        solver_tol=1e-4,
        n_jobs=None,
        random_state=None,
    ):
        self.generalist = generalist
        self.specialist = specialist
        self.n_specialists = n_specialists
        self.classes_per_specialist = classes_per_specialist
        self.top_n = top_n
        self.cv = cv
        self.solver_max_iter = solver_max_iter
        self.solver_tol = solver_tol
        self.n_jobs = n_jobs
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the generalist (unless already fitted) and the specialists.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,)
            Class labels, of any type.

        Returns
        -------
        self : SpecialistEnsembleClassifier
            The fitted estimator.
        """
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, y_codes = np.unique(y, return_inverse=True)
        self._check_sizes(len(self.classes_))
        rng = check_random_state(self.random_state)

        if is_fitted(self.generalist):
            self._check_fitted_generalist(X)
            self.generalist_ = self.generalist
            clustering_proba = self.generalist_.predict_proba(X)
        else:
            clustering_proba = cross_val_predict(
                clone(self.generalist),
                X,
                y,
                cv=self.cv,
                method="predict_proba",
                n_jobs=self.n_jobs,
            )
            self.generalist_ = clone(self.generalist).fit(X, y)

        subsets = _class_subsets(
            clustering_proba,
            self.n_specialists,
            self.classes_per_specialist,
            random_state=draw_seed(rng),
        )
        template = self._specialist_template()
        seeds = draw_seeds(rng, len(subsets))
        fitted = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_specialist)(template, X, y_codes, subset, seed)
            for subset, seed in zip(subsets, seeds, strict=True)
        )
        self._subsets = subsets
        self.specialist_classes_ = [self.classes_[subset] for subset in subsets]
        self.specialists_ = [specialist for specialist, _ in fitted]
        self.dustbin_log_corrections_ = np.array([log for _, log in fitted])
        return self

    def predict_proba(self, X):
        """Class probabilities combining the generalist and active specialists.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of the classes in ``classes_`` order. Rows with no
            active specialist are the generalist's probabilities.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        general_proba, outputs = self._combination_inputs(X)
        return _combine(general_proba, outputs, self.solver_max_iter, self.solver_tol)

    def predict(self, X):
        """Most probable class of each row after combining.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def _check_sizes(self, n_classes):
        if n_classes < 2:
            raise ValueError(
                f"y has {n_classes} class; SpecialistEnsembleClassifier needs at "
                "least 2 classes."
            )
        for name in ("n_specialists", "classes_per_specialist", "top_n"):
            value = getattr(self, name)
            if value is not None and value > n_classes:
                raise ValueError(
                    f"{name}={value} exceeds the number of classes in y "
                    f"({n_classes}); it must lie in [1, {n_classes}]."
                )

    def _check_fitted_generalist(self, X):
        known = getattr(self.generalist, "classes_", None)
        if known is None or not np.array_equal(np.asarray(known), self.classes_):
            raise ValueError(
                f"The fitted generalist knows the classes {known}, but y has the "
                f"classes {self.classes_}; they must be the same."
            )
        expected = getattr(self.generalist, "n_features_in_", X.shape[1])
        if expected != X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features, but the fitted generalist expects "
                f"{expected}."
            )

    def _specialist_template(self):
        if self.specialist is not None:
            return self.specialist
        generalist = self.generalist
        if isinstance(generalist, FrozenEstimator):
            generalist = generalist.estimator
        try:
            return clone(generalist)
        except TypeError as error:
            raise TypeError(
                "specialist=None uses a clone of the generalist, which cannot be "
                f"cloned ({error}); pass a `specialist` classifier."
            ) from error

    def _combination_inputs(self, X):
        """The generalist's probabilities and the active specialists' outputs."""
        general_proba = self.generalist_.predict_proba(X)
        top_classes = np.argsort(-general_proba, axis=1, kind="stable")[:, : self.top_n]
        outputs = []
        for index, subset in enumerate(self._subsets):
            rows = np.flatnonzero(np.isin(top_classes, subset).any(axis=1))
            if rows.size:
                outputs.append((subset, rows, self._specialist_proba(index, X[rows])))
        return general_proba, outputs

    def _specialist_proba(self, index, X):
        """Specialist ``index``'s probabilities, dustbin last and corrected."""
        specialist = self.specialists_[index]
        subset_size = len(self._subsets[index])
        proba = np.zeros((X.shape[0], subset_size + 1))
        proba[:, specialist.classes_] = specialist.predict_proba(X)
        proba[:, -1] *= np.exp(self.dustbin_log_corrections_[index])
        return proba / proba.sum(axis=1, keepdims=True)


def _class_subsets(proba, n_subsets, subset_size, random_state):
    """Class indices of each subset: a k-means cluster, filled with its nearest.

    The points clustered are the columns of the covariance matrix of the
    predicted probability vectors, one per class, scaled to unit diagonal (the
    correlation matrix). Unscaled columns are dominated by each class's own
    variance, so k-means isolates the confidently predicted classes as
    singletons and lumps the rest together.
    """
    covariance = np.cov(proba, rowvar=False, bias=True)
    spread = np.sqrt(np.diag(covariance))
    spread[spread == 0] = 1.0
    points = covariance / np.outer(spread, spread)
    labels = (
        KMeans(n_clusters=n_subsets, n_init=10, random_state=random_state)
        .fit(points)
        .labels_
    )
    labels = _fill_empty_clusters(labels, points, n_subsets)
    subsets = []
    for cluster in range(n_subsets):
        core = np.flatnonzero(labels == cluster)
        distance = ((points - points[core].mean(axis=0)) ** 2).sum(axis=1)
        distance[core] = -np.inf
        size = max(core.size, subset_size or 0)
        subsets.append(np.sort(np.argsort(distance, kind="stable")[:size]))
    return subsets


def _fill_empty_clusters(labels, points, n_clusters):
    # k-means can leave clusters empty when classes have identical covariance
    # columns; each empty one takes the point of the largest cluster that lies
    # farthest from that cluster's centre.
    labels = labels.copy()
    for cluster in range(n_clusters):
        if np.any(labels == cluster):
            continue
        largest = np.argmax(np.bincount(labels, minlength=n_clusters))
        members = np.flatnonzero(labels == largest)
        centre = points[members].mean(axis=0)
        distance = ((points[members] - centre) ** 2).sum(axis=1)
        labels[members[np.argmax(distance)]] = cluster
    return labels


def _fit_specialist(template, X, y_codes, subset, seed):
    """Fit one specialist on its classes plus an under-sampled dustbin class.

    Returns the fitted specialist and the log of the dustbin's under-sampling
    factor.
    """
    rng = np.random.RandomState(seed)
    in_subset = np.isin(y_codes, subset)
    own_rows = np.flatnonzero(in_subset)
    other_rows = np.flatnonzero(~in_subset)
    n_used = min(own_rows.size, other_rows.size)
    dustbin_rows = np.sort(rng.choice(other_rows, size=n_used, replace=False))
    rows = np.concatenate([own_rows, dustbin_rows])
    targets = np.concatenate(
        [np.searchsorted(subset, y_codes[own_rows]), np.full(n_used, subset.size)]
    )
    specialist = clone(template)
    random_state_names = [
        name
        for name in specialist.get_params(deep=True)
        if name == "random_state" or name.endswith("__random_state")
    ]
    specialist.set_params(**dict.fromkeys(random_state_names, int(seed)))
    specialist.fit(X[rows], targets)
    log_correction = np.log(other_rows.size / n_used) if n_used else 0.0
    return specialist, log_correction


def _combine(general_proba, outputs, max_iter, tol):
    """Distribution minimising the generalist's and specialists' summed KL.

    Parameters
    ----------
    general_proba : ndarray of shape (n_samples, n_classes)
        The generalist's probabilities.
    outputs : list of (subset, rows, proba)
        For each specialist with active rows: its class indices, the indices of
        its active rows and its probabilities on them, shape
        (len(rows), len(subset) + 1), dustbin last (0 when subset is all classes).
    max_iter : int
        Maximum number of updates per row.
    tol : float
        A row stops once the bound on its objective gap is at most this.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
        The combined probabilities; rows in no output are ``general_proba``.
    """
    combined = np.array(general_proba, dtype=np.float64)
    if not outputs:
        return combined
    active = np.unique(np.concatenate([rows for _, rows, _ in outputs]))
    general = combined[active]
    outputs = _restrict_rows(outputs, np.isin(np.arange(len(combined)), active))
    n_terms = 1 + np.bincount(
        np.concatenate([rows for _, rows, _ in outputs]), minlength=active.size
    )
    # Floored, so that classes the generalist rules out can still receive a
    # share of a specialist's dustbin.
    q = np.maximum(general, PROBABILITY_FLOOR)
    q /= q.sum(axis=1, keepdims=True)
    # Rows converge at very different speeds (slowest when mass must flow into
    # classes that only the specialists' dustbins vouch for), so converged rows
    # leave the working set.
    pending = np.arange(active.size)
    n_updates = 0
    while n_updates < max_iter:
        first = _em_update(q, general, outputs, n_terms)
        n_updates += 1
        converged = _suboptimality_bound(q, first, n_terms) <= tol
        combined[active[pending[converged]]] = first[converged]
        if converged.all():
            pending = pending[:0]
            break
        if converged.any():
            keep = ~converged
            pending, q, first = pending[keep], q[keep], first[keep]
            general, n_terms = general[keep], n_terms[keep]
            outputs = _restrict_rows(outputs, keep)
        if n_updates + 2 <= max_iter:
            q = _squarem_step(q, first, general, outputs, n_terms)
            n_updates += 2
        else:
            q = first
        combined[active[pending]] = q
    if pending.size:
        warnings.warn(
            f"The specialist combination did not converge in {max_iter} "
            f"iterations for {pending.size} rows (solver_tol={tol:g}); increase "
            "solver_max_iter.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return combined


def _em_update(q, general, outputs, n_terms):
    return _completed_targets(q, general, outputs) / n_terms[:, None]


def _squarem_step(q, first, general, outputs, n_terms):
    """Two updates extrapolated by SQUAREM (Varadhan & Roland, 2008), per row.

    The extrapolated point is kept only where it is a valid distribution whose
    update beats a plain second update, so the objective still decreases.
    """
    second = _em_update(first, general, outputs, n_terms)
    step = first - q
    curvature = second - 2 * first + q
    step_norm = np.linalg.norm(step, axis=1)
    curvature_norm = np.linalg.norm(curvature, axis=1)
    alpha = -np.divide(
        step_norm, curvature_norm, out=np.ones_like(step_norm), where=curvature_norm > 0
    )
    alpha = np.minimum(alpha, -1.0)[:, None]
    extrapolated = q - 2 * alpha * step + alpha**2 * curvature
    # Classes at exactly 0 stay there under the update; all others must be > 0.
    valid = np.all(np.where(q > 0, extrapolated > 0, extrapolated == 0), axis=1)
    extrapolated[~valid] = second[~valid]
    extrapolated /= extrapolated.sum(axis=1, keepdims=True)
    stabilised = _em_update(extrapolated, general, outputs, n_terms)
    better = _objective(stabilised, general, outputs) <= _objective(
        second, general, outputs
    )
    return np.where(better[:, None], stabilised, second)


def _suboptimality_bound(q, updated, n_terms):
    """Frank-Wolfe bound on each row's objective gap, from one update.

    The objective is convex in q with gradient ``-targets / q``, and
    ``updated = targets / n_terms``, so the gap to the optimum is at most
    ``n_terms * (max(updated / q) - 1)``.
    """
    ratio = np.divide(updated, q, out=np.zeros_like(q), where=q > 0)
    return n_terms * (ratio.max(axis=1) - 1)


def _restrict_rows(outputs, keep):
    """``outputs`` on the rows where ``keep`` is true, renumbered from 0."""
    position = np.cumsum(keep) - 1
    restricted = []
    for subset, rows, proba in outputs:
        selected = keep[rows]
        if selected.any():
            restricted.append((subset, position[rows[selected]], proba[selected]))
    return restricted


def _completed_targets(q, general, outputs):
    """Sum of the targets of every term, each dustbin spread in proportion to q."""
    targets = general.copy()
    for subset, rows, proba in outputs:
        q_rows = q[rows]
        other = np.ones(q.shape[1], dtype=bool)
        other[subset] = False
        other_mass = q_rows[:, other].sum(axis=1, keepdims=True)
        spread = np.zeros_like(q_rows)
        np.divide(proba[:, -1:] * q_rows, other_mass, out=spread, where=other_mass > 0)
        spread[:, subset] = proba[:, :-1]
        targets[rows] += spread
    return targets


def _objective(q, general_proba, outputs):
    """Per-row ``KL(p_g || q) + sum_m KL(p_m || q_m)`` for the rows of q."""
    value = (xlogy(general_proba, general_proba) - xlogy(general_proba, q)).sum(1)
    for subset, rows, proba in outputs:
        other = np.ones(q.shape[1], dtype=bool)
        other[subset] = False
        merged = np.column_stack([q[rows][:, subset], q[rows][:, other].sum(axis=1)])
        value[rows] += (xlogy(proba, proba) - xlogy(proba, merged)).sum(axis=1)
    return value

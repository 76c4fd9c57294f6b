"""Combine several already fitted classifiers into one teacher."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from .._probability import PROBABILITY_FLOOR, softmax
from .._sklearn_compat import StrOptions, _fit_context, validate_parameters
from ._shared_models import SharedFittedModels


class TeacherEnsemble(SharedFittedModels, ClassifierMixin, BaseEstimator):
    """Several already fitted classifiers acting as one teacher.

    The members are never refitted: the ensemble only combines their
    ``predict_proba`` outputs, aligning columns by class value. It counts as
    fitted as soon as every member is fitted, so it can be used, cloned and
    passed anywhere a single fitted teacher is expected without calling
    :meth:`fit`.

    Parameters
    ----------
    estimators : list of estimators
        Fitted classifiers, each with ``predict_proba`` and ``classes_``, all
        trained on the same features. Any mix works (forests, boosting, linear
        models, pipelines, skorch nets). ``X`` is passed unchanged to every
        member, so each must accept the input format the ensemble is given.
        The members are shared, not copied: :func:`~sklearn.base.clone` keeps
        them and nested parameters such as ``estimators__0__C`` cannot be set.

    combine : {"mean", "geometric"}, default="mean"
        How member probabilities are combined.

        - ``"mean"``: weighted arithmetic mean of the probabilities. A member
          that never saw a class gives it probability 0.
        - ``"geometric"``: weighted mean of the log-probabilities, renormalised
          so that rows sum to 1. A member that never saw a class is left out of
          that class's average (the remaining weights are renormalised for that
          class); a class known only to members with weight 0 gets probability
          0. Probabilities are floored at ``1e-12`` before
          the log, so a single member predicting exactly 0 strongly penalises a
          class without making it impossible.

    weights : array-like of shape (n_estimators,), default=None
        Non-negative weight of each member, not all zero. ``None`` weights the
        members equally. Only relative sizes matter.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted union of the members' ``classes_``. Computed from the members,
        so it is available without calling :meth:`fit`.

    n_features_in_ : int
        Number of features the members were trained on. Only defined when at
        least one member defines it.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names shared by all members. Only defined when every member
        defines them and they agree.

    See Also
    --------
    sklearn.ensemble.VotingClassifier : Soft voting over classifiers it fits
        itself.
    sklearn.frozen.FrozenEstimator : Freezes a single fitted estimator.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> logistic = LogisticRegression(max_iter=1000).fit(X, y)
    >>> tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    >>> teacher = TeacherEnsemble([logistic, tree], weights=[2, 1])
    >>> teacher.classes_
    array([0, 1, 2])
    >>> teacher.predict_proba(X[[0, 50]]).round(1)
    array([[1. , 0. , 0. ],
           [0. , 0.9, 0.1]])
    >>> teacher.predict(X[[0, 50, 100]])
    array([0, 1, 2])
    >>> geometric = TeacherEnsemble([logistic, tree], combine="geometric")
    >>> geometric.predict(X[[0, 50, 100]])
    array([0, 1, 2])
    """

    _shared_model_params = ("estimators",)

    _parameter_constraints: dict = {
        "estimators": [list, tuple],
        "combine": [StrOptions({"mean", "geometric"})],
        "weights": ["array-like", None],
    }

    def __init__(self, estimators, *, combine="mean", weights=None):
        self.estimators = estimators
        self.combine = combine
        self.weights = weights

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Validate the parameters and members; the members are not refitted.

        Parameters
        ----------
        X : object, default=None
            Ignored.

        y : object, default=None
            Ignored.

        Returns
        -------
        self : TeacherEnsemble
            The ensemble itself.
        """
        self._check_members()
        self._normalised_weights()
        return self

    def predict_proba(self, X):
        """Combined class probabilities of the members.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples, passed unchanged to every member.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of :attr:`classes_`; rows sum to 1.
        """
        return self._combined_proba(X)[1]

    def predict(self, X):
        """Class with the highest combined probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples, passed unchanged to every member.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, taken from :attr:`classes_`.
        """
        classes, proba = self._combined_proba(X)
        return classes[np.argmax(proba, axis=1)]

    @property
    def classes_(self):
        return self._class_layout()[0]

    @property
    def n_features_in_(self):
        counts = _feature_counts(self._check_members())
        if not counts:
            raise AttributeError(
                "None of the members of this TeacherEnsemble defines n_features_in_."
            )
        return next(iter(counts.values()))

    @property
    def feature_names_in_(self):
        members = self._check_members()
        names = [getattr(member, "feature_names_in_", None) for member in members]
        if any(name is None for name in names) or any(
            not np.array_equal(name, names[0]) for name in names[1:]
        ):
            raise AttributeError(
                "feature_names_in_ is only defined when every member of this "
                "TeacherEnsemble was fitted with the same feature names."
            )
        return names[0]

    def __sklearn_is_fitted__(self):
        if not isinstance(self.estimators, (list, tuple)) or not self.estimators:
            return False
        try:
            for member in self.estimators:
                check_is_fitted(member)
        except (NotFittedError, TypeError):
            return False
        return True

    def _combined_proba(self, X):
        validate_parameters(self)
        classes, columns = self._class_layout()
        weights = self._normalised_weights()
        member_probas = [_member_proba(member, X) for member in self.estimators]
        shape = (member_probas[0].shape[0], len(classes))
        if self.combine == "mean":
            proba = np.zeros(shape)
            for member_proba, member_columns, weight in zip(
                member_probas, columns, weights, strict=True
            ):
                proba[:, member_columns] += weight * member_proba
        else:
            log_sum = np.zeros(shape)
            class_weight = np.zeros(len(classes))
            for member_proba, member_columns, weight in zip(
                member_probas, columns, weights, strict=True
            ):
                floored = np.maximum(member_proba, PROBABILITY_FLOOR)
                log_sum[:, member_columns] += weight * np.log(floored)
                class_weight[member_columns] += weight
            known = class_weight > 0
            log_proba = np.full(shape, -np.inf)
            log_proba[:, known] = log_sum[:, known] / class_weight[known]
            proba = softmax(log_proba)
        # Members' rows may be off by rounding (float32 nets, for instance).
        proba /= proba.sum(axis=1, keepdims=True)
        return classes, proba

    def _check_members(self):
        members = self.estimators
        if not isinstance(members, (list, tuple)) or not members:
            raise ValueError(
                "`estimators` must be a non-empty list of fitted classifiers, "
                f"got {members!r}."
            )
        for position, member in enumerate(members):
            if not hasattr(member, "predict_proba"):
                raise ValueError(
                    f"estimators[{position}] ({type(member).__name__}) has no "
                    "predict_proba; every member must output class probabilities."
                )
            try:
                check_is_fitted(member)
            except NotFittedError as error:
                raise NotFittedError(
                    f"estimators[{position}] ({type(member).__name__}) is not "
                    "fitted. TeacherEnsemble never fits its members: fit each one "
                    "before building the ensemble."
                ) from error
        counts = _feature_counts(members)
        if len(set(counts.values())) > 1:
            listing = ", ".join(
                f"estimators[{position}]: {count}" for position, count in counts.items()
            )
            raise ValueError(
                "All members must be trained on the same features, but their "
                f"n_features_in_ differ ({listing})."
            )
        return members

    def _class_layout(self):
        """Union of the members' classes and each member's column positions in it."""
        members = self._check_members()
        member_classes = [np.asarray(member.classes_) for member in members]
        mixed_types_error = ValueError(
            "The members' classes_ mix label types and cannot be merged ("
            + ", ".join(
                f"estimators[{position}]: {labels.tolist()}"
                for position, labels in enumerate(member_classes)
            )
            + "); all members must use labels of the same type."
        )
        try:
            classes = np.unique(np.concatenate(member_classes))
        except TypeError as error:
            raise mixed_types_error from error
        # Matching by hashed value, not via numpy casting, keeps 1 and "1" apart.
        position_of = {label: index for index, label in enumerate(classes.tolist())}
        columns = []
        for labels in member_classes:
            member_columns = [position_of.get(label) for label in labels.tolist()]
            if None in member_columns:
                raise mixed_types_error
            columns.append(np.asarray(member_columns, dtype=np.intp))
        return classes, columns

    def _normalised_weights(self):
        n_members = len(self.estimators)
        if self.weights is None:
            return np.full(n_members, 1.0 / n_members)
        weights = np.asarray(self.weights)
        if weights.shape != (n_members,) or weights.dtype.kind not in "iuf":
            raise ValueError(
                f"`weights` must hold one real number per member ({n_members}), "
                f"got {self.weights!r}."
            )
        weights = weights.astype(np.float64)
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError(
                f"`weights` must be finite and non-negative, got {self.weights!r}."
            )
        total = weights.sum()
        if total == 0:
            raise ValueError("`weights` must not all be zero.")
        return weights / total


def _feature_counts(members):
    """Map member position to ``n_features_in_`` for members that define it."""
    return {
        position: member.n_features_in_
        for position, member in enumerate(members)
        if hasattr(member, "n_features_in_")
    }


def _member_proba(member, X):
    proba = np.asarray(member.predict_proba(X), dtype=np.float64)
    n_classes = len(member.classes_)
    if proba.ndim != 2 or proba.shape[1] != n_classes:
        raise ValueError(
            f"{type(member).__name__}.predict_proba returned shape {proba.shape}, "
            f"expected (n_samples, {n_classes}) to match its classes_."
        )
    return proba

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import softmax
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_kd import SpecialistEnsembleClassifier
from sklearn_kd.teacher._specialists import (
    _class_subsets,
    _combine,
    _completed_targets,
    _objective,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:900]), y[:900]


def fast_logistic():
    return LogisticRegression(max_iter=300)


class RecordingLogistic(LogisticRegression):
    """Logistic regression that keeps the training rows it was given."""

    def fit(self, X, y):
        self.seen_X_, self.seen_y_ = X.copy(), y.copy()
        return super().fit(X, y)


def random_problem(
    seed, n_rows=50, n_classes=6, subsets=((0, 1, 2), (2, 3)), concentration=0.5
):
    rng = np.random.default_rng(seed)
    general = rng.dirichlet(np.full(n_classes, concentration), size=n_rows)
    outputs = []
    for subset in subsets:
        rows = np.flatnonzero(rng.random(n_rows) < 0.7)
        proba = rng.dirichlet(np.full(len(subset) + 1, 0.5), size=rows.size)
        outputs.append((np.array(subset), rows, proba))
    return general, outputs


def test_subsets_are_disjoint_and_cover_every_class_by_default(digits):
    X, y = digits
    clf = SpecialistEnsembleClassifier(
        fast_logistic(), n_specialists=4, random_state=0
    ).fit(X, y)
    covered = np.concatenate(clf.specialist_classes_)
    assert len(clf.specialist_classes_) == len(clf.specialists_) == 4
    assert np.array_equal(np.sort(covered), np.arange(10))


def test_subsets_overlap_when_filled_beyond_cluster_sizes(digits):
    X, y = digits
    clf = SpecialistEnsembleClassifier(
        fast_logistic(), n_specialists=4, classes_per_specialist=5, random_state=0
    ).fit(X, y)
    sizes = [len(subset) for subset in clf.specialist_classes_]
    assert min(sizes) >= 5
    assert sum(sizes) > 10
    covered = np.unique(np.concatenate(clf.specialist_classes_))
    assert np.array_equal(covered, np.arange(10))


def test_clustering_groups_classes_predicted_together():
    # Classes 0/1 are confused with each other, as are 2/3 and 4/5.
    rng = np.random.default_rng(0)
    rows = []
    for pair in ((0, 1), (2, 3), (4, 5)):
        for _ in range(100):
            share = rng.uniform(0.2, 0.8)
            row = np.full(6, 0.01)
            row[list(pair)] = [share, 1 - share]
            rows.append(row / row.sum())
    subsets = _class_subsets(np.array(rows), 3, None, random_state=0)
    assert sorted(map(tuple, subsets)) == [(0, 1), (2, 3), (4, 5)]

    filled = _class_subsets(np.array(rows), 3, 3, random_state=0)
    for core, subset in zip(subsets, filled, strict=True):
        assert len(subset) == 3 and set(core) <= set(subset)


def test_specialist_trains_on_half_own_classes_half_dustbin(digits):
    X, y = digits
    clf = SpecialistEnsembleClassifier(
        fast_logistic(), specialist=RecordingLogistic(max_iter=300), random_state=0
    ).fit(X, y)
    for specialist, subset in zip(clf.specialists_, clf._subsets, strict=True):
        own = np.isin(y, subset)
        n_dustbin = min(own.sum(), (~own).sum())
        assert np.sum(specialist.seen_y_ < subset.size) == own.sum()
        assert np.sum(specialist.seen_y_ == subset.size) == n_dustbin
        # Dustbin rows are distinct rows of other classes (no replacement).
        row_of = {row.tobytes(): index for index, row in enumerate(X)}
        dustbin = [row_of[row.tobytes()] for row in specialist.seen_X_[-n_dustbin:]]
        assert len(set(dustbin)) == n_dustbin
        assert not np.any(np.isin(y[dustbin], subset))
        assert specialist.random_state is not None


def test_dustbin_correction_is_log_of_undersampling_factor(digits):
    X, y = digits
    clf = SpecialistEnsembleClassifier(fast_logistic(), random_state=0).fit(X, y)
    for index, subset in enumerate(clf._subsets):
        n_own = np.isin(y, subset).sum()
        n_other = y.size - n_own
        expected = np.log(n_other / min(n_own, n_other))
        assert clf.dustbin_log_corrections_[index] == pytest.approx(expected)

    index = int(np.argmax(clf.dustbin_log_corrections_))
    factor = np.exp(clf.dustbin_log_corrections_[index])
    assert factor > 1.5
    raw = clf.specialists_[index].predict_proba(X[:20])
    by_hand = raw.copy()
    by_hand[:, -1] *= factor
    by_hand /= by_hand.sum(axis=1, keepdims=True)
    corrected = clf._specialist_proba(index, X[:20])
    np.testing.assert_allclose(corrected, by_hand)
    assert np.all(corrected[:, -1] > raw[:, -1])


def test_rows_without_active_specialist_keep_generalist_exactly():
    general, outputs = random_problem(0)
    active = np.concatenate([rows for _, rows, _ in outputs])
    untouched = np.setdiff1d(np.arange(len(general)), active)
    assert untouched.size > 0
    combined = _combine(general, outputs, max_iter=200, tol=1e-10)
    assert np.array_equal(combined[untouched], general[untouched])
    assert np.array_equal(_combine(general, [], 200, 1e-10), general)


def test_solver_decreases_objective_and_matches_direct_minimisation():
    general, outputs = random_problem(1)
    combined = _combine(general, outputs, max_iter=500, tol=1e-12)
    np.testing.assert_allclose(combined.sum(axis=1), 1)
    before = _objective(general, general, outputs)
    after = _objective(combined, general, outputs)
    active = np.unique(np.concatenate([rows for _, rows, _ in outputs]))
    assert np.all(after[active] < before[active])

    # Stationary: the gradient wrt the logits, n_terms * q - targets, vanishes.
    n_terms = 1 + sum(np.isin(np.arange(len(general)), rows) for _, rows, _ in outputs)
    targets = _completed_targets(combined, general, outputs)
    gradient = n_terms[:, None] * combined - targets
    assert np.abs(gradient).max() < 1e-8

    # Same optimum as a generic optimiser on one row's logits.
    row = int(active[0])
    row_outputs = [
        (subset, np.array([0]), proba[rows == row])
        for subset, rows, proba in outputs
        if row in rows
    ]

    def row_objective(logits):
        return _objective(softmax(logits)[None], general[[row]], row_outputs)[0]

    direct = minimize(row_objective, np.log(general[row]), method="BFGS", tol=1e-12)
    np.testing.assert_allclose(combined[row], softmax(direct.x), atol=1e-5)


def test_solver_moves_mass_onto_classes_the_generalist_rules_out():
    # A sparse generalist gives some classes ~0 that specialists' dustbins claim:
    # the slowest case for the updates, where the objective is nearly flat.
    general, outputs = random_problem(
        3, n_rows=30, subsets=((0, 1), (1, 2), (0, 3)), concentration=0.05
    )
    combined = _combine(general, outputs, max_iter=1000, tol=1e-6)
    found = _objective(combined, general, outputs)
    for row in range(0, 30, 3):
        row_outputs = [
            (subset, np.array([0]), proba[rows == row])
            for subset, rows, proba in outputs
            if row in rows
        ]

        def row_objective(logits, row=row, row_outputs=row_outputs):
            q = softmax(logits)[None]
            return _objective(q, general[[row]], row_outputs)[0]

        start = np.log(np.maximum(general[row], 1e-12))
        direct = minimize(row_objective, start, method="BFGS", tol=1e-12)
        assert found[row] <= direct.fun + 1e-6

    with pytest.warns(ConvergenceWarning, match="increase solver_max_iter"):
        _combine(general, outputs, max_iter=2, tol=1e-12)


def test_solver_known_optima():
    general, _ = random_problem(2, n_rows=10, subsets=())
    everything = np.arange(6)
    rows = np.arange(10)
    no_dustbin = np.zeros((10, 1))

    agreeing = [(everything, rows, np.hstack([general, no_dustbin]))]
    np.testing.assert_allclose(_combine(general, agreeing, 500, 1e-12), general)

    # A specialist with a dustbin that agrees with the generalist.
    subset = np.array([1, 4])
    merged = np.column_stack([general[:, subset], 1 - general[:, subset].sum(axis=1)])
    np.testing.assert_allclose(
        _combine(general, [(subset, rows, merged)], 500, 1e-12), general, atol=1e-10
    )

    # Full-coverage specialists: the optimum is the mean of the distributions.
    others = [np.roll(general, 1, axis=0), np.roll(general, 2, axis=1)]
    outputs = [(everything, rows, np.hstack([p, no_dustbin])) for p in others]
    np.testing.assert_allclose(
        _combine(general, outputs, 500, 1e-12), (general + sum(others)) / 3, atol=1e-10
    )


def test_predict_maps_labels_of_any_type():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = SpecialistEnsembleClassifier(
        fast_logistic(), n_specialists=2, top_n=2, random_state=0
    ).fit(X, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert set(np.concatenate(clf.specialist_classes_)) == set(clf.classes_)
    assert clf.predict(X).dtype == names.dtype
    assert clf.score(X, names) > 0.9
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1)


def test_fitted_generalist_is_used_as_is_and_survives_clone():
    X, y = load_iris(return_X_y=True)
    generalist = LogisticRegression(max_iter=1000, C=0.5).fit(X, y)
    coef = generalist.coef_.copy()
    params = generalist.get_params()
    clf = SpecialistEnsembleClassifier(generalist, n_specialists=2, random_state=0)

    cloned = clone(clf)
    assert cloned.generalist is generalist
    cloned.fit(X, y)
    assert cloned.generalist_ is generalist
    np.testing.assert_array_equal(generalist.coef_, coef)
    assert generalist.get_params() == params
    assert not any(name.startswith("generalist__") for name in clf.get_params())
    with pytest.raises(ValueError, match="generalist is already fitted"):
        clf.set_params(generalist__C=2.0)
    # Default specialists are unfitted clones with the generalist's settings.
    assert all(s is not generalist and s.C == 0.5 for s in cloned.specialists_)


def test_unfitted_generalist_is_cloned_and_tunable():
    X, y = load_iris(return_X_y=True)
    generalist = LogisticRegression(max_iter=1000)
    clf = SpecialistEnsembleClassifier(generalist, n_specialists=2, random_state=0)
    clf.set_params(generalist__C=0.3).fit(X, y)
    assert clf.generalist_ is not generalist and clf.generalist_.C == 0.3
    assert not hasattr(generalist, "coef_")
    assert clone(clf).generalist is not generalist


def test_frozen_generalist_gives_trainable_specialists():
    X, y = load_iris(return_X_y=True)
    frozen = FrozenEstimator(LogisticRegression(max_iter=1000).fit(X, y))
    clf = SpecialistEnsembleClassifier(frozen, n_specialists=2, random_state=0)
    clf.fit(X, y)
    assert clf.generalist_ is frozen
    assert all(isinstance(s, LogisticRegression) for s in clf.specialists_)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_specialists": 4}, ValueError, r"n_specialists=4 exceeds .* \[1, 3\]"),
        ({"n_specialists": 0}, InvalidParameterError, "n_specialists"),
        ({"top_n": 5}, ValueError, r"top_n=5 exceeds .* \[1, 3\]"),
        ({"top_n": 0}, InvalidParameterError, "top_n"),
        ({"classes_per_specialist": 4}, ValueError, "classes_per_specialist=4"),
        ({"classes_per_specialist": 0}, InvalidParameterError, "classes_per_spec"),
        ({"generalist": SVC()}, InvalidParameterError, "predict_proba"),
        ({"specialist": SVC()}, InvalidParameterError, "predict_proba"),
    ],
)
def test_invalid_parameters_raise_clear_errors(params, error, match):
    X, y = load_iris(return_X_y=True)
    clf = SpecialistEnsembleClassifier(fast_logistic(), n_specialists=2)
    with pytest.raises(error, match=match):
        clf.set_params(**params).fit(X, y)


def test_fitted_generalist_with_other_classes_is_refused():
    X, y = load_iris(return_X_y=True)
    generalist = LogisticRegression(max_iter=1000).fit(X, y)
    clf = SpecialistEnsembleClassifier(generalist, n_specialists=2)
    with pytest.raises(ValueError, match="must be the same"):
        clf.fit(X[y < 2], y[y < 2])

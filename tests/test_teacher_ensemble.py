import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetClassifier

from sklearn_kd import TeacherEnsemble

EPS = 1e-12


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def members(iris):
    """Three fitted members: smooth, scaled pipeline, and one with exact zeros."""
    X, y = iris
    return [
        LogisticRegression(max_iter=500).fit(X, y),
        make_pipeline(StandardScaler(), LogisticRegression(C=0.05)).fit(X, y),
        DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y),
    ]


def geometric_by_hand(probas, weights):
    log_mean = sum(
        w * np.log(np.maximum(p, EPS)) for p, w in zip(probas, weights, strict=True)
    ) / sum(weights)
    unnormalised = np.exp(log_mean)
    return unnormalised / unnormalised.sum(axis=1, keepdims=True)


def test_mean_matches_hand_computation(iris, members):
    X, _ = iris
    proba = TeacherEnsemble(members).predict_proba(X)
    expected = sum(member.predict_proba(X) for member in members) / len(members)
    assert_allclose(proba, expected, rtol=1e-6)
    assert_allclose(proba.sum(axis=1), 1.0)


def test_weighted_mean_matches_hand_computation(iris, members):
    X, _ = iris
    weights = [3.0, 1.0, 0.5]
    proba = TeacherEnsemble(members, weights=weights).predict_proba(X)
    expected = sum(
        w * m.predict_proba(X) for m, w in zip(members, weights, strict=True)
    ) / sum(weights)
    assert_allclose(proba, expected, rtol=1e-6)

    rescaled = TeacherEnsemble(members, weights=np.array(weights) * 10)
    assert_allclose(rescaled.predict_proba(X), proba)


def test_zero_weight_member_is_ignored(iris, members):
    X, _ = iris
    for combine in ["mean", "geometric"]:
        ensemble = TeacherEnsemble(members[:2], combine=combine, weights=[0, 1])
        assert_allclose(
            ensemble.predict_proba(X), members[1].predict_proba(X), rtol=1e-6
        )


def test_geometric_matches_hand_computation(iris, members):
    X, _ = iris
    weights = [1.0, 2.0, 0.5]
    proba = TeacherEnsemble(
        members, combine="geometric", weights=weights
    ).predict_proba(X)
    expected = geometric_by_hand([m.predict_proba(X) for m in members], weights)
    assert_allclose(proba, expected, rtol=1e-6)
    assert_allclose(proba.sum(axis=1), 1.0)


def test_geometric_floors_zero_probabilities(iris, members):
    X, _ = iris
    logistic, _, tree = members
    tree_proba = tree.predict_proba(X)
    zero_cells = tree_proba == 0
    assert zero_cells.any()

    proba = TeacherEnsemble([logistic, tree], combine="geometric").predict_proba(X)
    # A zero from one member is a strong veto, not an impossibility.
    assert np.all(np.isfinite(proba))
    assert np.all(proba[zero_cells] > 0)
    assert np.all(proba[zero_cells] < logistic.predict_proba(X)[zero_cells])
    assert_allclose(proba.sum(axis=1), 1.0)


@pytest.fixture(scope="module")
def class_subset_members(iris):
    """String labels; two members each never saw one of the three classes."""
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    without_versicolor = names != "versicolor"
    without_setosa = names != "setosa"
    return (
        X,
        names,
        [
            LogisticRegression(max_iter=500).fit(
                X[without_versicolor], names[without_versicolor]
            ),
            LogisticRegression(max_iter=500).fit(
                X[without_setosa], names[without_setosa]
            ),
            LogisticRegression(max_iter=500).fit(X, names),
        ],
    )


def padded(member, X, classes):
    """Member probabilities placed in the columns of ``classes`` by label."""
    proba = np.zeros((len(X), len(classes)))
    for column, label in enumerate(member.classes_):
        proba[:, list(classes).index(label)] = member.predict_proba(X)[:, column]
    return proba


def test_class_union_aligns_columns_by_label(class_subset_members):
    X, _, subset_members = class_subset_members
    classes = ["setosa", "versicolor", "virginica"]
    ensemble = TeacherEnsemble(subset_members, weights=[1, 2, 1])
    assert_array_equal(ensemble.classes_, classes)

    expected = (
        padded(subset_members[0], X, classes)
        + 2 * padded(subset_members[1], X, classes)
        + padded(subset_members[2], X, classes)
    ) / 4
    assert_allclose(ensemble.predict_proba(X), expected, rtol=1e-6)


def test_class_union_of_disjoint_members(class_subset_members):
    X, _, subset_members = class_subset_members
    ensemble = TeacherEnsemble(subset_members[:2])
    proba = ensemble.predict_proba(X)
    # Only the first member knows setosa, only the second knows versicolor.
    assert_allclose(proba[:, 0], subset_members[0].predict_proba(X)[:, 0] / 2)
    assert_allclose(proba[:, 1], subset_members[1].predict_proba(X)[:, 0] / 2)
    assert_allclose(proba.sum(axis=1), 1.0)


def test_geometric_leaves_members_out_of_classes_they_lack(class_subset_members):
    X, _, subset_members = class_subset_members
    lacks_versicolor, lacks_setosa, knows_all = subset_members
    weights = [1.0, 1.0, 2.0]
    proba = TeacherEnsemble(
        subset_members, combine="geometric", weights=weights
    ).predict_proba(X)

    log = {
        name: np.log(np.maximum(member.predict_proba(X), EPS))
        for name, member in zip(["a", "b", "c"], subset_members, strict=True)
    }
    setosa = (log["a"][:, 0] + 2 * log["c"][:, 0]) / 3
    versicolor = (log["b"][:, 0] + 2 * log["c"][:, 1]) / 3
    virginica = (log["a"][:, 1] + log["b"][:, 1] + 2 * log["c"][:, 2]) / 4
    unnormalised = np.exp(np.column_stack([setosa, versicolor, virginica]))
    expected = unnormalised / unnormalised.sum(axis=1, keepdims=True)
    assert_allclose(proba, expected, rtol=1e-6, atol=1e-12)


def test_geometric_class_known_only_to_zero_weight_member(class_subset_members):
    X, _, subset_members = class_subset_members
    ensemble = TeacherEnsemble(
        subset_members[:2], combine="geometric", weights=[0.0, 1.0]
    )
    proba = ensemble.predict_proba(X)
    assert_array_equal(proba[:, 0], 0.0)
    assert_allclose(proba[:, 1:], subset_members[1].predict_proba(X), rtol=1e-6)


def test_string_labels(class_subset_members):
    X, names, subset_members = class_subset_members
    ensemble = TeacherEnsemble(subset_members)
    predictions = ensemble.predict(X)
    assert predictions.dtype.kind == "U"
    assert set(predictions) == {"setosa", "versicolor", "virginica"}
    assert_array_equal(
        predictions, ensemble.classes_[ensemble.predict_proba(X).argmax(axis=1)]
    )
    assert ensemble.score(X, names) > 0.9


def test_mixed_label_types_are_an_error(iris):
    X, y = iris
    numeric = LogisticRegression(max_iter=500).fit(X, y)
    strings = LogisticRegression(max_iter=500).fit(X, np.array(["a", "b", "c"])[y])
    with pytest.raises(ValueError, match=r"mix label types.*estimators\[1\]: \['a'"):
        TeacherEnsemble([numeric, strings]).predict_proba(X)


def test_is_fitted_without_calling_fit(iris, members):
    X, y = iris
    ensemble = TeacherEnsemble(members)
    check_is_fitted(ensemble)
    assert_array_equal(ensemble.classes_, [0, 1, 2])
    assert ensemble.n_features_in_ == 4
    assert ensemble.score(X, y) > 0.9

    with pytest.raises(NotFittedError):
        check_is_fitted(TeacherEnsemble([members[0], LogisticRegression()]))


def test_fit_is_a_no_op_that_never_refits_members(iris, members):
    X, y = iris
    coef_before = members[0].coef_.copy()
    before = TeacherEnsemble(members).predict_proba(X)

    ensemble = TeacherEnsemble(members)
    assert ensemble.fit(X[:20], np.zeros(20)) is ensemble
    assert ensemble.fit() is ensemble
    assert_array_equal(members[0].coef_, coef_before)
    assert_array_equal(ensemble.classes_, [0, 1, 2])
    assert_allclose(ensemble.predict_proba(X), before)


def test_parameters_passed_by_the_user_are_not_mutated(iris, members):
    X, _ = iris
    estimators = list(members)
    weights = [1, 2, 3]
    TeacherEnsemble(estimators, weights=weights).fit().predict_proba(X)
    assert weights == [1, 2, 3]
    assert all(a is b for a, b in zip(estimators, members, strict=True))


def test_each_member_is_queried_once_per_call(iris):
    X, y = iris

    class CountingLogisticRegression(LogisticRegression):
        calls = 0

        def predict_proba(self, X):
            type(self).calls += 1
            return super().predict_proba(X)

    counted = CountingLogisticRegression(max_iter=500).fit(X, y)
    for combine in ["mean", "geometric"]:
        ensemble = TeacherEnsemble([counted, counted], combine=combine)
        for method in [ensemble.predict_proba, ensemble.predict]:
            CountingLogisticRegression.calls = 0
            method(X)
            assert CountingLogisticRegression.calls == 2


def test_clone_keeps_the_same_fitted_members(iris, members):
    X, _ = iris
    ensemble = TeacherEnsemble(members, combine="geometric", weights=[1, 2, 3])
    cloned = clone(ensemble)

    assert cloned is not ensemble
    assert all(a is b for a, b in zip(cloned.estimators, members, strict=True))
    assert cloned.combine == "geometric"
    assert cloned.weights == [1, 2, 3]
    assert cloned.weights is not ensemble.weights
    check_is_fitted(cloned)
    assert_allclose(cloned.predict_proba(X), ensemble.predict_proba(X))

    cloned.set_params(combine="mean", weights=None)
    assert ensemble.combine == "geometric"
    assert_array_equal(ensemble.weights, [1, 2, 3])


def test_clone_then_predict_without_fit(iris, members):
    X, _ = iris
    ensemble = TeacherEnsemble(members)
    cloned = clone(clone(ensemble))
    assert_allclose(cloned.predict_proba(X), ensemble.predict_proba(X))
    assert_array_equal(cloned.predict(X), ensemble.predict(X))


def test_pickle_round_trip(iris, members):
    X, _ = iris
    ensemble = TeacherEnsemble(members, combine="geometric", weights=[1, 1, 2])
    restored = pickle.loads(pickle.dumps(ensemble))
    assert_allclose(restored.predict_proba(X), ensemble.predict_proba(X))
    assert restored.get_params()["combine"] == "geometric"


def test_set_params(iris, members):
    X, _ = iris
    ensemble = TeacherEnsemble(members)
    assert ensemble.set_params(combine="geometric", weights=[0, 0, 1]) is ensemble
    assert_allclose(ensemble.predict_proba(X), members[2].predict_proba(X), atol=1e-12)

    with pytest.raises(ValueError, match=r"estimators__0__C.*shared fitted"):
        ensemble.set_params(estimators__0__C=10.0)
    assert members[0].C == 1.0


def test_feature_names_are_exposed_only_when_members_agree(iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    renamed = frame.rename(columns={"d": "e"})
    first = LogisticRegression(max_iter=500).fit(frame, y)
    second = DecisionTreeClassifier(random_state=0).fit(frame, y)
    other_names = DecisionTreeClassifier(random_state=0).fit(renamed, y)

    agreeing = TeacherEnsemble([first, second]).fit()
    assert_array_equal(agreeing.feature_names_in_, ["a", "b", "c", "d"])
    assert agreeing.n_features_in_ == 4
    assert not hasattr(TeacherEnsemble([first, other_names]), "feature_names_in_")
    unnamed = DecisionTreeClassifier(random_state=0).fit(X, y)
    assert not hasattr(TeacherEnsemble([first, unnamed]), "feature_names_in_")


def test_error_unfitted_member_names_its_position(iris, members):
    X, _ = iris
    ensemble = TeacherEnsemble([members[0], RandomForestClassifier()])
    for call in [ensemble.fit, lambda: ensemble.predict_proba(X)]:
        with pytest.raises(NotFittedError, match=r"estimators\[1\].*not fitted"):
            call()


def test_error_members_with_different_feature_counts(iris, members):
    X, y = iris
    narrow = LogisticRegression(max_iter=500).fit(X[:, :3], y)
    with pytest.raises(ValueError, match=r"n_features_in_ differ.*estimators\[1\]: 3"):
        TeacherEnsemble([members[0], narrow]).fit()


def test_error_member_without_predict_proba(iris, members):
    X, y = iris
    no_proba = LinearSVC().fit(X, y)
    with pytest.raises(ValueError, match=r"estimators\[1\].*LinearSVC.*predict_"):
        TeacherEnsemble([members[0], no_proba]).predict_proba(X)


@pytest.mark.parametrize("estimators", [[], None])
def test_error_no_members(estimators):
    with pytest.raises((ValueError, InvalidParameterError), match="estimators"):
        TeacherEnsemble(estimators).fit()


def test_error_invalid_combine(iris, members):
    X, _ = iris
    ensemble = TeacherEnsemble(members, combine="median")
    for call in [ensemble.fit, lambda: ensemble.predict_proba(X)]:
        with pytest.raises(InvalidParameterError, match="combine"):
            call()


@pytest.mark.parametrize(
    "weights, message",
    [
        ([1, 1], "one real number per member"),
        ([[1, 1, 1]], "one real number per member"),
        (["a", "b", "c"], "one real number per member"),
        ([1, -1, 1], "non-negative"),
        ([1, np.nan, 1], "finite"),
        ([0, 0, 0], "not all be zero"),
    ],
)
def test_error_invalid_weights(iris, members, weights, message):
    X, _ = iris
    ensemble = TeacherEnsemble(members, weights=weights)
    for call in [ensemble.fit, lambda: ensemble.predict_proba(X)]:
        with pytest.raises(ValueError, match=message):
            call()


class TinyModule(torch.nn.Module):
    def __init__(self, n_features=4, n_classes=3):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, n_classes)

    def forward(self, X):
        return torch.softmax(self.linear(X), dim=-1)


def test_skorch_member(iris, members):
    X, y = iris
    torch.manual_seed(0)
    net = NeuralNetClassifier(
        TinyModule, max_epochs=2, lr=0.1, train_split=None, verbose=0
    ).fit(X, y)
    ensemble = TeacherEnsemble([net, members[2]])
    check_is_fitted(ensemble)

    proba = ensemble.predict_proba(X)
    expected = (net.predict_proba(X) + members[2].predict_proba(X)) / 2
    assert_allclose(proba, expected, rtol=1e-5)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert ensemble.n_features_in_ == 4  # from the tree; the net defines none

    cloned = clone(ensemble)
    assert cloned.estimators[0] is net
    assert_allclose(cloned.predict_proba(X), proba)
    assert_allclose(pickle.loads(pickle.dumps(ensemble)).predict_proba(X), proba)

"""Bin edges from a tree teacher's split thresholds, or from quantiles."""

import numpy as np
import pytest
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from sklearn_kd import TeacherEnsemble
from sklearn_kd.student._bin_edges import bin_edges
from sklearn_kd.teacher._split_thresholds import split_thresholds


@pytest.mark.parametrize(
    "model",
    [
        RandomForestClassifier(n_estimators=5, random_state=0),
        ExtraTreesClassifier(n_estimators=5, random_state=0),
        GradientBoostingClassifier(n_estimators=5, random_state=0),
        HistGradientBoostingClassifier(max_iter=5),
        DecisionTreeClassifier(max_depth=3, random_state=0),
    ],
    ids=lambda model: type(model).__name__,
)
def test_thresholds_of_tree_models_lie_inside_each_column(iris, model):
    X, y = iris
    model.fit(X, y)
    thresholds = split_thresholds(model, X.shape[1])
    assert len(thresholds) == 4 and sum(len(t) for t in thresholds) > 0
    for column, values in enumerate(thresholds):
        assert ((values >= X[:, column].min()) & (values <= X[:, column].max())).all()


def test_thresholds_through_frozen_estimators_and_ensembles(iris, iris_forest):
    X, _ = iris
    direct = split_thresholds(iris_forest, 4)
    frozen = split_thresholds(FrozenEstimator(iris_forest), 4)
    assert all(np.array_equal(a, b) for a, b in zip(direct, frozen, strict=True))
    pooled = split_thresholds(TeacherEnsemble([iris_forest, iris_forest]), 4)
    assert all(len(p) == 2 * len(d) for p, d in zip(pooled, direct, strict=True))


def test_no_thresholds_behind_a_transformer_or_for_other_models(iris):
    X, y = iris
    scaled = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=3))
    assert split_thresholds(scaled.fit(X, y), 4) is None
    assert split_thresholds(LogisticRegression(max_iter=1000).fit(X, y), 4) is None


def test_edges_are_quantiles_of_thresholds_inside_the_range():
    values = np.linspace(0, 10, 101)
    thresholds = np.r_[np.full(50, 2.0), np.full(50, 7.0), [-5.0, 50.0]]
    np.testing.assert_allclose(bin_edges(values, 8, thresholds), [0, 2, 7, 10])
    np.testing.assert_allclose(bin_edges(values, 4, None), [0, 2.5, 5, 7.5, 10])
    np.testing.assert_allclose(bin_edges(np.full(5, 3.0), 8), [3, 4])

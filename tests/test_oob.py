"""Out-of-bag targets from a fitted bagging teacher, under soft_targets="auto"."""

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    BaggingClassifier,
    ExtraTreesClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_kd import DistilledClassifier, DistilledRegressor
from sklearn_kd.teacher._oob import oob_estimates_belong_to

FIXED = {"encoding": "standard", "augment": None, "soft_target_weight": 0.5}


@pytest.fixture(scope="module")
def table():
    X, y = make_classification(400, 6, n_informative=4, n_classes=3, random_state=0)
    other, _ = make_classification(400, 6, n_informative=4, random_state=1)
    return X, y, other


@pytest.mark.parametrize(
    "teacher",
    [
        RandomForestClassifier(40, oob_score=True, random_state=0),
        ExtraTreesClassifier(30, bootstrap=True, oob_score=True, random_state=0),
        BaggingClassifier(n_estimators=20, oob_score=True, random_state=0),
        make_pipeline(
            StandardScaler(), RandomForestClassifier(30, oob_score=True, random_state=0)
        ),
    ],
    ids=["forest", "extra_trees", "bagging", "pipeline"],
)
def test_the_estimates_belong_only_to_the_fitted_rows_in_their_order(table, teacher):
    X, y, other = table
    teacher.fit(X, y)
    assert oob_estimates_belong_to(teacher, X, classifier=True)
    assert not oob_estimates_belong_to(teacher, other, classifier=True)
    shuffled = np.random.RandomState(0).permutation(len(X))
    assert not oob_estimates_belong_to(teacher, X[shuffled], classifier=True)
    assert not oob_estimates_belong_to(teacher, X[:-1], classifier=True)


def test_no_estimates_no_claim(table):
    X, y, _ = table
    forest = RandomForestClassifier(20, random_state=0).fit(X, y)
    assert not oob_estimates_belong_to(forest, X, classifier=True)


def test_auto_takes_a_fitted_forests_oob_estimates_on_its_own_rows(table, capsys):
    X, y, other = table
    forest = RandomForestClassifier(40, oob_score=True, random_state=0).fit(X, y)
    model = DistilledClassifier(
        forest, max_epochs=2, random_state=0, verbose=1, **FIXED
    ).fit(X, y)
    assert model.soft_targets_ == "oob"
    assert (
        "out-of-bag estimates on the rows it was fitted on" in capsys.readouterr().out
    )
    explicit = DistilledClassifier(
        forest, soft_targets="oob", max_epochs=2, random_state=0, **FIXED
    ).fit(X, y)
    np.testing.assert_array_equal(model.predict_proba(X), explicit.predict_proba(X))


def test_auto_keeps_in_sample_outputs_for_other_rows_and_says_so(table, capsys):
    X, y, other = table
    forest = RandomForestClassifier(40, oob_score=True, random_state=0).fit(X, y)
    model = DistilledClassifier(
        forest, max_epochs=2, random_state=0, verbose=1, **FIXED
    ).fit(other, y)
    assert model.soft_targets_ == "predict"
    assert "in-sample outputs" in capsys.readouterr().out


def test_auto_takes_a_fitted_forest_regressors_oob_estimates():
    X, y = make_regression(300, 5, random_state=0)
    forest = RandomForestRegressor(30, oob_score=True, random_state=0).fit(X, y)
    model = DistilledRegressor(forest, max_epochs=2, random_state=0, **FIXED)
    assert model.fit(X, y).soft_targets_ == "oob"
    assert model.fit(X[::-1], y[::-1]).soft_targets_ == "predict"

"""Honest soft targets: out-of-bag and cross-fitted teacher outputs."""

import numpy as np
import pytest
from conftest import fast_distiller
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold

from sklearn_kd.teacher._adapters import ClassifierReading, resolve_response_method
from sklearn_kd.teacher._soft_targets import (
    cross_fit_folds,
    resolve_source,
    teacher_outputs,
)


def stage(teacher, X, y, labelled, source, cv=None, eps=1e-300, **params):
    """The teacher stage with the response method and folds resolved as in fit."""
    folds = None
    if cv is not None:
        folds = cross_fit_folds(cv, X[labelled], y[labelled], random_state=0)
    reading = ClassifierReading(resolve_response_method(teacher, "auto"), eps)
    return teacher_outputs(
        teacher, X, y, labelled, source=source, reading=reading, folds=folds, **params
    )


def test_auto_source(iris, iris_forest):
    X, y = iris
    assert resolve_source(iris_forest, "auto", y, cv=5) == "predict"
    assert resolve_source(RandomForestClassifier(), "auto", y, cv=5) == "oob"
    assert resolve_source(LogisticRegression(), "auto", y, cv=5) == "cross_fit"
    assert resolve_source(LogisticRegression(), "auto", y[::25], cv=5) == "predict"


def test_oob_targets_differ_from_in_sample_and_are_less_confident(iris):
    X, y = iris
    labelled = np.ones(len(y), bool)
    forest = RandomForestClassifier(n_estimators=50, random_state=0)
    oob = stage(forest, X, y, labelled, "oob", eps=1e-6)
    plain = stage(forest, X, y, labelled, "predict", eps=1e-6)
    assert oob.source == "oob"
    assert oob.fitted_teacher.oob_score
    np.testing.assert_allclose(
        np.exp(oob.outputs),
        oob.fitted_teacher.oob_decision_function_.clip(1e-6),
        atol=1e-9,
    )
    assert np.exp(oob.outputs).max(1).mean() < np.exp(plain.outputs).max(1).mean()


def test_rows_without_oob_estimate_fall_back_to_predictions(iris):
    X, y = iris
    labelled = np.ones(len(y), bool)
    forest = RandomForestClassifier(n_estimators=2, random_state=0)
    result = stage(forest, X, y, labelled, "oob", eps=1e-6)
    oob = result.fitted_teacher.oob_decision_function_
    missing = ~(np.isfinite(oob).all(1) & (oob.sum(1) > 0))
    assert missing.any()
    np.testing.assert_allclose(
        np.exp(result.outputs[missing]),
        result.fitted_teacher.predict_proba(X[missing]).clip(1e-6),
    )


def test_fitted_teacher_oob_must_match_rows(iris):
    X, y = iris
    forest = RandomForestClassifier(n_estimators=20, oob_score=True, random_state=0)
    forest.fit(X, y)
    labelled = np.ones(len(y), bool)
    result = stage(forest, X, y, labelled, "oob", eps=1e-6)
    assert result.fitted_teacher is None
    with pytest.raises(ValueError, match="OOB estimates belong to the rows"):
        stage(forest, X[:100], y[:100], labelled[:100], "oob")


def test_cross_fit_uses_out_of_fold_outputs(iris):
    X, y = iris
    labelled = np.ones(len(y), bool)
    teacher = LogisticRegression(max_iter=1000)
    result = stage(teacher, X, y, labelled, "cross_fit", cv=3, n_jobs=2)
    assert result.source == "cross_fit"
    in_sample = result.fitted_teacher.decision_function(X)
    assert not np.allclose(result.outputs, in_sample)
    out_of_fold_accuracy = np.mean(result.outputs.argmax(1) == y)
    assert 0.85 < out_of_fold_accuracy <= np.mean(in_sample.argmax(1) == y) + 0.02


def test_unlabelled_rows_use_the_teacher_fitted_on_all_labelled_rows(iris):
    X, y = iris
    y = y.copy()
    labelled = np.ones(len(y), bool)
    labelled[::3] = False
    teacher = LogisticRegression(max_iter=1000)
    result = stage(teacher, X, y, labelled, "cross_fit", cv=3)
    np.testing.assert_allclose(
        result.outputs[~labelled], result.fitted_teacher.decision_function(X[~labelled])
    )


@pytest.mark.parametrize(
    "teacher, source, match",
    [
        (GradientBoostingClassifier(), "oob", "bagged teacher"),
        ("fitted_forest", "oob", "oob_decision_function_"),
        ("fitted_forest", "cross_fit", "already fitted"),
    ],
)
def test_source_errors(iris, iris_forest, teacher, source, match):
    X, y = iris
    teacher = iris_forest if teacher == "fitted_forest" else teacher
    with pytest.raises(ValueError, match=match):
        resolve_source(teacher, source, y, cv=5)


def test_cross_fit_needs_rows_per_class(iris):
    X, y = iris
    with pytest.raises(ValueError, match="at least 5 labelled rows of every class"):
        resolve_source(LogisticRegression(), "cross_fit", y[:52], cv=5)


def test_hist_gradient_boosting_teacher_with_missing_values(iris):
    X, y = iris
    X = X.copy()
    X[::4, 2] = np.nan
    teacher = HistGradientBoostingClassifier(max_iter=30).fit(X, y)
    model = fast_distiller(teacher).fit(X, y)
    assert model.score(X, y) > 0.9


def test_categorical_features_are_one_hot_encoded_in_the_student(iris):
    X, y = iris
    X = X.copy()
    X[:, 0] = np.digitize(X[:, 0], [5.0, 5.5, 6.0, 6.5, 7.0])
    teacher = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    model = fast_distiller(teacher, categorical_features=[0]).fit(X, y)
    encoder = model.student_.module_.encoder
    assert encoder.n_outputs == 3 + len(np.unique(X[:, 0]))
    assert model.score(X, y) > 0.9
    with pytest.raises(ValueError, match="outside"):
        fast_distiller(teacher, categorical_features=[4]).fit(X, y)


@pytest.mark.parametrize("cv", [5, StratifiedKFold(5), KFold(5)])
def test_auto_source_counts_the_folds_a_splitter_makes(cv):
    # A class of 3 rows cannot be cross-fitted over 5 folds, however the
    # folds are given.
    y = np.array([0] * 20 + [1] * 3)
    assert resolve_source(LogisticRegression(), "auto", y, cv) == "predict"
    assert resolve_source(LogisticRegression(), "auto", y, 3) == "cross_fit"

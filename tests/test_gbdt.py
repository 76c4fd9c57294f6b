"""LightGBM, XGBoost and CatBoost teachers: raw margins, thresholds, categories."""

import warnings

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_kd import DistilledClassifier
from sklearn_kd.teacher._adapters import (
    output_to_logits,
    query_teacher,
    resolve_response_method,
)
from sklearn_kd.teacher._categorical import teacher_categorical_mask
from sklearn_kd.teacher._split_thresholds import split_thresholds


def lightgbm_model():
    lightgbm = pytest.importorskip("lightgbm")
    return lightgbm.LGBMClassifier(n_estimators=15, verbose=-1, random_state=0)


def xgboost_model():
    xgboost = pytest.importorskip("xgboost")
    return xgboost.XGBClassifier(n_estimators=15, random_state=0)


def catboost_model():
    catboost = pytest.importorskip("catboost")
    return catboost.CatBoostClassifier(
        iterations=15,
        verbose=0,
        random_seed=0,
        thread_count=1,
        allow_writing_files=False,
    )


MODELS = [lightgbm_model, xgboost_model, catboost_model]


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.mark.parametrize("make_model", MODELS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_teacher_is_read_through_its_raw_margins(make_model, n_classes):
    X, y = make_classification(
        300, 5, n_informative=4, n_redundant=0, n_classes=n_classes, random_state=0
    )
    model = make_model().fit(X, y)
    assert resolve_response_method(model, "auto") == "raw_margin"
    margins = query_teacher(model, X, "raw_margin", batch_size=100)
    assert margins.shape == (300, 1 if n_classes == 2 else n_classes)
    logits = output_to_logits(margins, is_probability=False, eps=1e-300)
    # The margins are the model's own logits: their softmax is its predict_proba,
    # and they are not log-probabilities (temperature acts on them).
    np.testing.assert_allclose(
        softmax(logits, axis=1), model.predict_proba(X), atol=1e-5
    )
    assert not np.allclose(np.exp(logits).sum(axis=1), 1.0)


@pytest.mark.parametrize("make_model", MODELS)
def test_a_pipeline_ending_in_the_model_reads_margins_after_its_steps(make_model):
    X, y = make_classification(200, 4, random_state=0)
    pipeline = make_pipeline(StandardScaler(), make_model()).fit(X * 100, y)
    assert resolve_response_method(pipeline, "auto") == "raw_margin"
    margins = query_teacher(pipeline, X * 100, "raw_margin", batch_size=64)
    logits = output_to_logits(margins, is_probability=False, eps=1e-300)
    proba = pipeline.predict_proba(X * 100)
    np.testing.assert_allclose(softmax(logits, axis=1), proba, atol=1e-5)


@pytest.mark.parametrize("make_model", MODELS)
def test_split_thresholds_are_read_from_the_trees(make_model):
    X, y = make_classification(300, 4, n_informative=2, n_redundant=0, random_state=0)
    X[:, 3] = 0.0  # never split
    model = make_model().fit(X, y)
    thresholds = split_thresholds(model, 4)
    assert thresholds is not None and len(thresholds) == 4
    for column in range(3):
        values = thresholds[column]
        if len(values):
            assert X[:, column].min() <= values.min()
            assert values.max() <= X[:, column].max()
    assert sum(len(values) for values in thresholds[:3]) > 10
    assert len(thresholds[3]) == 0


def _categorical_table():
    rng = np.random.RandomState(0)
    X = np.c_[rng.randint(0, 4, 400), rng.randn(400), rng.randn(400)]
    y = ((X[:, 0] == 2) ^ (X[:, 1] > 0)).astype(int)
    return X, y


def test_lightgbm_categorical_declarations_are_read():
    X, y = _categorical_table()
    model = lightgbm_model().fit(X, y, categorical_feature=[0])
    np.testing.assert_array_equal(teacher_categorical_mask(model, 3), [1, 0, 0])
    assert not teacher_categorical_mask(lightgbm_model().fit(X, y), 3).any()
    # A categorical split has no numeric threshold.
    assert len(split_thresholds(model, 3)[0]) == 0


def test_catboost_categorical_declarations_are_read():
    pd = pytest.importorskip("pandas")
    X, y = _categorical_table()
    frame = pd.DataFrame({"a": X[:, 0].astype(int), "b": X[:, 1], "c": X[:, 2]})
    model = catboost_model().set_params(cat_features=[0]).fit(frame, y)
    np.testing.assert_array_equal(teacher_categorical_mask(model, 3), [1, 0, 0])


def test_xgboost_categorical_declarations_are_read():
    pd = pytest.importorskip("pandas")
    X, y = _categorical_table()
    frame = pd.DataFrame({"a": X[:, 0].astype(int), "b": X[:, 1], "c": X[:, 2]})
    frame["a"] = frame["a"].astype("category")
    model = xgboost_model().set_params(enable_categorical=True).fit(frame, y)
    np.testing.assert_array_equal(teacher_categorical_mask(model, 3), [1, 0, 0])


@pytest.mark.parametrize("make_model", MODELS)
def test_a_fitted_gbdt_teacher_distils_from_its_margins(make_model):
    X, y = make_classification(400, 6, n_informative=4, n_classes=3, random_state=0)
    teacher = make_model().fit(X, y)
    model = DistilledClassifier(
        teacher,
        encoding="piecewise_linear",
        augment=None,
        soft_target_weight=1.0,
        temperature=2.0,
        max_epochs=20,
        random_state=0,
    ).fit(X, y)
    np.testing.assert_allclose(
        model.teacher_predict_proba(X), teacher.predict_proba(X), atol=1e-5
    )
    agreement = np.mean(model.predict(X) == teacher.predict(X).ravel())
    assert agreement > 0.8

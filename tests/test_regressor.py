"""DistilledRegressor and StudentRegressor: the regression counterpart."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.ensemble import (
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_kd import DistilledClassifier, DistilledRegressor, load_student
from sklearn_kd.student._loss import (
    RegressionDistillationLoss,
    loss_coefficients,
    pack_regression_targets,
)
from sklearn_kd.teacher._regression import rows_without_oob_estimate

FAST = dict(
    max_epochs=60,
    batch_size=32,
    lr=3e-3,
    hidden_layer_sizes=(32,),
    encoding="standard",
    augment=None,
    soft_target_weight=0.5,
    random_state=0,
)


def fast_regressor(teacher, **params):
    return DistilledRegressor(teacher, **{**FAST, **params})


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X, y * 1000.0  # a large unit: lr and the defaults must not care


@pytest.fixture(scope="module")
def forest(diabetes):
    return RandomForestRegressor(n_estimators=30, random_state=0).fit(*diabetes)


def test_fit_predict_and_units(diabetes, forest):
    X, y = diabetes
    model = fast_regressor(forest).fit(X, y)
    prediction = model.predict(X)
    assert prediction.shape == (len(X),)
    assert model.score(X, y) > 0.5
    np.testing.assert_allclose(model.target_mean_, [y.mean()])
    assert abs(prediction.mean() - y.mean()) < 0.1 * y.std()
    assert model.teacher_ is forest
    assert clone(model).teacher is forest


def test_weight_zero_is_plain_squared_error_in_standard_units():
    rng = np.random.default_rng(0)
    z = torch.tensor(rng.normal(size=(10, 2)), dtype=torch.float32)
    y = rng.normal(size=(10, 2)) * 5
    scale = np.array([5.0, 2.0])
    c_soft, c_hard = loss_coefficients(np.ones(10), np.ones((10, 2), bool), 0.0)
    packed = torch.as_tensor(pack_regression_targets(None, y, c_soft, c_hard))
    loss = RegressionDistillationLoss(2, scale, soft_target_weight=0.0)
    expected = (((z.double().numpy() - y) / scale) ** 2).mean()
    assert loss(z, packed).item() == pytest.approx(expected, rel=1e-5)


def test_missing_targets_learn_from_the_teacher_only():
    rng = np.random.default_rng(1)
    z = torch.tensor(rng.normal(size=(6, 1)), dtype=torch.float32, requires_grad=True)
    teacher = rng.normal(size=(6, 1))
    y = rng.normal(size=(6, 1))
    y[::2] = np.nan
    c_soft, c_hard = loss_coefficients(np.ones(6), ~np.isnan(y), 0.5)
    packed = torch.as_tensor(pack_regression_targets(teacher, y, c_soft, c_hard))
    loss = RegressionDistillationLoss(1, [1.0])
    value = loss(z, packed)
    value.backward()
    assert torch.isfinite(z.grad).all()
    zn = z.detach().double().numpy()
    labelled = ~np.isnan(y[:, 0])
    expected = (
        0.5 * ((zn - teacher) ** 2).mean()
        + 0.5 * ((zn[labelled] - y[labelled]) ** 2).mean()
    )
    assert value.item() == pytest.approx(expected, rel=1e-5)


def test_huber_caps_the_gradient_of_large_residuals():
    z = torch.tensor([[10.0]], requires_grad=True)
    c_soft, c_hard = loss_coefficients(np.ones(1), np.ones((1, 1), bool), 0.0)
    packed = torch.as_tensor(
        pack_regression_targets(None, np.zeros((1, 1)), c_soft, c_hard)
    )
    RegressionDistillationLoss(1, [1.0], loss="huber", soft_target_weight=0.0)(
        z, packed
    ).backward()
    assert z.grad.item() == pytest.approx(1.0)


def test_unfitted_bagged_teacher_uses_oob_predictions(diabetes):
    X, y = diabetes
    model = fast_regressor(RandomForestRegressor(n_estimators=20, random_state=0))
    model.fit(X, y)
    assert model.soft_targets_ == "oob"
    assert model.teacher_.oob_score
    few = RandomForestRegressor(n_estimators=2, random_state=0, oob_score=True)
    few.fit(X, y)
    missing = rows_without_oob_estimate(few, len(X))
    assert missing.any()
    np.testing.assert_array_equal(few.oob_prediction_[missing], 0.0)


def test_other_unfitted_teachers_are_cross_fitted(diabetes):
    X, y = diabetes
    model = fast_regressor(GradientBoostingRegressor(n_estimators=20), cv=3)
    assert model.fit(X, y).soft_targets_ == "cross_fit"


def test_nan_targets_are_unlabelled_and_multi_output(diabetes, forest):
    X, y = diabetes
    partial = y.copy()
    partial[::2] = np.nan
    assert fast_regressor(forest).fit(X, partial).score(X, y) > 0.4
    Y = np.c_[y, np.sqrt(y)]
    Y[::3, 1] = np.nan
    teacher = RandomForestRegressor(n_estimators=10, random_state=0)
    model = fast_regressor(teacher).fit(X, Y)
    assert model.predict(X).shape == (len(X), 2)
    assert model.n_outputs_ == 2
    student = model.export_student()
    np.testing.assert_allclose(student.predict(X), model.predict(X), rtol=1e-6)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda X, y: (RandomForestClassifier(), X, y), "is a classifier"),
        (
            lambda X, y: (Ridge(), X, np.where(np.arange(len(y)) == 3, np.inf, y)),
            "infinite",
        ),
        (lambda X, y: (Ridge(), X, np.c_[y, y, y]), None),
    ],
    ids=["classifier teacher", "inf target", "outputs mismatch"],
)
def test_regression_errors(diabetes, make, match):
    X, y = diabetes
    teacher, X, y = make(X, y)
    if match is None:  # a fitted one-output teacher with three-output targets
        teacher = Ridge().fit(X, y[:, 0])
        match = "predicts 1 outputs, but y has 3"
    with pytest.raises(ValueError, match=match):
        fast_regressor(teacher).fit(X, y)


def test_a_regressor_teacher_for_a_classifier_is_named(diabetes, forest):
    X, y = diabetes
    with pytest.raises(ValueError, match="is a regressor: DistilledClassifier"):
        DistilledClassifier(forest, soft_target_weight=0.5).fit(X, y > y.mean())


class NaNRidge(Ridge):
    def predict(self, X):
        output = super().predict(X)
        output[0] = np.nan
        return output


def test_teacher_predictions_must_be_finite(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="NaNRidge predicted NaN"):
        fast_regressor(NaNRidge().fit(X, y)).fit(X, y)


def test_grid_search_pipeline_pickle_and_cache(diabetes, forest, tmp_path):
    X, y = diabetes
    search = GridSearchCV(
        fast_regressor(forest, max_epochs=10, memory=str(tmp_path)),
        {"soft_target_weight": [0.0, 0.5], "loss": ["squared_error", "huber"]},
        cv=2,
    ).fit(X, y)
    assert search.best_estimator_.teacher_ is forest
    model = make_pipeline(StandardScaler(), fast_regressor(Ridge(), max_epochs=10))
    restored = pickle.loads(pickle.dumps(model.fit(X, y)))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_epoch_scoring_sees_the_targets(diabetes, forest):
    from skorch.callbacks import EpochScoring

    X, y = diabetes
    model = fast_regressor(
        forest, early_stopping=True, callbacks=[EpochScoring("r2", name="valid_r2")]
    ).fit(X, y)
    assert 0.2 < model.student_.history[-1, "valid_r2"] <= 1.0


def test_export_save_load_and_onnx(diabetes, forest, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    X, y = diabetes
    X = X.copy()
    X[::5, 2] = np.nan
    teacher = RandomForestRegressor(n_estimators=10, random_state=0).fit(X, y)
    student = fast_regressor(teacher, encoding="piecewise_linear").fit(X, y)
    student = student.export_student()
    loaded = load_student(student.save(tmp_path / "student.npz"))
    np.testing.assert_allclose(loaded.predict(X), student.predict(X), rtol=1e-6)
    session = ort.InferenceSession(str(loaded.to_onnx(tmp_path / "student.onnx")))
    (predictions,) = session.run(None, {"X": X.astype(np.float32)})
    assert np.abs(predictions[:, 0] - student.predict(X)).max() <= 1e-5 * y.std()

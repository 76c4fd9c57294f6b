"""Every teacher the docs name, with the distiller's defaults (only ``max_epochs``
lowered): fit, predict, export and ONNX parity, on at least 500 labelled rows, so
that the automatic selection and its MUNGE candidate run as a user's fit does.

Teachers get few trees or iterations of their own: what is tested is how the
distiller reads them, not how well they learn.
"""

import numpy as np
import pytest
import torch
from sklearn.compose import make_column_transformer
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from sklearn_kd import DistilledClassifier, DistilledRegressor, TeacherEnsemble

N_ROWS, N_FEATURES, N_CLASSES = 600, 6, 3
MAX_EPOCHS = 2


class _Net(torch.nn.Module):
    def __init__(self, n_outputs=N_CLASSES):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(N_FEATURES, 16),
            torch.nn.ReLU(),
            torch.nn.Linear(16, n_outputs),
        )

    def forward(self, x):
        return self.layers(x)


def _skorch_classifier():
    from skorch import NeuralNetClassifier

    return NeuralNetClassifier(
        _Net, criterion=torch.nn.CrossEntropyLoss, max_epochs=5, lr=0.1, verbose=0
    )


def _skorch_regressor():
    from skorch import NeuralNetRegressor

    return NeuralNetRegressor(
        _Net, module__n_outputs=1, max_epochs=5, lr=0.01, verbose=0
    )


def _lightgbm(kind):
    lightgbm = pytest.importorskip("lightgbm")
    model = lightgbm.LGBMClassifier if kind == "classifier" else lightgbm.LGBMRegressor
    return model(n_estimators=20, verbose=-1)


def _xgboost(kind):
    xgboost = pytest.importorskip("xgboost")
    model = xgboost.XGBClassifier if kind == "classifier" else xgboost.XGBRegressor
    return model(n_estimators=20, n_jobs=1)


def _catboost(kind):
    catboost = pytest.importorskip("catboost")
    model = (
        catboost.CatBoostClassifier
        if kind == "classifier"
        else catboost.CatBoostRegressor
    )
    return model(iterations=20, verbose=0, thread_count=1, allow_writing_files=False)


def _teacher_ensemble():
    X, y = _classification_data()
    return TeacherEnsemble(
        [
            RandomForestClassifier(20, random_state=0).fit(X, y),
            LogisticRegression(max_iter=500).fit(X, y),
        ]
    )


#: name -> (unfitted teacher, the soft-target sources it supports unfitted)
CLASSIFIERS = {
    "random_forest": (
        lambda: RandomForestClassifier(30, random_state=0),
        ["oob", "cross_fit", "predict"],
    ),
    "extra_trees": (
        lambda: ExtraTreesClassifier(30, bootstrap=True, random_state=0),
        ["oob", "cross_fit"],
    ),
    "gradient_boosting": (
        lambda: GradientBoostingClassifier(n_estimators=10, random_state=0),
        ["cross_fit"],
    ),
    "hgb_categorical": (
        lambda: HistGradientBoostingClassifier(
            max_iter=20, categorical_features=[0], random_state=0
        ),
        ["cross_fit"],
    ),
    "pipeline": (
        lambda: make_pipeline(
            make_column_transformer(
                (OneHotEncoder(handle_unknown="ignore"), [0]), remainder=SimpleImputer()
            ),
            LogisticRegression(max_iter=500),
        ),
        ["cross_fit"],
    ),
    "skorch": (_skorch_classifier, ["cross_fit"]),
    # An ensemble of fitted members: it is never fitted itself.
    "teacher_ensemble": (lambda: _teacher_ensemble(), ["predict"]),
    "lightgbm": (lambda: _lightgbm("classifier"), ["cross_fit"]),
    "xgboost": (lambda: _xgboost("classifier"), ["cross_fit"]),
    "catboost": (lambda: _catboost("classifier"), ["cross_fit"]),
}

REGRESSORS = {
    "random_forest": (
        lambda: RandomForestRegressor(30, random_state=0),
        ["oob", "cross_fit"],
    ),
    "hgb": (
        lambda: HistGradientBoostingRegressor(max_iter=20, random_state=0),
        ["cross_fit"],
    ),
    "skorch": (_skorch_regressor, ["cross_fit"]),
    "lightgbm": (lambda: _lightgbm("regressor"), ["cross_fit"]),
    "xgboost": (lambda: _xgboost("regressor"), ["cross_fit"]),
    "catboost": (lambda: _catboost("regressor"), ["cross_fit"]),
}


def _classification_data():
    X, y = make_classification(
        N_ROWS,
        N_FEATURES,
        n_informative=4,
        n_classes=N_CLASSES,
        random_state=0,
    )
    X[:, 0] = np.digitize(X[:, 0], [-1, 0, 1])  # a categorical column, codes 0-3
    return X.astype(np.float32), y  # float32: what a skorch teacher reads


@pytest.fixture(scope="module")
def classification():
    return _classification_data()


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(N_ROWS, N_FEATURES, n_informative=4, random_state=0)
    return X.astype(np.float32), (y / y.std()).astype(np.float32)


def _fit_teacher(teacher, X, y):
    return teacher.fit(X, y.reshape(-1, 1) if _is_skorch_regressor(teacher) else y)


def _is_skorch_regressor(teacher):
    return type(teacher).__name__ == "NeuralNetRegressor"


def _check_onnx_parity(student, X, expected, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    path = tmp_path / "student.onnx"
    student.to_onnx(path)
    session = onnxruntime.InferenceSession(str(path))
    (output,) = session.run(None, {session.get_inputs()[0].name: X[:50]})
    np.testing.assert_allclose(
        output.reshape(expected[:50].shape), expected[:50], atol=1e-5
    )


def _cases(teachers):
    for name, (_, sources) in teachers.items():
        yield pytest.param(name, "defaults", id=f"{name}-defaults")
        yield pytest.param(name, "fitted", id=f"{name}-fitted")
        yield pytest.param(name, "munge", id=f"{name}-munge")
        for source in sources:
            yield pytest.param(name, source, id=f"{name}-{source}")


def _settings(case):
    if case == "munge":
        return {"augment": "munge"}
    if case in ("oob", "cross_fit", "predict"):
        return {"soft_targets": case}
    return {}


@pytest.mark.parametrize(("name", "case"), list(_cases(CLASSIFIERS)))
def test_classifier_teacher_with_the_defaults(name, case, classification, tmp_path):
    X, y = classification
    teacher = CLASSIFIERS[name][0]()
    if case == "fitted":
        teacher = _fit_teacher(teacher, X, y)
    model = DistilledClassifier(
        teacher, max_epochs=MAX_EPOCHS, random_state=0, **_settings(case)
    ).fit(X, y)

    assert model.classes_.tolist() == [0, 1, 2]
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert set(np.unique(model.predict(X))) <= {0, 1, 2}
    teacher_labels = np.ravel(model.teacher_.predict(X))
    assert (model.predict(X) == teacher_labels).mean() > 1 / N_CLASSES
    if case == "munge":
        assert model.selected_params_["augment"] == "munge"
    student = model.export_student()
    np.testing.assert_allclose(student.predict_proba(X), proba, atol=1e-6)
    if case == "defaults":
        _check_onnx_parity(student, X, proba, tmp_path)


@pytest.mark.parametrize(("name", "case"), list(_cases(REGRESSORS)))
def test_regressor_teacher_with_the_defaults(name, case, regression, tmp_path):
    X, y = regression
    teacher = REGRESSORS[name][0]()
    y_fit = y.reshape(-1, 1) if _is_skorch_regressor(teacher) else y
    if case == "fitted":
        teacher = teacher.fit(X, y_fit)
    model = DistilledRegressor(
        teacher, max_epochs=MAX_EPOCHS, random_state=0, **_settings(case)
    ).fit(X, y_fit)

    prediction = model.predict(X)
    assert prediction.shape == (N_ROWS,)
    assert np.isfinite(prediction).all()
    assert np.corrcoef(prediction, y)[0, 1] > 0.3
    student = model.export_student()
    np.testing.assert_allclose(student.predict(X), prediction, rtol=1e-5, atol=1e-5)
    if case == "defaults":
        _check_onnx_parity(student, X, prediction.astype(np.float32), tmp_path)

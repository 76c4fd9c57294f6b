"""Cases that used to give a silently wrong model or a late crash: each now gives
the right answer or a warning or error that says what to do."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
import sklearn
from conftest import fast_distiller
from sklearn.compose import TransformedTargetRegressor, make_column_transformer
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder, StandardScaler

from sklearn_kd import DistilledClassifier, DistilledRegressor
from sklearn_kd._classifier import UnlabelledRowsWarning
from sklearn_kd._regressor import RegressionTask, TargetScale


@pytest.fixture(scope="module")
def three_classes():
    return make_classification(300, 6, n_informative=4, n_classes=3, random_state=0)


def test_label_minus_one_is_announced_as_unlabelled(three_classes):
    X, y = three_classes
    y = y - 1  # classes -1, 0, 1
    with pytest.warns(
        UnlabelledRowsWarning, match=r"\d+ of 300 rows have the label -1"
    ):
        model = fast_distiller(RandomForestClassifier(20, random_state=0)).fit(X, y)
    assert model.classes_.tolist() == [0, 1]


def test_no_warning_without_label_minus_one(three_classes):
    X, y = three_classes
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnlabelledRowsWarning)
        fast_distiller(RandomForestClassifier(20, random_state=0)).fit(X, y)


def test_one_vs_rest_around_a_fitted_teacher_warns(three_classes):
    X, y = three_classes
    forest = RandomForestClassifier(20, random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match=r"labelled rows lack \[2\]"):
        OneVsRestClassifier(fast_distiller(forest, max_epochs=2)).fit(X, y)


def test_a_fitted_teacher_of_the_same_labels_does_not_warn(three_classes):
    X, y = three_classes
    forest = RandomForestClassifier(20, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fast_distiller(forest, max_epochs=2).fit(X, y)


def test_transformed_target_around_a_fitted_teacher_warns():
    X, y = make_regression(300, 5, random_state=0)
    y = np.exp(y / y.std())
    forest = RandomForestRegressor(20, random_state=0).fit(X, y)
    student = DistilledRegressor(
        forest,
        max_epochs=2,
        encoding="standard",
        augment=None,
        soft_target_weight=0.5,
        random_state=0,
    )
    with pytest.warns(UserWarning, match=r"scores R\^2 = .* on the labelled rows"):
        TransformedTargetRegressor(student, func=np.log, inverse_func=np.exp).fit(X, y)


def test_a_column_constant_in_training_does_not_move_the_student(three_classes):
    X, y = three_classes
    X = X.copy()
    X[:, 2] = 5.0
    forest = RandomForestClassifier(20, random_state=0).fit(X, y)
    for encoding in ("standard", "piecewise_linear"):
        model = fast_distiller(forest, encoding=encoding).fit(X, y)
        moved = X.copy()
        moved[:, 2] = 1e3
        np.testing.assert_allclose(
            model.predict_proba(moved), model.predict_proba(X), atol=1e-6
        )


def test_predict_log_proba_is_the_log_of_predict_proba(three_classes):
    X, y = three_classes
    model = fast_distiller(RandomForestClassifier(20, random_state=0)).fit(X, y)
    for estimator in (model, model.export_student()):
        log_proba = estimator.predict_log_proba(X)
        np.testing.assert_allclose(
            log_proba, np.log(estimator.predict_proba(X)), atol=1e-9
        )
    extreme = model.export_student()
    extreme.shift_logit_bias(0, 1e4)
    assert np.isfinite(extreme.predict_log_proba(X)).all()


def test_an_unusable_device_fails_before_the_teacher_is_fitted(three_classes):
    X, y = three_classes

    class Spy(RandomForestClassifier):
        def fit(self, X, y, sample_weight=None):
            raise AssertionError("the teacher was fitted")

    with pytest.raises(ValueError, match="device='mps' was requested"):
        fast_distiller(Spy(), device="mps").fit(X, y)


def test_the_exported_students_fit_warns_that_it_does_not_train(three_classes):
    X, y = three_classes
    student = fast_distiller(RandomForestClassifier(20, random_state=0)).fit(X, y)
    student = student.export_student()
    with pytest.warns(UserWarning, match="does not train"):
        student.fit(X, y)


def test_integer_column_labels_with_a_string_column(three_classes):
    X, y = three_classes
    frame = pd.DataFrame(X)
    frame[6] = np.where(y == 0, "a", "b")
    teacher = make_pipeline(
        make_column_transformer((OrdinalEncoder(), [6]), remainder="passthrough"),
        RandomForestClassifier(20, random_state=0),
    )
    model = fast_distiller(teacher).fit(frame, y)
    assert model.predict(frame).shape == (300,)


@pytest.mark.parametrize("n_weighted", [1, 2, 3])
def test_sample_weight_on_a_few_rows_skips_the_selection(n_weighted):
    X, y = make_classification(600, 6, random_state=0)
    weights = np.zeros(len(y))
    weights[:n_weighted] = 1.0
    model = DistilledClassifier(
        RandomForestClassifier(20, random_state=0), max_epochs=2, random_state=0
    ).fit(X, y, sample_weight=weights)
    assert model.selection_scores_ is None
    assert model.predict(X).shape == (600,)


def test_huber_candidates_are_scored_with_huber():
    targets = TargetScale(shift=np.array([0.0]), scale=np.array([1.0]))
    labels = np.array([[0.0], [0.0]])
    outputs = np.array([[0.5], [100.0]])
    huber = RegressionTask.from_estimator(
        DistilledRegressor(loss="huber", huber_delta=1.0)
    )
    losses = huber.validation_losses(outputs, labels, None, targets)
    np.testing.assert_allclose(losses, [0.125, 99.5])
    squared = RegressionTask.from_estimator(DistilledRegressor())
    np.testing.assert_allclose(
        squared.validation_losses(outputs, labels, None, targets), [0.25, 1e4]
    )


@pytest.fixture
def metadata_routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


class _WeightRecorder(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        self.saw_weights_ = sample_weight is not None
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.mark.usefixtures("metadata_routing")
def test_routing_passes_weights_to_a_requesting_pipeline_step(three_classes):
    X, y = three_classes
    step = _WeightRecorder(max_iter=500).set_fit_request(sample_weight=True)
    scaler = StandardScaler().set_fit_request(sample_weight=False)
    teacher = make_pipeline(scaler, step)
    model = fast_distiller(teacher, soft_targets="predict")
    model.fit(X, y, sample_weight=np.ones(len(y)))
    assert model.teacher_.steps[-1][1].saw_weights_


@pytest.mark.usefixtures("metadata_routing")
def test_routing_honours_a_teacher_that_declines_weights(three_classes):
    X, y = three_classes
    teacher = _WeightRecorder(max_iter=500).set_fit_request(sample_weight=False)
    model = fast_distiller(teacher, soft_targets="predict")
    with pytest.warns(UserWarning, match="set_fit_request"):
        model.fit(X, y, sample_weight=np.ones(len(y)))
    assert not model.teacher_.saw_weights_


def test_sparse_rows_and_raw_documents_are_refused_with_what_to_do(three_classes):
    X, y = three_classes
    model = fast_distiller(RandomForestClassifier(10, random_state=0))
    with pytest.raises(TypeError, match="TruncatedSVD"):
        model.fit(scipy.sparse.csr_matrix(X), y)
    documents = np.array(["good movie", "bad movie"] * 150)
    with pytest.raises(ValueError, match="raw documents"):
        model.fit(documents, y)


def test_targets_with_a_large_offset_vary_on_every_batch_size():
    X, y = make_regression(600, 5, random_state=0)
    y = 1e9 + 10 * y / y.std()
    model = DistilledRegressor(
        RandomForestRegressor(20, random_state=0),
        max_epochs=5,
        encoding="standard",
        augment=None,
        soft_target_weight=0.5,
        random_state=0,
    ).fit(X, y)
    whole = model.predict(X)  # the torch path: more rows than the numpy path takes
    rows = np.concatenate([model.predict(X[i : i + 50]) for i in range(0, 600, 50)])
    np.testing.assert_allclose(whole, rows, rtol=0, atol=1e-3)
    assert np.unique(whole).size > 100  # float32 arithmetic gave steps of 64
    assert np.corrcoef(whole, y)[0, 1] > 0.2


def test_targets_beyond_float32_are_refused_with_what_to_do():
    X, y = make_regression(50, 3, random_state=0)
    model = DistilledRegressor(RandomForestRegressor(5), max_epochs=1)
    with pytest.raises(ValueError, match="beyond what the student's float32"):
        model.fit(X, y * 1e39)

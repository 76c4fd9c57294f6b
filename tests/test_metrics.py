import json
import math
import pickle
import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import GridSearchCV, KFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_kd.metrics import (
    CompressionReport,
    agreement_score,
    agreement_scorer,
    compression_report,
    mean_kl_divergence,
    neg_mean_kl_scorer,
)

# ---------------------------------------------------------------- agreement_score


def test_agreement_score_hand_computed():
    y_teacher = ["a", "b", "b", "c"]
    y_student = ["a", "b", "c", "c"]
    assert agreement_score(y_teacher, y_student) == 0.75
    # matches on rows 0, 1, 3 weigh 1 + 1 + 0 out of 4
    assert agreement_score(y_teacher, y_student, sample_weight=[1, 1, 2, 0]) == 0.5


@pytest.mark.parametrize(
    "y_teacher, y_student, sample_weight, error, match",
    [
        ([0, 1], [[0.9, 0.1], [0.2, 0.8]], None, ValueError, "y_student must be a 1-D"),
        ([[0], [1]], [0, 1], None, ValueError, "y_teacher must be a 1-D"),
        ([0, 1, 1], [0, 1], None, ValueError, "inconsistent numbers of samples"),
        ([0, 1], [0, 1], [1, -1], ValueError, "Negative values"),
        ([0, 1], [0, 1], [1, 1, 1], ValueError, "sample_weight.shape"),
        (3, [0], None, InvalidParameterError, "'y_teacher' parameter"),
    ],
)
def test_agreement_score_rejects_invalid_input(
    y_teacher, y_student, sample_weight, error, match
):
    with pytest.raises(error, match=match):
        agreement_score(y_teacher, y_student, sample_weight=sample_weight)


# ------------------------------------------------------------- mean_kl_divergence

P = [[1.0, 0.0], [0.5, 0.5]]
Q = [[0.5, 0.5], [0.25, 0.75]]
KL_ROWS = [math.log(2), 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)]


def test_mean_kl_divergence_hand_computed():
    assert mean_kl_divergence(P, Q) == pytest.approx(sum(KL_ROWS) / 2)
    expected_weighted = (3 * KL_ROWS[0] + 1 * KL_ROWS[1]) / 4
    assert mean_kl_divergence(P, Q, sample_weight=[3, 1]) == pytest.approx(
        expected_weighted
    )


def test_mean_kl_divergence_zero_for_identical_and_zero_terms_ignored():
    # the teacher's zero entries contribute 0 even where the student is also 0
    proba = [[1.0, 0.0, 0.0], [0.2, 0.0, 0.8]]
    assert mean_kl_divergence(proba, proba) == 0.0


def test_mean_kl_divergence_clips_student_at_eps():
    p, q = [[1.0, 0.0]], [[0.0, 1.0]]
    assert mean_kl_divergence(p, q) == pytest.approx(-math.log(1e-12))
    assert mean_kl_divergence(p, q, eps=1e-6) == pytest.approx(-math.log(1e-6))


def test_mean_kl_divergence_is_asymmetric_and_non_negative():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=20)
    q = rng.dirichlet(np.ones(4), size=20)
    assert mean_kl_divergence(p, q) > 0
    assert mean_kl_divergence(p, q) != pytest.approx(mean_kl_divergence(q, p))


def test_mean_kl_divergence_accepts_float32_rounding_and_does_not_mutate():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(10, 50)).astype(np.float32)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    q = np.zeros_like(p)
    q[:, 0] = 1
    q_before = q.copy()
    assert np.isfinite(mean_kl_divergence(p, q))
    np.testing.assert_array_equal(q, q_before)


@pytest.mark.parametrize(
    "proba_teacher, proba_student, kwargs, error, match",
    [
        (P, [[0.5, 0.5]], {}, ValueError, "same shape"),
        (P, [[0.2, 0.3, 0.5], [0.2, 0.3, 0.5]], {}, ValueError, "same shape"),
        (
            [[1.5, -0.5], [0.5, 0.5]],
            Q,
            {},
            ValueError,
            r"proba_teacher .*outside \[0, 1\]",
        ),
        (
            P,
            [[2.0, -1.0], [0.5, 0.5]],
            {},
            ValueError,
            r"proba_student .*outside \[0, 1\]",
        ),
        (
            [[0.7, 0.5], [0.5, 0.5]],
            Q,
            {},
            ValueError,
            "not sum to 1.*row 0 sums to 1.2",
        ),
        (P, [[0.5, 0.4], [0.5, 0.5]], {}, ValueError, "proba_student must hold prob"),
        ([0.5, 0.5], [0.5, 0.5], {}, ValueError, "Expected 2D array"),
        ([[np.nan, 1.0]], [[0.5, 0.5]], {}, ValueError, "proba_teacher contains NaN"),
        (P, Q, {"sample_weight": [1, -1]}, ValueError, "Negative values"),
        (P, Q, {"sample_weight": [1]}, ValueError, "sample_weight.shape"),
        (P, Q, {"eps": 0}, InvalidParameterError, "'eps' parameter"),
    ],
)
def test_mean_kl_divergence_rejects_invalid_input(
    proba_teacher, proba_student, kwargs, error, match
):
    with pytest.raises(error, match=match):
        mean_kl_divergence(proba_teacher, proba_student, **kwargs)


# ------------------------------------------------------------------------ scorers


class _FixedProbaDistilled(ClassifierMixin, BaseEstimator):
    """Stand-in for a fitted DistilledClassifier with fixed probabilities."""

    def __init__(self, classes, teacher_proba, student_proba):
        self.classes = classes
        self.teacher_proba = teacher_proba
        self.student_proba = student_proba

    def fit(self, X, y=None):
        self.classes_ = np.asarray(self.classes)
        self.teacher_ = "fitted teacher"
        return self

    def teacher_predict_proba(self, X):
        return np.asarray(self.teacher_proba)

    def predict_proba(self, X):
        return np.asarray(self.student_proba)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class _TinyDistilled(ClassifierMixin, BaseEstimator):
    """Stand-in for DistilledClassifier: a logistic regression fitted on the
    labels of an already fitted (frozen) teacher, so fit needs no y."""

    def __init__(self, teacher=None, C=1.0):
        self.teacher = teacher
        self.C = C

    def fit(self, X, y=None):
        self.teacher_ = self.teacher
        self.classes_ = self.teacher_.classes_
        self.student_ = LogisticRegression(C=self.C, max_iter=1000)
        self.student_.fit(X, self.teacher_.predict(X))
        return self

    def teacher_predict_proba(self, X):
        return self.teacher_.predict_proba(X)

    def predict_proba(self, X):
        return self.student_.predict_proba(X)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


TEACHER_PROBA = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]
STUDENT_PROBA = [[0.8, 0.2], [0.4, 0.6], [0.3, 0.7], [0.3, 0.7]]
X_FOUR = np.zeros((4, 1))


def _fixed_distilled():
    return _FixedProbaDistilled(["no", "yes"], TEACHER_PROBA, STUDENT_PROBA).fit(X_FOUR)


def _hand_kl(p_row, q_row):
    return sum(p * math.log(p / q) for p, q in zip(p_row, q_row, strict=True))


def test_scorers_hand_computed_and_ignore_y():
    estimator = _fixed_distilled()
    # teacher says no, yes, no, yes; the student says no, yes, yes, yes
    assert agreement_scorer(estimator, X_FOUR) == 0.75
    kl_rows = [
        _hand_kl(p, q) for p, q in zip(TEACHER_PROBA, STUDENT_PROBA, strict=True)
    ]
    assert neg_mean_kl_scorer(estimator, X_FOUR) == pytest.approx(-sum(kl_rows) / 4)
    garbage_y = ["x", "y", "z", "w"]
    assert agreement_scorer(estimator, X_FOUR, garbage_y) == 0.75
    assert neg_mean_kl_scorer(estimator, X_FOUR, garbage_y) == pytest.approx(
        -sum(kl_rows) / 4
    )


def test_scorers_accept_sample_weight():
    estimator = _fixed_distilled()
    weights = [1, 1, 0, 2]  # drops the only disagreement (row 2)
    assert agreement_scorer(estimator, X_FOUR, sample_weight=weights) == 1.0


def test_scorers_are_picklable():
    estimator = _fixed_distilled()
    for scorer in (agreement_scorer, neg_mean_kl_scorer):
        restored = pickle.loads(pickle.dumps(scorer))
        assert repr(restored) == repr(scorer)
        assert restored(estimator, X_FOUR) == scorer(estimator, X_FOUR)


def test_scorers_reject_non_distilled_or_unfitted_estimators():
    X, y = load_iris(return_X_y=True)
    plain = LogisticRegression(max_iter=1000).fit(X, y)
    with pytest.raises(TypeError, match="teacher_predict_proba"):
        agreement_scorer(plain, X)
    unfitted = _FixedProbaDistilled(["no", "yes"], TEACHER_PROBA, STUDENT_PROBA)
    with pytest.raises(NotFittedError):
        neg_mean_kl_scorer(unfitted, X_FOUR)


def test_scorers_inside_grid_search_on_unlabelled_data():
    X, y = load_iris(return_X_y=True)
    class_names = np.array(["setosa", "versicolor", "virginica"])
    teacher = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, class_names[y])
    cv = KFold(n_splits=3, shuffle=True, random_state=0)
    search = GridSearchCV(
        _TinyDistilled(teacher=FrozenEstimator(teacher)),
        param_grid={"C": [0.01, 1.0]},
        scoring={"agreement": agreement_scorer, "neg_kl": neg_mean_kl_scorer},
        refit="neg_kl",
        cv=cv,
        n_jobs=2,
        error_score="raise",
    )
    search.fit(X)  # no labels: the scorers compare with the teacher only

    results = search.cv_results_
    for candidate, params in enumerate(results["params"]):
        for split, (train, test) in enumerate(cv.split(X)):
            fitted = _TinyDistilled(teacher=teacher, **params).fit(X[train])
            assert results[f"split{split}_test_agreement"][candidate] == (
                pytest.approx(agreement_scorer(fitted, X[test]))
            )
            assert results[f"split{split}_test_neg_kl"][candidate] == (
                pytest.approx(neg_mean_kl_scorer(fitted, X[test]))
            )
    # the weakly regularised student mimics the teacher more closely
    assert search.best_params_ == {"C": 1.0}
    assert 0.8 < results["mean_test_agreement"][1] <= 1.0


# ------------------------------------------------------------- compression_report


@pytest.fixture(scope="module")
def breast_cancer_models():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    teacher = RandomForestClassifier(n_estimators=30, random_state=0)
    teacher.fit(X_train, y_train)
    student = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    student.fit(X_train, teacher.predict(X_train))
    return teacher, student, X_test, y_test


@pytest.fixture(scope="module")
def breast_cancer_report(breast_cancer_models):
    teacher, student, X_test, y_test = breast_cancer_models
    return compression_report(teacher, student, X_test, y_test, n_repeats=2)


def test_compression_report_fields(breast_cancer_models, breast_cancer_report):
    teacher, student, X_test, y_test = breast_cancer_models
    report = breast_cancer_report
    teacher_labels, student_labels = teacher.predict(X_test), student.predict(X_test)
    teacher_proba = teacher.predict_proba(X_test)
    student_proba = student.predict_proba(X_test)

    assert report.n_samples == len(X_test)
    assert report.teacher_accuracy == accuracy_score(y_test, teacher_labels)
    assert report.student_accuracy == accuracy_score(y_test, student_labels)
    assert report.teacher_log_loss == pytest.approx(log_loss(y_test, teacher_proba))
    assert report.student_log_loss == pytest.approx(log_loss(y_test, student_proba))
    assert report.agreement == agreement_score(teacher_labels, student_labels)
    assert report.mean_kl_divergence == pytest.approx(
        mean_kl_divergence(teacher_proba, student_proba)
    )
    assert report.teacher_size_bytes == len(pickle.dumps(teacher, protocol=5))
    assert report.student_size_bytes == len(pickle.dumps(student, protocol=5))
    for role in ("teacher", "student"):
        assert getattr(report, f"{role}_batch_predict_seconds") > 0
        assert getattr(report, f"{role}_single_predict_seconds") > 0


def test_compression_report_ratios(breast_cancer_report):
    report = breast_cancer_report
    assert report.size_ratio == report.teacher_size_bytes / report.student_size_bytes
    assert report.size_ratio > 1  # a 30-tree forest pickles larger than a linear model
    assert report.batch_time_ratio == pytest.approx(
        report.teacher_batch_predict_seconds / report.student_batch_predict_seconds
    )
    assert report.single_time_ratio == pytest.approx(
        report.teacher_single_predict_seconds / report.student_single_predict_seconds
    )
    as_dict = report.to_dict()
    assert as_dict["size_ratio"] == report.size_ratio
    assert as_dict["agreement"] == report.agreement
    json.dumps(as_dict)  # plain Python values only


def test_compression_report_renderings(breast_cancer_report):
    report = breast_cancer_report
    names = [
        "accuracy",
        "log loss",
        "agreement with teacher",
        "mean KL divergence",
        "pickled size",
        "predict time (batch)",
        "predict time (1 row)",
    ]
    text = str(report)
    assert text.splitlines()[0].split() == ["teacher", "student", "ratio"]
    for name in names:
        assert name in text
    assert f"{report.agreement:.4f}" in text

    frame = report.to_frame()
    assert frame.shape == (7, 3)
    assert list(frame.index) == names
    assert list(frame.columns) == ["teacher", "student", "ratio"]
    assert frame.loc["pickled size", "teacher"] == report.teacher_size_bytes
    assert frame.loc["predict time (batch)", "ratio"] == report.batch_time_ratio
    assert np.isnan(frame.loc["accuracy", "ratio"])

    markdown = report.to_markdown().splitlines()
    assert markdown[0] == "| metric | teacher | student | ratio |"
    assert len(markdown) == 2 + len(names)
    assert all(line.count("|") == 5 for line in markdown)


def test_compression_report_str_formats_units_and_ratios():
    report = CompressionReport(
        n_samples=100,
        teacher_accuracy=0.965,
        student_accuracy=0.958,
        teacher_log_loss=0.1,
        student_log_loss=0.12,
        agreement=0.97,
        mean_kl_divergence=0.00001,
        teacher_size_bytes=12_300_000,
        student_size_bytes=45_100,
        teacher_batch_predict_seconds=1.5,
        student_batch_predict_seconds=0.003,
        teacher_single_predict_seconds=0.00002,
        student_single_predict_seconds=0.00004,
    )
    lines = {line[:22].strip(): line[22:].split() for line in str(report).splitlines()}
    assert lines["accuracy"] == ["0.9650", "0.9580"]
    assert lines["mean KL divergence"] == ["1.00e-05"]
    assert lines["pickled size"] == ["12.3", "MB", "45.1", "kB", "273x"]
    assert lines["predict time (batch)"] == ["1.5", "s", "3.0", "ms", "500x"]
    assert lines["predict time (1 row)"] == ["20.0", "µs", "40.0", "µs", "0.5x"]


def test_compression_report_without_labels(breast_cancer_models):
    teacher, student, X_test, _ = breast_cancer_models
    report = compression_report(teacher, student, X_test, n_repeats=1)
    assert report.teacher_accuracy is None and report.student_log_loss is None
    assert report.agreement == agreement_score(
        teacher.predict(X_test), student.predict(X_test)
    )
    assert "accuracy" not in str(report)
    assert report.to_frame().shape == (5, 3)


class _ReorderedClassesTeacher(ClassifierMixin, BaseEstimator):
    """A fitted classifier reporting its classes (and probability columns) in a
    different order from the sorted one scikit-learn uses."""

    def __init__(self, model, order):
        self.model = model
        self.order = order

    def fit(self, X, y=None):
        self.classes_ = self.model.classes_[self.order]
        return self

    def predict(self, X):
        return self.model.predict(X)

    def predict_proba(self, X):
        return self.model.predict_proba(X)[:, self.order]


def test_compression_report_aligns_teacher_classes_by_value():
    X, y = load_iris(return_X_y=True)
    y = np.array(["setosa", "versicolor", "virginica"])[y]
    teacher = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    student = LogisticRegression(C=0.05, max_iter=1000).fit(X, y)
    shuffled = _ReorderedClassesTeacher(teacher, order=[2, 0, 1]).fit(X)

    report = compression_report(shuffled, student, X, y, n_repeats=1)

    expected_kl = mean_kl_divergence(teacher.predict_proba(X), student.predict_proba(X))
    assert report.mean_kl_divergence == pytest.approx(expected_kl)
    assert report.teacher_log_loss == pytest.approx(
        log_loss(y, teacher.predict_proba(X))
    )
    # without alignment the numbers would differ
    misaligned_kl = mean_kl_divergence(
        shuffled.predict_proba(X), student.predict_proba(X)
    )
    assert misaligned_kl != pytest.approx(expected_kl)


def test_compression_report_rejects_different_class_sets():
    X, y = load_iris(return_X_y=True)
    teacher = DecisionTreeClassifier(max_depth=2).fit(X, y)
    student = DecisionTreeClassifier(max_depth=2).fit(X[y != 2], y[y != 2])
    with pytest.raises(ValueError, match="same classes.*only the teacher has: \\[2\\]"):
        compression_report(teacher, student, X)


class _CarriesTeacher(ClassifierMixin, BaseEstimator):
    """A student that, like DistilledClassifier, pickles with its teacher."""

    def __init__(self, teacher, student):
        self.teacher = teacher
        self.student = student

    def fit(self, X, y=None):
        self.classes_ = self.student.classes_
        return self

    def predict(self, X):
        return self.student.predict(X)

    def predict_proba(self, X):
        return self.student.predict_proba(X)

    def export_student(self):
        return self.student


def test_compression_report_measures_exported_student(breast_cancer_models):
    teacher, student, X_test, y_test = breast_cancer_models
    carrier = _CarriesTeacher(teacher, student).fit(X_test)
    report = compression_report(teacher, carrier, X_test, y_test, n_repeats=1)
    assert report.student_size_bytes == len(pickle.dumps(student, protocol=5))
    assert report.student_size_bytes < len(pickle.dumps(carrier, protocol=5))


def test_compression_report_does_not_mutate_inputs(breast_cancer_models):
    teacher, student, X_test, y_test = breast_cancer_models
    X_before, y_before = X_test.copy(), y_test.copy()
    compression_report(teacher, student, X_test, y_test, n_repeats=1)
    assert X_test.equals(X_before) and y_test.equals(y_before)


def test_compression_report_rejects_invalid_input(breast_cancer_models):
    teacher, student, X_test, y_test = breast_cancer_models
    with pytest.raises(InvalidParameterError, match="'n_repeats' parameter"):
        compression_report(teacher, student, X_test, n_repeats=0)
    with pytest.raises(InvalidParameterError, match="'teacher' parameter"):
        compression_report(StandardScaler(), student, X_test)
    with pytest.raises(TypeError, match="LinearSVC has no predict_proba"):
        compression_report(LinearSVC(), student, X_test)
    with pytest.raises(NotFittedError):
        compression_report(clone(teacher), student, X_test)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        compression_report(teacher, student, X_test, y_test[:-1])


def test_to_frame_without_pandas_says_how_to_install(breast_cancer_report, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        breast_cancer_report.to_frame()


def test_regression_fidelity_metrics():
    from sklearn_kd.metrics import fidelity_r2_score, mean_absolute_deviation

    teacher = np.array([1.0, 2.0, 3.0, 4.0])
    assert fidelity_r2_score(teacher, teacher) == 1.0
    assert fidelity_r2_score(teacher, np.full(4, teacher.mean())) == 0.0
    assert mean_absolute_deviation(teacher, teacher + 0.5) == pytest.approx(0.5)
    assert mean_absolute_deviation(
        teacher, teacher + [0, 0, 0, 4], sample_weight=[1, 1, 1, 0]
    ) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="same shape"):
        mean_absolute_deviation(teacher, teacher[:3])


def test_regression_scorers_and_report():
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import GridSearchCV

    from sklearn_kd import DistilledRegressor
    from sklearn_kd.metrics import (
        RegressionCompressionReport,
        fidelity_r2_scorer,
        neg_mean_absolute_deviation_scorer,
    )

    X, y = load_diabetes(return_X_y=True)
    forest = RandomForestRegressor(n_estimators=20, random_state=0).fit(X, y)
    model = DistilledRegressor(
        forest,
        soft_target_weight=1.0,
        encoding="standard",
        augment=None,
        max_epochs=60,
        random_state=0,
    )
    search = GridSearchCV(
        model,
        {"lr": [1e-3, 3e-3]},
        scoring={"r2": fidelity_r2_scorer, "mad": neg_mean_absolute_deviation_scorer},
        refit="r2",
        cv=2,
    ).fit(X, y)
    assert search.cv_results_["mean_test_r2"].max() > 0.5
    assert (search.cv_results_["mean_test_mad"] < 0).all()
    report = compression_report(forest, search.best_estimator_, X, y, n_repeats=1)
    assert isinstance(report, RegressionCompressionReport)
    assert report.fidelity_r2 > 0.5 and report.size_ratio > 10
    assert "R² vs teacher" in str(report)
    with pytest.raises(TypeError, match="DistilledRegressor"):
        fidelity_r2_scorer(forest, X)

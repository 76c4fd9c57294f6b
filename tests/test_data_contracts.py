"""Inputs that must give a clear error or a correct model, never a silent wrong one.

Each test pins one case that once gave a wrong result with no error, or an error
that blamed the wrong thing.
"""

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from conftest import fast_distiller
from sklearn.base import clone
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sklearn_kd import DistilledClassifier


class WeightRecordingForest(RandomForestClassifier):
    """A forest that records the sample weights its ``fit`` receives."""

    received = []

    def fit(self, X, y, sample_weight=None):
        WeightRecordingForest.received.append(sample_weight)
        return super().fit(X, y, sample_weight=sample_weight)


class WeightlessTeacher(KNeighborsClassifier):
    """A classifier whose ``fit`` takes no sample weights."""


class BatchRecorder(Callback):
    """Record every training batch's inputs and packed targets."""

    def on_train_begin(self, net, **kwargs):
        self.batches_ = []

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            self.batches_.append((batch[0].clone(), batch[1].clone()))


def recorded(model):
    recorder = model.student_.callbacks[0]
    inputs = torch.cat([inputs for inputs, _ in recorder.batches_]).numpy()
    targets = torch.cat([targets for _, targets in recorder.batches_]).numpy()
    return inputs, targets


# -- one transfer set ------------------------------------------------------------


def test_synthetic_rows_inherit_the_weight_of_their_source_row(iris, iris_forest):
    X, y = iris
    X = np.hstack([np.arange(len(X))[:, None], X])  # a row-id column
    teacher = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    weights = np.where(y == 0, 3.0, 1.0)
    model = fast_distiller(
        teacher,
        max_epochs=1,
        augment="munge",
        augment_factor=2,
        munge_swap_probability=0.0,  # synthetic rows are exact copies
        scaling=None,
        callbacks=[BatchRecorder()],
    ).fit(X, y, sample_weight=weights)
    inputs, targets = recorded(model)
    row_id = inputs[:, 0].round().astype(int)
    c_soft = targets[:, -2]
    assert len(inputs) == 3 * len(X)
    for row in (0, 60, 120):
        coefficients = c_soft[row_id == row]
        assert len(coefficients) == 3
        np.testing.assert_allclose(coefficients, coefficients[0])
    assert c_soft[row_id == 0][0] == pytest.approx(3 * c_soft[row_id == 60][0])


def test_sample_weight_reaches_an_unfitted_teacher_and_its_cross_fit_clones(iris):
    X, y = iris
    weights = np.linspace(0.5, 2.0, len(y))
    WeightRecordingForest.received = []
    fast_distiller(
        WeightRecordingForest(n_estimators=5, random_state=0),
        soft_targets="cross_fit",
        cv=3,
        max_epochs=1,
    ).fit(X, y, sample_weight=weights)
    received = WeightRecordingForest.received
    assert len(received) == 3 + 1
    assert all(weight is not None for weight in received)
    assert sorted(len(weight) for weight in received) == [100, 100, 100, 150]
    np.testing.assert_array_equal(received[-1], weights)


def test_sample_weight_reaches_a_pipeline_teacher_through_its_last_step(iris):
    X, y = iris
    WeightRecordingForest.received = []
    teacher = make_pipeline(
        SimpleImputer(), WeightRecordingForest(n_estimators=5, random_state=0)
    )
    fast_distiller(teacher, soft_targets="predict", max_epochs=1).fit(
        X, y, sample_weight=np.full(len(y), 2.0)
    )
    np.testing.assert_array_equal(WeightRecordingForest.received[-1], 2.0)


def test_a_teacher_without_sample_weight_warns_once(iris):
    X, y = iris
    with pytest.warns(UserWarning, match="does not accept sample_weight") as caught:
        fast_distiller(
            WeightlessTeacher(), soft_targets="cross_fit", cv=3, max_epochs=1
        ).fit(X, y, sample_weight=np.ones(len(y)))
    assert sum("sample_weight" in str(w.message) for w in caught) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fast_distiller(WeightlessTeacher(), max_epochs=1).fit(X, y)


def test_batches_whose_weights_are_all_zero_train_without_nan(cancer):
    X, y = cancer
    weights = np.zeros(len(y))
    weights[::10] = 1.0
    teacher = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    model = fast_distiller(teacher, batch_size=16, max_epochs=3).fit(
        X, y, sample_weight=weights
    )
    assert np.isfinite(model.student_.history[:, "train_loss"]).all()


def count_queries(monkeypatch):
    from sklearn_kd.teacher import _adapters

    calls = []
    original = _adapters.query_teacher

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(_adapters, "query_teacher", counting)
    return calls


def test_grid_search_hits_the_cache_without_random_state(
    iris, iris_forest, tmp_path, monkeypatch
):
    calls = count_queries(monkeypatch)
    model = fast_distiller(
        iris_forest, max_epochs=1, memory=str(tmp_path), random_state=None
    )
    grid = {"temperature": [1.0, 2.0], "soft_target_weight": [0.5, 0.9]}
    GridSearchCV(model, grid, cv=5).fit(*iris)
    assert len(calls) == 5 + 1


def test_n_jobs_and_teacher_batch_size_do_not_change_the_cache_key(
    iris, iris_forest, tmp_path, monkeypatch
):
    calls = count_queries(monkeypatch)
    memory = str(tmp_path)
    for n_jobs, batch_size in [(None, 10_000), (2, 10_000), (None, 7)]:
        fast_distiller(
            iris_forest,
            max_epochs=1,
            memory=memory,
            n_jobs=n_jobs,
            teacher_batch_size=batch_size,
        ).fit(*iris)
    assert len(calls) == 1


# -- inputs the library catches --------------------------------------------------


def test_exported_student_checks_column_names_and_order(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    teacher = RandomForestClassifier(n_estimators=10, random_state=0).fit(frame, y)
    student = fast_distiller(teacher).fit(frame, y).export_student()
    np.testing.assert_array_equal(student.feature_names_in_, ["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="same order"):
        student.predict_proba(frame[["d", "c", "b", "a"]])
    with pytest.raises(ValueError, match="Feature names"):
        student.predict(frame.rename(columns={"a": "z"}))


def test_fits_in_threads_equal_sequential_fits_and_keep_the_callers_rng(
    iris, iris_forest
):
    X, y = iris
    models = [
        fast_distiller(iris_forest, random_state=seed, student__dropout=0.3)
        for seed in range(4)
    ]
    sequential = [clone(m).fit(X, y).predict_proba(X) for m in models]
    torch.manual_seed(123)
    state = torch.get_rng_state()
    threads_before = torch.get_num_threads()
    with ThreadPoolExecutor(4) as pool:
        fitted = list(
            pool.map(lambda m: clone(m).set_params(n_threads=1).fit(X, y), models)
        )
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.get_num_threads() == threads_before
    for model, expected in zip(fitted, sequential, strict=True):
        np.testing.assert_allclose(model.predict_proba(X), expected, atol=1e-6)


@pytest.mark.parametrize(
    "params, rows, labels, match",
    [
        ({"soft_target_weight": 0.0}, 50, "unlabelled", "every row is unlabelled"),
        ({"early_stopping": True}, 1, "labelled", "leaves none to train on"),
        (
            {"early_stopping": True, "validation_fraction": 0.99},
            50,
            "labelled",
            "leaves none to train on",
        ),
    ],
)
def test_training_on_nothing_is_an_error(
    iris, iris_forest, params, rows, labels, match
):
    X, y = iris
    order = np.random.default_rng(0).permutation(len(X))[:rows]
    y = y[order] if labels == "labelled" else np.full(rows, -1)
    with pytest.raises(ValueError, match=match):
        fast_distiller(iris_forest, **params).fit(X[order], y)


class NaNNet(torch.nn.Module):
    def __init__(self, n_features_in, n_classes):
        super().__init__()
        self.linear = torch.nn.Linear(n_features_in, n_classes)

    def forward(self, x):
        return self.linear(x) * float("nan")


def test_a_failed_refit_leaves_the_previous_model_whole(iris):
    X, y = iris
    model = fast_distiller(None, soft_target_weight=0.0).fit(X, y)
    before = model.predict_proba(X)
    binary = y < 2
    model.set_params(student=NaNNet, hidden_layer_sizes="auto")
    with pytest.raises(FloatingPointError):
        model.fit(X[binary], y[binary])
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    np.testing.assert_array_equal(model.predict_proba(X), before)
    unfitted = fast_distiller(None, soft_target_weight=0.0, student=NaNNet)
    unfitted.set_params(hidden_layer_sizes="auto")
    with pytest.raises(FloatingPointError):
        unfitted.fit(X, y)
    assert not hasattr(unfitted, "classes_") and not hasattr(unfitted, "student_")


class ScriptedTeacher(LogisticRegression):
    """A fitted teacher whose ``predict_proba`` returns what the test sets."""

    def __init__(self, output=None):
        super().__init__()
        self.output = output

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_features_in_ = X.shape[1]
        self.coef_ = np.zeros((len(self.classes_), X.shape[1]))
        return self

    def predict_proba(self, X):
        return np.asarray(self.output)[: len(X)]


@pytest.mark.parametrize(
    "make_output, match",
    [
        (lambda p: np.where(np.arange(len(p))[:, None] == 3, np.nan, p), "NaN"),
        (lambda p: p[:, :2], r"returned 2 columns.*3 classes \(\[0, 1, 2\]\)"),
        (lambda p: p * 4, r"outside \[0, 1\]"),
        (lambda p: p * 0.5, "do not sum to 1"),
    ],
)
def test_teacher_outputs_are_checked(iris, make_output, match):
    X, y = iris
    proba = np.full((len(X), 3), 1 / 3)
    teacher = ScriptedTeacher(make_output(proba)).fit(X, y)
    with pytest.raises(ValueError, match=f"ScriptedTeacher.*{match}"):
        fast_distiller(teacher, response_method="predict_proba").fit(X, y)


def test_teacher_predict_proba_checks_the_columns(iris):
    X, y = iris
    teacher = ScriptedTeacher(np.full((len(X), 3), 1 / 3)).fit(X, y)
    model = fast_distiller(teacher, response_method="predict_proba").fit(X, y)
    teacher.output = np.full((len(X), 2), 0.5)
    with pytest.raises(ValueError, match="returned 2 columns"):
        model.teacher_predict_proba(X)


class Untouchable(RandomForestClassifier):
    """A teacher that must never be fitted."""

    def fit(self, X, y, sample_weight=None):
        raise AssertionError("the teacher was fitted")


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"hidden_layer_sizes": (0,)}, ValueError, "positive integers"),
        ({"hidden_layer_sizes": (-5,)}, ValueError, "positive integers"),
        ({"hidden_layer_sizes": (8, 2.5)}, ValueError, "positive integers"),
        ({"device": "gpu"}, ValueError, "not a torch device"),
        ({"student__widht": 3}, TypeError, r"MLP does not take.*\['widht'\]"),
        ({"optimizer__momentun": 0.9}, TypeError, r"Adam does not take"),
        ({"student__hidden_layer_sizes": (8,)}, TypeError, "with hidden_layer_sizes"),
        ({"callbacks__nope__x": 1}, ValueError, "names no callback"),
    ],
)
def test_settings_are_checked_before_the_teacher_is_fitted(iris, params, error, match):
    with pytest.raises(error, match=match):
        fast_distiller(Untouchable(), **params).fit(*iris)


def test_hidden_layer_sizes_with_a_custom_student_is_an_error(iris):
    with pytest.raises(ValueError, match="default MLP only"):
        fast_distiller(Untouchable(), student=NaNNet, hidden_layer_sizes=(4,)).fit(
            *iris
        )


def test_nan_reaches_a_pipeline_teacher_that_imputes(iris):
    X, y = iris
    X = X.copy()
    X[::7, 1] = np.nan
    teacher = make_pipeline(SimpleImputer(), LogisticRegression(max_iter=500))
    model = fast_distiller(teacher).fit(X, y)
    assert model.score(X, y) > 0.9
    assert model.__sklearn_tags__().input_tags.allow_nan
    clean = fast_distiller(teacher).fit(np.nan_to_num(X), y)
    assert np.isfinite(clean.predict_proba(X)).all()


def test_a_teacher_that_refuses_nan_is_named(iris):
    X, y = iris
    X = X.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="teacher LogisticRegression refused the"):
        fast_distiller(LogisticRegression()).fit(X, y)
    fitted = LogisticRegression(max_iter=500).fit(np.nan_to_num(X), y)
    with pytest.raises(ValueError, match="refused the missing values"):
        fast_distiller(fitted).fit(X, y)
    model = fast_distiller(fitted).fit(np.nan_to_num(X), y)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(X)


@pytest.mark.parametrize(
    "teacher",
    [
        RandomForestClassifier(n_estimators=5),
        HistGradientBoostingClassifier(max_iter=5),
    ],
    ids=["forest", "hgb"],
)
def test_one_class_with_an_unfitted_probability_teacher(iris, teacher):
    X, y = iris
    with pytest.raises(ValueError, match="y has 1 class"):
        fast_distiller(teacher).fit(X[:40], y[:40])


def test_missing_string_column_and_array_after_frame(iris):
    pd = pytest.importorskip("pandas")
    from sklearn.compose import make_column_transformer
    from sklearn.preprocessing import OneHotEncoder

    X, y = iris
    frame = pd.DataFrame(X[:, :3], columns=["a", "b", "c"])
    frame["colour"] = np.array(["red", "green", "blue"])[y]
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["colour"]), remainder="passthrough"
    )
    teacher = make_pipeline(encode, RandomForestClassifier(n_estimators=5)).fit(
        frame, y
    )
    model = fast_distiller(teacher).fit(frame, y)
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now"):
        model.predict(frame.drop(columns="colour"))
    with pytest.raises(ValueError, match="without column names.*'colour'"):
        model.predict(frame.to_numpy())
    student = model.export_student()
    with pytest.raises(ValueError, match="without column names"):
        student.predict(frame.to_numpy())


def test_labels_minus_one_among_string_labels(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    teacher = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, names)
    partial = names.copy()
    partial[::3] = -1  # the integer -1 marks an unlabelled row
    model = fast_distiller(teacher).fit(X, partial)
    assert set(model.predict(X)) <= set(names)
    as_string = names.astype(str)
    as_string[::3] = "-1"
    with pytest.raises(ValueError, match="The string '-1' is a label like any other"):
        fast_distiller(teacher).fit(X, as_string)


def test_messages_show_plain_values(iris, iris_forest):
    X, y = iris
    with pytest.raises(ValueError) as caught:
        fast_distiller(iris_forest).fit(X, np.where(y == 2, 5, y))
    assert "np.int64" not in str(caught.value) and "[5]" in str(caught.value)
    model = fast_distiller(iris_forest).fit(X, y)
    with pytest.raises(ValueError) as caught:
        model.shift_logit_bias(7, 1.0)
    assert "np.int64" not in str(caught.value) and "[0, 1, 2]" in str(caught.value)


# -- the student behaves like a skorch net ---------------------------------------


def test_epoch_scoring_sees_the_labels(iris, iris_forest):
    from skorch.callbacks import EpochScoring

    X, y = iris
    model = fast_distiller(
        iris_forest,
        early_stopping=True,
        callbacks=[
            EpochScoring("accuracy", name="valid_acc"),
            EpochScoring(
                "accuracy", name="train_acc", on_train=True, use_caching=False
            ),
        ],
    ).fit(X, y)
    history = model.student_.history
    assert 0.8 < history[-1, "valid_acc"] <= 1.0
    assert 0.8 < history[-1, "train_acc"] <= 1.0


def test_checkpoint(iris, iris_forest, tmp_path):
    from skorch.callbacks import Checkpoint

    X, y = iris
    fast_distiller(
        iris_forest,
        early_stopping=True,
        callbacks=[Checkpoint(dirname=str(tmp_path / "valid"))],
    ).fit(X, y)
    assert (tmp_path / "valid" / "params.pt").exists()
    fast_distiller(
        iris_forest,
        callbacks=[
            Checkpoint(monitor="train_loss_best", dirname=str(tmp_path / "train"))
        ],
    ).fit(X, y)
    assert (tmp_path / "train" / "params.pt").exists()


def test_named_callback_parameters_route_through_set_params_and_grids(
    iris, iris_forest
):
    from skorch.callbacks import EpochScoring

    X, y = iris
    model = fast_distiller(
        iris_forest,
        max_epochs=2,
        callbacks=[("score", EpochScoring("accuracy", on_train=True))],
    )
    model.set_params(callbacks__score__name="train_accuracy")
    model.fit(X, y)
    assert "train_accuracy" in model.student_.history[-1]
    assert model.callbacks[0][1].name is None  # the given callback is untouched
    search = GridSearchCV(
        model, {"callbacks__score__lower_is_better": [True, False]}, cv=2
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 2
    model.set_params(callbacks__print_log__floatfmt=".2f").fit(X, y)


# -- conventions at the seams ----------------------------------------------------


def test_get_params_offers_no_teacher_parameters_of_a_fitted_teacher(iris_forest):
    fitted = DistilledClassifier(iris_forest).get_params(deep=True)
    assert not [key for key in fitted if key.startswith("teacher__")]
    unfitted = DistilledClassifier(RandomForestClassifier()).get_params(deep=True)
    assert "teacher__n_estimators" in unfitted


def test_a_validation_monitor_without_validation_is_an_error_before_any_work(iris):
    from skorch.callbacks import Checkpoint

    with pytest.raises(ValueError, match="monitors 'valid_loss_best'.*early_stopping"):
        fast_distiller(Untouchable(), callbacks=[Checkpoint()]).fit(*iris)

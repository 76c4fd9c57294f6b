"""Columns far from zero (a Unix timestamp) are centred in float64 before the
student's float32, on every path: training, both predict paths, the exported
student, its numpy file and ONNX."""

import warnings

import numpy as np
import pytest
from conftest import fast_distiller
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from sklearn_kd import DistilledRegressor, load_student
from sklearn_kd.serving._inference import NUMPY_MAX_ROWS
from sklearn_kd.student._input_offset import PRECISION, fit_offset, student_rows

START = 1.7e9  # seconds since 1970: float32 rounds it to steps of 128


@pytest.fixture(scope="module")
def timestamps():
    rng = np.random.default_rng(0)
    seconds = rng.uniform(-30, 30, size=600)
    X = np.c_[START + seconds, rng.normal(size=600)]
    y = (seconds > 0).astype(int)
    return X, y


def test_only_columns_that_float32_would_round_coarsely_are_shifted():
    rng = np.random.default_rng(0)
    X = np.c_[
        START + rng.uniform(-30, 30, 100),  # needs a shift
        1e6 + rng.normal(0, 1e5, 100),  # large, but float32 keeps it
        rng.normal(size=100),
        np.full(100, START),  # constant: the encoding drops it
    ]
    offset = fit_offset(X, np.zeros(4, dtype=bool))
    assert offset[0] == pytest.approx(START, abs=5)
    assert (offset[1:] == 0).all()
    assert fit_offset(X, np.array([True, False, False, False])) is None
    assert fit_offset(X[:, 1:3], np.zeros(2, dtype=bool)) is None
    centred = student_rows(X, offset)
    assert centred.dtype == np.float32
    assert len(np.unique(centred[:, 0])) == 100  # float32 of X keeps 1 or 2 values


def _offset_from_every_column(X, categorical):
    """fit_offset's rule applied to every column, with no shortcut.

    A constant column counts as constant even where float rounding gives it a
    deviation of a few ulps."""
    with warnings.catch_warnings():  # the all-NaN column
        warnings.simplefilter("ignore", RuntimeWarning)
        magnitude = np.nanmax(np.abs(X), axis=0)
        varies = np.nanmax(X, axis=0) > np.nanmin(X, axis=0)
        spread = np.nanstd(X, axis=0)
        mean = np.nanmean(X, axis=0)
    rounding = np.spacing(magnitude.astype(np.float32)).astype(np.float64)
    needed = (
        ~categorical & np.isfinite(magnitude) & varies & (rounding > PRECISION * spread)
    )
    return np.where(needed, mean, 0.0) if needed.any() else None


@pytest.mark.parametrize("seed", range(5))
def test_the_range_shortcut_decides_as_every_column_would(seed):
    rng = np.random.default_rng(seed)
    n_rows = rng.integers(2, 2_000)
    centre = 10.0 ** rng.uniform(-3, 10, size=40)
    scale = centre * 10.0 ** rng.uniform(-12, 0, size=40)
    X = centre + scale * rng.normal(size=(n_rows, 40))
    X[:, :3] = X[:1, :3]  # constant columns
    X[rng.random(X.shape) < 0.1] = np.nan
    X[:, 3] = np.nan  # an all-NaN column
    categorical = rng.random(40) < 0.1
    expected = _offset_from_every_column(X, categorical)
    offset = fit_offset(X, categorical)
    if expected is None:
        assert offset is None
    else:
        np.testing.assert_allclose(offset, expected, rtol=1e-12)


def test_a_timestamp_column_is_learnt(timestamps):
    X, y = timestamps
    forest = RandomForestClassifier(n_estimators=30, random_state=0).fit(X, y)
    model = fast_distiller(forest, max_epochs=60).fit(X, y)
    assert model.input_offset_ is not None
    assert model.score(X, y) > 0.9  # without the offset: about 0.5


def test_every_path_applies_the_offset(timestamps, tmp_path):
    X, y = timestamps
    forest = RandomForestClassifier(n_estimators=30, random_state=0).fit(X, y)
    model = fast_distiller(forest, max_epochs=60).fit(X, y)
    expected = model.predict_proba(X)  # the torch path (over NUMPY_MAX_ROWS rows)
    assert len(X) > NUMPY_MAX_ROWS
    small = np.vstack([model.predict_proba(X[i : i + 50]) for i in range(0, 600, 50)])
    np.testing.assert_allclose(small, expected, atol=1e-5)
    student = model.export_student()
    np.testing.assert_allclose(student.predict_proba(X), expected, atol=1e-5)
    loaded = load_student(student.save(tmp_path / "student.npz"))
    np.testing.assert_array_equal(loaded.input_offset, model.input_offset_)
    np.testing.assert_allclose(loaded.predict_proba(X), expected, atol=1e-5)

    ort = pytest.importorskip("onnxruntime")
    path = student.to_onnx(tmp_path / "student.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].type == "tensor(double)"
    (probabilities,) = session.run(None, {"X": X})
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)


def test_a_regressor_on_a_timestamp_column(timestamps):
    X, _ = timestamps
    y = X[:, 0] - START  # the seconds
    forest = RandomForestRegressor(n_estimators=30, random_state=0).fit(X, y)
    model = DistilledRegressor(
        forest, max_epochs=60, batch_size=32, lr=1e-2, random_state=0
    ).fit(X, y)
    assert model.input_offset_ is not None
    assert model.score(X, y) > 0.9


def test_ordinary_columns_need_no_offset(iris, iris_forest, tmp_path):
    X, y = iris
    model = fast_distiller(iris_forest).fit(X, y)
    assert model.input_offset_ is None
    student = model.export_student()
    assert student.input_offset is None
    pytest.importorskip("onnxruntime")
    import onnx

    graph = onnx.load(student.to_onnx(tmp_path / "s.onnx")).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_a_damaged_offset_is_refused(timestamps, tmp_path):
    import json

    X, y = timestamps
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    student = fast_distiller(forest, max_epochs=2).fit(X, y).export_student()
    arrays = dict(np.load(student.save(tmp_path / "student.npz")))
    meta = json.loads(arrays["__meta__"].item())
    meta["input_offset"] = ["x", 1.0]
    arrays["__meta__"] = np.array(json.dumps(meta))
    damaged = tmp_path / "damaged.npz"
    np.savez_compressed(damaged, **arrays)
    with pytest.raises(ValueError, match="input_offset"):
        load_student(damaged)


def test_skl2onnx_centres_in_float64_too(timestamps):
    skl2onnx = pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    from sklearn.pipeline import Pipeline

    from sklearn_kd import register_skl2onnx_converters

    X, y = timestamps
    forest = RandomForestClassifier(n_estimators=30, random_state=0).fit(X, y)
    student = fast_distiller(forest, max_epochs=60).fit(X, y).export_student()
    pipeline = Pipeline([("kd", student)])
    register_skl2onnx_converters()
    model = skl2onnx.to_onnx(pipeline, X[:1], options={"zipmap": False})
    session = ort.InferenceSession(model.SerializeToString())
    _, probabilities = session.run(None, {"X": X})
    np.testing.assert_allclose(probabilities, student.predict_proba(X), atol=1e-5)

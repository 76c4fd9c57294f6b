"""polars DataFrames: read as pandas ones are (through narwhals), and passed to the
teacher as they are, MUNGE rows included."""

import numpy as np
import pytest
from conftest import fast_distiller
from sklearn.compose import make_column_transformer
from sklearn.datasets import make_classification
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from sklearn_kd import DistilledClassifier, DistilledRegressor

pl = pytest.importorskip("polars")


def numeric_frame(n_rows=200):
    X, y = make_classification(n_rows, n_features=4, random_state=0)
    return pl.DataFrame(X, schema=["a", "b", "c", "d"]), y


def mixed_columns(n_rows=400):
    """Columns for a frame: two floats, a string column and its labels."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=n_rows)
    colour = rng.choice(["red", "green", "blue"], n_rows)
    y = ((x > 0) ^ (colour == "red")).astype(int)
    return {"x": x, "colour": colour, "z": rng.normal(size=n_rows)}, y


def one_hot_teacher(*steps):
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["colour"]), remainder="passthrough"
    )
    return make_pipeline(
        *steps, encode, RandomForestClassifier(n_estimators=20, random_state=0)
    )


@pytest.mark.parametrize("fitted", [False, True], ids=["unfitted", "fitted"])
def test_numeric_frame_with_default_settings(fitted):
    frame, y = numeric_frame()
    teacher = RandomForestClassifier(n_estimators=10, random_state=0)
    if fitted:
        teacher.fit(frame, y)
    model = DistilledClassifier(teacher, max_epochs=2, random_state=0).fit(frame, y)
    assert model.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    # The teacher was fitted on the frame itself, not on an array.
    assert model.teacher_.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    assert model.predict(frame).shape == (200,)
    assert model.export_student().predict(frame).shape == (200,)


def test_string_column_and_munge_rows_reach_the_teacher_as_polars_frames():
    columns, y = mixed_columns()
    frame = pl.DataFrame(columns).with_columns(pl.col("z").cast(pl.Float32))
    seen = []

    def record(X):
        seen.append((type(X), X.schema))
        return X

    teacher = one_hot_teacher(FunctionTransformer(record))
    model = fast_distiller(teacher, augment="munge", augment_factor=2).fit(frame, y)
    assert list(model.category_codes_.categories) == ["colour"]
    assert model.category_codes_.categories["colour"].tolist() == [
        "blue",
        "green",
        "red",
    ]
    # Fit, query, and the 800 MUNGE rows: polars frames with the fitted schema.
    assert len(seen) >= 3
    assert all(kind is pl.DataFrame and schema == frame.schema for kind, schema in seen)
    assert model.score(frame, y) > 0.9
    unseen = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("purple"))
        .otherwise(pl.col("colour"))
        .alias("colour")
    )
    assert model.predict(unseen).shape == (400,)
    student = model.export_student()
    np.testing.assert_array_equal(student.predict(frame), model.predict(frame))
    with pytest.raises(ValueError, match="colour"):
        model.predict(frame.drop("colour"))


@pytest.mark.parametrize("kind", ["categorical", "enum"])
def test_categorical_column_with_a_from_dtype_teacher(kind):
    columns, y = mixed_columns()
    dtype = (
        pl.Categorical if kind == "categorical" else pl.Enum(["red", "green", "blue"])
    )
    frame = pl.DataFrame(columns).with_columns(pl.col("colour").cast(dtype))
    teacher = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=20, random_state=0
    )
    model = fast_distiller(teacher, augment="munge", augment_factor=1).fit(frame, y)
    encoder = model.student_.module_.encoder
    assert encoder.category_column.tolist() == [1, 1, 1]
    assert model.teacher_.is_categorical_.tolist() == [False, True, False]
    assert model.score(frame, y) > 0.9


def test_set_output_polars_in_a_pipeline():
    X, y = make_classification(200, n_features=4, random_state=0)
    pipeline = Pipeline(
        [
            ("scale", StandardScaler().set_output(transform="polars")),
            ("kd", DistilledClassifier(RandomForestClassifier(10), max_epochs=2)),
        ]
    ).fit(X, y)
    assert pipeline[-1].feature_names_in_.tolist() == ["x0", "x1", "x2", "x3"]
    assert pipeline.predict(X).shape == (200,)


def test_regressor_on_a_frame_with_a_string_column():
    columns, _ = mixed_columns()
    y = columns["x"] * 2 + (columns["colour"] == "red")
    frame = pl.DataFrame(columns)
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["colour"]), remainder="passthrough"
    )
    teacher = make_pipeline(encode, RandomForestRegressor(20, random_state=0))
    model = DistilledRegressor(teacher, max_epochs=2, random_state=0).fit(frame, y)
    assert model.feature_names_in_.tolist() == ["x", "colour", "z"]
    predictions = model.predict(frame)
    assert predictions.shape == (400,)
    np.testing.assert_allclose(
        model.export_student().predict(frame), predictions, rtol=1e-5, atol=1e-5
    )


def test_predictions_equal_those_of_the_same_pandas_frame():
    pd = pytest.importorskip("pandas")
    columns, y = mixed_columns()
    polars_frame, pandas_frame = pl.DataFrame(columns), pd.DataFrame(columns)
    params = dict(augment="munge", augment_factor=1)
    on_polars = fast_distiller(one_hot_teacher(), **params).fit(polars_frame, y)
    on_pandas = fast_distiller(one_hot_teacher(), **params).fit(pandas_frame, y)
    np.testing.assert_allclose(
        on_polars.predict_proba(polars_frame), on_pandas.predict_proba(pandas_frame)
    )
    # The student reads either library's frame the same way.
    np.testing.assert_allclose(
        on_polars.predict_proba(pandas_frame), on_polars.predict_proba(polars_frame)
    )


def test_onnx_export_of_a_student_fitted_on_polars(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    columns, y = mixed_columns()
    frame = pl.DataFrame(columns)
    student = fast_distiller(one_hot_teacher()).fit(frame, y).export_student()
    session = ort.InferenceSession(str(student.to_onnx(tmp_path / "student.onnx")))
    assert [i.name for i in session.get_inputs()] == ["x", "colour", "z"]
    feeds = {
        "x": frame["x"].to_numpy().astype(np.float32).reshape(-1, 1),
        "colour": frame["colour"].to_numpy().astype(object).reshape(-1, 1),
        "z": frame["z"].to_numpy().astype(np.float32).reshape(-1, 1),
    }
    (probabilities,) = session.run(None, feeds)
    np.testing.assert_allclose(probabilities, student.predict_proba(frame), atol=1e-5)

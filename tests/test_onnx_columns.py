"""ONNX export of students trained on DataFrames: integer column labels, column
names that meet the graph's own names, and the skl2onnx converter."""

import json

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OrdinalEncoder, StandardScaler

from sklearn_kd import DistilledClassifier, DistilledRegressor

pd = pytest.importorskip("pandas")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

FAST = dict(
    max_epochs=2,
    soft_target_weight=0.5,
    encoding="standard",
    augment=None,
    random_state=0,
)


def string_encoder(frame):
    # By position: a ColumnTransformer reads integer labels as positions.
    strings = [i for i, dtype in enumerate(frame.dtypes) if dtype.kind not in "fiu"]
    return ColumnTransformer(
        [("codes", OrdinalEncoder(), strings)], remainder="passthrough"
    )


def frame_and_teacher(y, frame, string_column):
    frame[string_column] = np.where(y == 1, "a", "b")
    teacher = make_pipeline(
        string_encoder(frame), RandomForestClassifier(20, random_state=0)
    )
    return frame, teacher.fit(frame, y)


def onnx_outputs(path, frame):
    session = ort.InferenceSession(str(path))
    feeds = {}
    for graph_input, column in zip(session.get_inputs(), frame.columns, strict=True):
        values = frame[column].to_numpy().reshape(-1, 1)
        string = graph_input.type == "tensor(string)"
        feeds[graph_input.name] = values.astype(object if string else np.float32)
    return session, session.run(None, feeds)[0]


def test_integer_column_labels_export_with_inputs_named_by_position(tmp_path):
    X, y = make_classification(300, n_features=6, random_state=0)
    frame, teacher = frame_and_teacher(y, pd.DataFrame(X), 6)
    student = DistilledClassifier(teacher, **FAST).fit(frame, y).export_student()
    path = student.to_onnx(tmp_path / "student.onnx")
    session, probabilities = onnx_outputs(path, frame)
    assert [i.name for i in session.get_inputs()] == [str(c) for c in range(7)]
    assert session.get_inputs()[6].type == "tensor(string)"
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    np.testing.assert_allclose(probabilities, student.predict_proba(frame), atol=1e-5)
    metadata = session.get_modelmeta().custom_metadata_map
    assert json.loads(metadata["sklearn_kd.inputs"])[6] == {
        "name": "6",
        "type": "string",
    }


@pytest.mark.parametrize(
    "labels, string_label",
    [([3, 0, 1, 5, 4, 2], 6), (list(range(1, 7)), 0), ([10, 20, 30, 40, 50, 60], 7)],
    ids=["shuffled", "shifted", "sparse"],
)
def test_integer_labels_that_are_not_positions_export_with_inputs_named_by_label(
    tmp_path, labels, string_label
):
    X, y = make_classification(300, n_features=6, random_state=0)
    frame = pd.DataFrame(X, columns=labels)
    frame, teacher = frame_and_teacher(y, frame, string_label)
    model = DistilledClassifier(teacher, **FAST).fit(frame, y)
    assert model.category_codes_.columns == [*labels, string_label]
    student = model.export_student()
    session = ort.InferenceSession(str(student.to_onnx(tmp_path / "student.onnx")))
    names = [str(label) for label in frame.columns]
    assert [i.name for i in session.get_inputs()] == names
    # Fed by name, in another order than the graph's: each reaches its column.
    feeds = {
        str(label): frame[label].to_numpy().reshape(-1, 1).astype(np.float32)
        for label in reversed(labels)
    }
    feeds[str(string_label)] = frame[[string_label]].to_numpy().astype(object)
    (probabilities,) = session.run(None, feeds)
    np.testing.assert_allclose(probabilities, student.predict_proba(frame), atol=1e-5)
    metadata = session.get_modelmeta().custom_metadata_map
    assert [item["name"] for item in json.loads(metadata["sklearn_kd.inputs"])] == (
        names
    )


def test_unrecorded_integer_labels_that_are_not_positions_are_refused(tmp_path):
    # A student whose coding lacks the frame's labels (pickled by an older
    # version) names the inputs by position, which this frame contradicts.
    from sklearn_kd._categorical import CategoryCodes

    X, y = make_classification(300, n_features=6, random_state=0)
    frame, teacher = frame_and_teacher(y, pd.DataFrame(X, columns=range(1, 7)), 0)
    student = DistilledClassifier(teacher, **FAST).fit(frame, y).export_student()
    student.category_codes = CategoryCodes(student.category_codes.categories)
    with pytest.raises(ValueError, match=r"string column labels.*astype\(str\)"):
        student.to_onnx(tmp_path / "student.onnx")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "taken", ["X", "probabilities", "sklearn_kd_front_X", "sklearn_kd_net_X"]
)
def test_columns_named_like_the_graph_names_export(tmp_path, taken):
    X, y = make_classification(300, n_features=5, random_state=0)
    columns = [taken, "f1", "f2", "f3", "f4"]
    frame, teacher = frame_and_teacher(y, pd.DataFrame(X, columns=columns), "s")
    student = DistilledClassifier(teacher, **FAST).fit(frame, y).export_student()
    path = student.to_onnx(tmp_path / "student.onnx")
    session, probabilities = onnx_outputs(path, frame)
    assert [i.name for i in session.get_inputs()] == [*columns, "s"]
    expected = "probabilities_1" if taken == "probabilities" else "probabilities"
    assert [o.name for o in session.get_outputs()] == [expected]
    np.testing.assert_allclose(probabilities, student.predict_proba(frame), atol=1e-5)


def test_regressor_column_named_predictions_exports(tmp_path):
    X, y = make_regression(300, n_features=4, random_state=0)
    frame = pd.DataFrame(X, columns=["predictions", "X", "f2", "f3"])
    frame["s"] = np.where(y > 0, "a", "b")
    teacher = make_pipeline(string_encoder(frame), Ridge()).fit(frame, y)
    params = {key: value for key, value in FAST.items() if key != "encoding"}
    student = DistilledRegressor(teacher, **params).fit(frame, y).export_student()
    path = student.to_onnx(tmp_path / "student.onnx")
    session, predictions = onnx_outputs(path, frame)
    assert [o.name for o in session.get_outputs()] == ["predictions_1"]
    np.testing.assert_allclose(
        predictions[:, 0], student.predict(frame), rtol=1e-4, atol=1e-3
    )


def test_skl2onnx_converts_a_pipeline_ending_in_a_student():
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn_kd.serving._skl2onnx import register_skl2onnx_converters

    X, y = make_classification(300, n_features=5, random_state=0)
    scaler = StandardScaler().fit(X)
    scaled = scaler.transform(X)
    teacher = LogisticRegression().fit(scaled, y)
    student = DistilledClassifier(teacher, **FAST).fit(scaled, y).export_student()
    pipeline = Pipeline([("scale", scaler), ("kd", student)])
    register_skl2onnx_converters()
    model = skl2onnx.to_onnx(
        pipeline, X[:1].astype(np.float32), options={"zipmap": False}
    )
    session = ort.InferenceSession(model.SerializeToString())
    label, probabilities = session.run(None, {"X": X.astype(np.float32)})
    np.testing.assert_allclose(probabilities, pipeline.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(label, pipeline.predict(X))


def test_skl2onnx_converts_a_regressor_pipeline_on_float64_input():
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn_kd.serving._skl2onnx import register_skl2onnx_converters

    X, y = make_regression(300, n_features=5, n_targets=2, random_state=0)
    scaler = StandardScaler().fit(X)
    scaled = scaler.transform(X)
    params = {key: value for key, value in FAST.items() if key != "encoding"}
    teacher = Ridge().fit(scaled, y)
    student = DistilledRegressor(teacher, **params).fit(scaled, y).export_student()
    pipeline = Pipeline([("scale", scaler), ("kd", student)])
    register_skl2onnx_converters()
    model = skl2onnx.to_onnx(pipeline, X[:1])
    (predictions,) = ort.InferenceSession(model.SerializeToString()).run(None, {"X": X})
    assert predictions.dtype == np.float64
    np.testing.assert_allclose(predictions, pipeline.predict(X), atol=1e-3)

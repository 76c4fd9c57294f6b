"""Serving the student: the numpy path, the lean input checks, the numpy file
format (loaded without torch) and ONNX files for DataFrames."""

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from conftest import fast_distiller
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from sklearn_kd import DistilledRegressor, StudentClassifier, load_student
from sklearn_kd.serving._inference import NUMPY_MAX_ROWS, StudentInference
from sklearn_kd.student._network import predict_logits


@pytest.fixture(scope="module")
def mixed(cancer):
    """Breast-cancer rows with NaN in one column and a categorical column."""
    X, y = cancer
    X = X.copy()
    X[::7, 3] = np.nan
    X[:, 0] = np.digitize(X[:, 0], [10, 13, 16, 19])
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    return X, y, forest


@pytest.mark.parametrize("encoding", ["standard", "piecewise_linear"])
def test_numpy_path_matches_torch(mixed, encoding):
    X, y, forest = mixed
    model = fast_distiller(forest, encoding=encoding, categorical_features=[0])
    model.fit(X, y).shift_logit_bias(1, 0.7)
    module = model.student_.module_
    rows = X[:NUMPY_MAX_ROWS].astype(np.float32)
    rows[0, 3], rows[1, 0] = np.nan, 99.0  # a missing value, an unseen category
    numpy_logits = StudentInference(module)._numpy_network()(rows)
    torch_logits = predict_logits(module, rows, device="cpu")
    np.testing.assert_allclose(numpy_logits, torch_logits, atol=1e-6, rtol=1e-6)
    proba = model.predict_proba(rows)
    np.testing.assert_allclose(
        proba[:5],
        model.predict_proba(np.repeat(rows[:5], 300, axis=0))[::300],
        atol=1e-6,
    )


@pytest.mark.parametrize("hidden", [(), (16, 8)])
@pytest.mark.parametrize("task", ["classifier", "regressor"])
def test_numpy_path_matches_torch_on_plain_numeric_columns(cancer, hidden, task):
    """All-numeric columns take the fused first layer; a regressor's output
    scale is not one; a network without hidden layers fuses its only layer."""
    X, y = cancer
    if task == "classifier":
        model = fast_distiller(None, hidden_layer_sizes=hidden, soft_target_weight=0)
    else:
        model = DistilledRegressor(
            None,
            hidden_layer_sizes=hidden,
            soft_target_weight=0,
            encoding="standard",
            augment=None,
            max_epochs=2,
            random_state=0,
        )
        y = X[:, 1] * 3.0 + 10.0
    model.fit(X, y)
    if task == "classifier":
        model.shift_logit_bias(1, 0.7)  # an output shift the fused layer must keep
    module = model.student_.module_
    network = StudentInference(module)._numpy_network()
    assert network._fill is not None  # the fused path is the one under test
    rows = X[:20].astype(np.float32)
    np.testing.assert_allclose(
        network(rows), predict_logits(module, rows, device="cpu"), rtol=1e-6, atol=1e-5
    )


def test_the_numpy_path_sees_a_later_logit_bias_shift(mixed):
    X, y, forest = mixed
    model = fast_distiller(forest).fit(X, y)
    before = model.predict_proba(X[:3])
    model.shift_logit_bias(0, 5.0)
    assert (model.predict_proba(X[:3])[:, 0] > before[:, 0]).all()


class Wide(torch.nn.Module):
    def __init__(self, n_features_in, n_classes):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(n_features_in, 8),
            torch.nn.Tanh(),
            torch.nn.Linear(8, n_classes),
        )

    def forward(self, x):
        return self.body(x)


def test_custom_modules_keep_the_torch_path(mixed, tmp_path):
    X, y, forest = mixed
    model = fast_distiller(forest, student=Wide, hidden_layer_sizes="auto").fit(X, y)
    inference = StudentInference(model.student_.module_)
    assert inference._numpy_network() is None
    expected = predict_logits(
        model.student_.module_, X[:2].astype(np.float32), device="cpu"
    )
    np.testing.assert_allclose(inference.logits(X[:2].astype(np.float32)), expected)
    with pytest.raises(TypeError, match="default MLP"):
        model.export_student().save(tmp_path / "student.npz")


def test_the_lean_input_path_keeps_the_errors(iris, iris_forest):
    X, y = iris
    model = fast_distiller(LogisticTeacher(), soft_target_weight=0.5).fit(X, y)
    student = model.export_student()
    for estimator in (model, student):
        with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 4"):
            estimator.predict(X[:1, :3])
        with pytest.raises(ValueError, match="NaN"):
            estimator.predict(np.array([[np.nan, 1.0, 1.0, 1.0]]))
        with pytest.raises(ValueError, match="infinity"):
            estimator.predict(np.array([[np.inf, 1.0, 1.0, 1.0]]))
        np.testing.assert_array_equal(
            estimator.predict(X[:5].tolist()), estimator.predict(X[:5])
        )
        np.testing.assert_array_equal(
            estimator.predict(X[:5].astype(np.float32)), estimator.predict(X[:5])
        )


class LogisticTeacher(RandomForestClassifier):
    """A teacher that refuses NaN, so its student does too."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def test_save_and_load_round_trip(mixed, tmp_path):
    X, y, forest = mixed
    student = (
        fast_distiller(forest, categorical_features=[0]).fit(X, y).export_student()
    )
    path = student.save(tmp_path / "student.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student.npz"]
    loaded = load_student(path)
    np.testing.assert_allclose(
        loaded.predict_proba(X), student.predict_proba(X), atol=1e-6
    )
    np.testing.assert_array_equal(loaded.classes_, student.classes_)
    with np.load(path, allow_pickle=False) as stored:  # arrays only, no pickles
        assert "__meta__" in stored.files


def test_save_and_load_a_dataframe_student(tmp_path):
    pd = pytest.importorskip("pandas")
    frame, y = _frame(pd)
    labels = np.array(["no", "yes"])[y]
    teacher = _frame_teacher().fit(frame, labels)
    student = fast_distiller(teacher).fit(frame, labels).export_student()
    loaded = load_student(student.save(tmp_path / "student.npz"))
    np.testing.assert_array_equal(loaded.feature_names_in_, frame.columns)
    np.testing.assert_allclose(
        loaded.predict_proba(frame), student.predict_proba(frame), atol=1e-6
    )
    assert set(loaded.predict(frame)) <= {"no", "yes"}
    with pytest.raises(ValueError, match="same order"):
        loaded.predict(frame[frame.columns[::-1]])


def test_load_student_works_where_torch_cannot_be_imported(mixed, tmp_path):
    X, y, forest = mixed
    student = fast_distiller(forest).fit(X, y).export_student()
    path = student.save(tmp_path / "student.npz")
    np.save(tmp_path / "rows.npy", X[:10])
    script = (
        "import sys\n"
        "class NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ImportError('torch cannot be imported here')\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "import numpy as np, sklearn_kd\n"
        f"student = sklearn_kd.load_student({str(path)!r})\n"
        f"print(student.predict_proba(np.load({str(tmp_path / 'rows.npy')!r})).tolist())\n"
        "assert 'torch' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(
        json.loads(done.stdout), student.predict_proba(X[:10]), atol=1e-6
    )


def rewrite_meta(path, change):
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    meta = json.loads(str(arrays["__meta__"]))
    change(meta, arrays)
    arrays["__meta__"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


def test_newer_corrupted_and_foreign_files_are_refused(mixed, tmp_path):
    X, y, forest = mixed
    student = fast_distiller(forest).fit(X, y).export_student()
    newer = student.save(tmp_path / "newer.npz")
    rewrite_meta(newer, lambda meta, arrays: meta.update(format_version=99))
    with pytest.raises(ValueError, match="format version 99.*upgrade sklearn-kd"):
        load_student(newer)
    damaged = student.save(tmp_path / "damaged.npz")
    rewrite_meta(damaged, lambda meta, arrays: arrays.pop("layer1/weight"))
    with pytest.raises(ValueError, match="damaged"):
        load_student(damaged)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(student.save(tmp_path / "whole.npz").read_bytes()[:200])
    with pytest.raises(ValueError, match="not a readable"):
        load_student(truncated)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(3))
    with pytest.raises(ValueError, match="not a sklearn-kd student file"):
        load_student(foreign)
    assert zipfile.is_zipfile(tmp_path / "whole.npz")


def _frame(pd):
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "size": rng.choice(["S", "M", "L", "XL"], n).astype(object),
            "income": rng.normal(size=n),
        }
    )
    frame.loc[::11, "income"] = np.nan
    frame.loc[::13, "size"] = np.nan
    y = ((frame.age > 40) ^ (frame.colour == "red")).astype(int).to_numpy()
    return frame, y


def _frame_teacher():
    from sklearn.ensemble import HistGradientBoostingClassifier

    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["colour", "size"]),
        remainder="passthrough",
    )
    return make_pipeline(encode, HistGradientBoostingClassifier(max_iter=30))


def test_onnx_takes_dataframe_columns_as_they_are(tmp_path):
    pd = pytest.importorskip("pandas")
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import onnx

    frame, y = _frame(pd)
    teacher = _frame_teacher().fit(frame, y)
    student = fast_distiller(teacher).fit(frame, y).export_student()
    path = student.to_onnx(tmp_path / "student.onnx")
    session = ort.InferenceSession(str(path))
    metadata = session.get_modelmeta().custom_metadata_map
    inputs = json.loads(metadata["sklearn_kd.inputs"])
    assert [item["name"] for item in inputs] == list(frame.columns)
    assert json.loads(metadata["sklearn_kd.feature_names"]) == list(frame.columns)
    assert json.loads(metadata["sklearn_kd.classes"]) == [0, 1]
    assert set(json.loads(metadata["sklearn_kd.category_codes"])) == {
        "colour",
        "size",
    }
    # Both files take the shared facts, under the same keys, from one description.
    student.save(tmp_path / "student.npz")
    with np.load(tmp_path / "student.npz") as archive:
        description = json.loads(str(archive["__meta__"]))
    assert metadata["sklearn_kd.kind"] == description["kind"]
    for key in ("classes", "feature_names", "category_codes"):
        assert json.loads(metadata[f"sklearn_kd.{key}"]) == description[key], key
    unseen = frame.copy()
    unseen.loc[0, "colour"] = "purple"
    for rows in (frame, unseen[:1]):
        feed = {
            item["name"]: rows[[item["name"]]].astype(str).to_numpy()
            if item["type"] == "string"
            else rows[[item["name"]]].to_numpy(np.float32)
            for item in inputs
        }
        (proba,) = session.run(None, feed)
        np.testing.assert_allclose(proba, student.predict_proba(rows), atol=1e-5)
    assert onnx.load(path).metadata_props


def test_onnx_of_a_numeric_student_keeps_one_input(mixed, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    X, y, forest = mixed
    student = (
        fast_distiller(forest, categorical_features=[0]).fit(X, y).export_student()
    )
    loaded = load_student(student.save(tmp_path / "student.npz"))
    session = ort.InferenceSession(str(loaded.to_onnx(tmp_path / "student.onnx")))
    assert [i.name for i in session.get_inputs()] == ["X"]
    (proba,) = session.run(None, {"X": X.astype(np.float32)})
    np.testing.assert_allclose(proba, student.predict_proba(X), atol=1e-5)
    assert isinstance(loaded, StudentClassifier)


def test_save_errors_name_the_users_path(mixed, tmp_path):
    X, y, forest = mixed
    student = fast_distiller(forest).fit(X, y).export_student()
    target = tmp_path / "missing-folder" / "student.npz"
    with pytest.raises(FileNotFoundError) as error:
        student.save(target)
    assert str(target) in str(error.value)
    assert ".tmp" not in str(error.value)

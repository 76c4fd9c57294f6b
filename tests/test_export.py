"""The exported student: standalone, small, picklable, ONNX-exportable."""

import pickle

import numpy as np
import pytest
from conftest import fast_distiller
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier

from sklearn_kd import StudentClassifier


@pytest.fixture(scope="module")
def distilled(cancer):
    X, y = cancer
    X = X.copy()
    X[::9, 4] = np.nan
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y)
    return forest, fast_distiller(forest).fit(X, y), X


def test_export_holds_no_teacher_and_predicts_the_same(distilled):
    forest, model, X = distilled
    student = model.export_student()
    assert isinstance(student, StudentClassifier)
    payload = pickle.dumps(student)
    assert b"RandomForest" not in payload
    assert len(payload) * 10 < len(pickle.dumps(forest))
    np.testing.assert_allclose(
        student.predict_proba(X), model.predict_proba(X), atol=1e-7
    )
    np.testing.assert_array_equal(student.predict(X), model.predict(X))
    restored = pickle.loads(payload)
    np.testing.assert_array_equal(restored.predict_proba(X), student.predict_proba(X))
    assert student.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(clone(student).predict(X), student.predict(X))


def test_export_is_a_copy(distilled):
    _, model, X = distilled
    student = model.export_student()
    student.shift_logit_bias(1, 5.0)
    assert (student.predict(X) == 1).mean() > (model.predict(X) == 1).mean()


def test_export_rejects_wrong_feature_count(distilled):
    _, model, X = distilled
    with pytest.raises(ValueError, match="expecting 30"):
        model.export_student().predict(X[:, :5])


@pytest.mark.parametrize("encoding", ["standard", "piecewise_linear"])
def test_onnx_export_reproduces_predict_proba(cancer, tmp_path, encoding):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    X, y = cancer
    X = X.copy()
    X[::9, 4] = np.nan
    X[:, 0] = np.digitize(X[:, 0], [10, 13, 16, 19])  # a categorical column
    forest = RandomForestClassifier(n_estimators=30, random_state=0).fit(X, y)
    model = fast_distiller(forest, encoding=encoding, categorical_features=[0])
    student = model.fit(X, y).shift_logit_bias(1, 0.5).export_student()
    path = tmp_path / "student.onnx"
    student.to_onnx(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student.onnx"]
    session = ort.InferenceSession(str(path))
    for rows in (X[:1], X):
        (proba,) = session.run(None, {"X": rows.astype(np.float32)})
        np.testing.assert_allclose(proba, student.predict_proba(rows), atol=1e-5)


def test_onnx_export_prints_nothing(distilled, tmp_path, capfd):
    pytest.importorskip("onnxscript")
    _, model, _ = distilled
    model.export_student().to_onnx(tmp_path / "student.onnx")
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize("failing_step", ["torch export", "final save"])
def test_a_failed_onnx_export_leaves_no_partial_file_and_keeps_the_old_one(
    distilled, tmp_path, monkeypatch, failing_step
):
    pytest.importorskip("onnxscript")
    import onnx
    import torch

    _, model, _ = distilled
    target = tmp_path / "student.onnx"
    target.write_bytes(b"the previous model")

    def write_half_and_fail(path):
        with open(path, "wb") as partial:
            partial.write(b"half a model")
        raise OSError(28, "No space left on device")

    if failing_step == "torch export":
        monkeypatch.setattr(
            torch.onnx,
            "export",
            lambda model, args, path, **kw: write_half_and_fail(path),
        )
    else:  # the graph is built; writing it beside the target fails
        monkeypatch.setattr(
            onnx, "save_model", lambda model, path, *a, **kw: write_half_and_fail(path)
        )
    with pytest.raises(OSError, match="No space left"):
        model.export_student().to_onnx(target)
    assert target.read_bytes() == b"the previous model"
    assert [path.name for path in tmp_path.iterdir()] == ["student.onnx"]

"""Scale-out: a search on a Dask cluster, shared teachers, parallel teacher queries."""

import importlib
import os
import pickle

import joblib
import numpy as np
import pytest
from conftest import fast_distiller
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV

from sklearn_kd import SharedTeacher
from sklearn_kd.teacher._adapters import query_teacher
from sklearn_kd.teacher._fingerprint import remembered_fingerprint
from sklearn_kd.teacher._shared import _load_shared_teacher


class FitCountingForest(RandomForestClassifier):
    """A forest that appends a line to ``log_path`` whenever it is fitted."""

    def __init__(self, log_path=None, n_estimators=100, random_state=None):
        super().__init__(n_estimators=n_estimators, random_state=random_state)
        self.log_path = log_path

    def fit(self, X, y, sample_weight=None):
        with open(self.log_path, "a") as log:
            log.write("fit\n")
        return super().fit(X, y, sample_weight=sample_weight)


def test_shared_teacher_pickles_as_a_reference_loaded_once(iris, iris_forest, tmp_path):
    teacher = SharedTeacher(iris_forest, tmp_path)
    payload = pickle.dumps(teacher)
    assert len(payload) < 1000 < len(pickle.dumps(iris_forest))
    first, second = pickle.loads(payload), pickle.loads(payload)
    assert first is second  # one load per process
    X, y = iris
    np.testing.assert_array_equal(first.predict_proba(X), iris_forest.predict_proba(X))
    model = fast_distiller(teacher).fit(X, y)
    assert model.teacher_ is teacher and model.score(X, y) > 0.9
    assert len(list(tmp_path.glob("teacher-*.joblib"))) == 1


class MakesFolder:
    """Unpickles by calling ``os.mkdir(path)``: code a crafted file would run."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path,)


@pytest.mark.parametrize("replacement", ["another teacher", "code", "damaged"])
def test_a_changed_shared_teacher_file_is_refused(
    replacement, iris, iris_forest, tmp_path
):
    payload = pickle.dumps(SharedTeacher(iris_forest, tmp_path / "shared"))
    (path,) = (tmp_path / "shared").glob("teacher-*.joblib")
    marker = tmp_path / "code-ran"
    if replacement == "another teacher":
        joblib.dump(RandomForestClassifier(n_estimators=2).fit(*iris), path)
    elif replacement == "code":
        joblib.dump(MakesFolder(str(marker)), path)
    else:
        path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(pickle.UnpicklingError) as error:
        pickle.loads(payload)
    assert f"file {path} was changed since it was written" in str(error.value)
    assert not marker.exists()


def test_a_shared_teacher_reference_without_a_digest_is_refused(iris_forest, tmp_path):
    teacher = SharedTeacher(iris_forest, tmp_path)
    _, (path, location, _) = teacher.__reduce__()
    with pytest.raises(pickle.UnpicklingError, match="carries no SHA-256"):
        _load_shared_teacher(path, location)


def test_the_fingerprint_is_paid_once_per_teacher_state(iris, monkeypatch):
    from sklearn_kd.teacher import _fingerprint

    X, y = iris
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    calls = []
    original = _fingerprint.fingerprint
    monkeypatch.setattr(
        _fingerprint, "fingerprint", lambda obj: calls.append(1) or original(obj)
    )
    first = remembered_fingerprint(forest)
    assert remembered_fingerprint(forest) == first and len(calls) == 1
    forest.fit(X[::2], y[::2])  # a refit
    assert remembered_fingerprint(forest) != first and len(calls) == 2
    forest.set_params(max_depth=2)
    remembered_fingerprint(forest)
    assert len(calls) == 3


def test_parallel_teacher_queries_equal_a_sequential_query(iris, iris_forest):
    X, _ = iris
    sequential = query_teacher(iris_forest, X, "predict_proba", batch_size=7)
    parallel = query_teacher(iris_forest, X, "predict_proba", batch_size=7, n_jobs=2)
    np.testing.assert_array_equal(parallel, sequential)


@pytest.mark.slow
def test_grid_search_on_a_dask_cluster_equals_the_sequential_search(iris, tmp_path):
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_config

    X, y = iris
    log = tmp_path / "fits.log"
    forest = FitCountingForest(str(log), n_estimators=30, random_state=0).fit(X, y)
    log.write_text("")
    grid = {"temperature": [1.0, 2.0], "soft_target_weight": [0.5, 0.9]}
    model = fast_distiller(
        SharedTeacher(forest, tmp_path / "shared"),
        max_epochs=5,
        n_threads=1,
        memory=str(tmp_path / "cache"),
    )
    sequential = GridSearchCV(model, grid, cv=3).fit(X, y)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with parallel_config(backend="dask"):
            on_dask = GridSearchCV(model, grid, cv=3, n_jobs=-1).fit(X, y)
        loaded = client.run(
            lambda: len(importlib.import_module("sklearn_kd.teacher._shared")._LOADED)
        )
    for column in ("mean_test_score", "split0_test_score", "split2_test_score"):
        np.testing.assert_allclose(
            on_dask.cv_results_[column], sequential.cv_results_[column], atol=1e-6
        )
    assert log.read_text() == ""  # the fitted teacher was never refitted
    assert all(count <= 1 for count in loaded.values())
    best = pickle.loads(pickle.dumps(on_dask.best_estimator_))
    np.testing.assert_array_equal(best.predict_proba(X), on_dask.predict_proba(X))


def test_sharded_batches_split_each_epoch_between_processes():
    import torch

    from sklearn_kd.student._skorch_net import RowTensors, TensorBatches

    rows = RowTensors(torch.arange(10, dtype=torch.float32)[:, None])
    shards = [
        TensorBatches(
            rows,
            2,
            shuffle=True,
            generator=torch.Generator().manual_seed(0),
            num_shards=2,
            shard=shard,
        )
        for shard in (0, 1)
    ]
    seen = [
        torch.cat([x for x, _ in shard]).long().ravel().tolist() for shard in shards
    ]
    assert len(seen[0]) == len(seen[1]) == 5 == 2 * len(shards[0]) - 1
    assert not set(seen[0]) & set(seen[1])


def test_accelerate_on_one_process_equals_the_plain_path(iris, iris_forest):
    pytest.importorskip("accelerate")
    X, y = iris
    plain = fast_distiller(iris_forest, early_stopping=True).fit(X, y)
    model = fast_distiller(iris_forest, early_stopping=True, accelerate=True).fit(X, y)
    np.testing.assert_allclose(
        model.predict_proba(X), plain.predict_proba(X), atol=1e-6
    )
    assert type(model.student_) is type(plain.student_)
    assert "valid_loss" in model.student_.history[-1]
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    np.testing.assert_allclose(
        model.export_student().predict_proba(X), model.predict_proba(X), atol=1e-7
    )
    assert (
        fast_distiller(iris_forest, accelerate={"cpu": True}).fit(X, y).score(X, y)
        > 0.9
    )

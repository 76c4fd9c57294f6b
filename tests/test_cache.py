"""The teacher-output cache (``memory``) and the content fingerprints it keys on."""

import pickle

import numpy as np
import torch
from conftest import fast_distiller
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV
from skorch import NeuralNetClassifier

from sklearn_kd.teacher._fingerprint import fingerprint


class CallLoggingForest(RandomForestClassifier):
    """A forest that appends one line to ``log_path_`` per predict_proba call.

    A file, not an attribute, because grid-search workers are other processes.
    """

    def predict_proba(self, X):
        with open(self.log_path_, "a") as log:
            log.write(f"{len(X)}\n")
        return super().predict_proba(X)


def logging_forest(X, y, log_path):
    forest = CallLoggingForest(n_estimators=10, random_state=0).fit(X, y)
    forest.log_path_ = str(log_path)
    log_path.write_text("")
    return forest


def calls(log_path):
    return len(log_path.read_text().split())


def test_grid_search_queries_the_teacher_once_per_fold(iris, tmp_path):
    X, y = iris
    log = tmp_path / "calls.txt"
    forest = logging_forest(X, y, log)
    grid = {"temperature": [1.0, 2.0, 4.0, 8.0], "soft_target_weight": [0.5, 0.9]}
    model = fast_distiller(forest, max_epochs=2, memory=str(tmp_path / "cache"))
    GridSearchCV(model, grid, cv=5).fit(X, y)
    assert calls(log) == 5 + 1  # one per fold, one for the refit on all rows

    log.write_text("")
    GridSearchCV(fast_distiller(forest, max_epochs=2), grid, cv=5).fit(X, y)
    assert calls(log) == 8 * 5 + 1


def test_an_unpickled_teacher_hits_the_cache_in_worker_processes(iris, tmp_path):
    X, y = iris
    log = tmp_path / "calls.txt"
    forest = logging_forest(X, y, log)
    memory = str(tmp_path / "cache")
    grid = {"temperature": [1.0, 4.0]}
    GridSearchCV(
        fast_distiller(forest, max_epochs=2, memory=memory), grid, cv=3, n_jobs=2
    ).fit(X, y)
    warmed = calls(log)
    copy = pickle.loads(pickle.dumps(forest))
    search = GridSearchCV(
        fast_distiller(copy, max_epochs=2, memory=memory), grid, cv=3, n_jobs=2
    )
    search.fit(X, y)
    assert warmed == 4
    assert calls(log) == warmed


def test_changed_teacher_or_data_never_hits_a_stale_entry(iris, tmp_path):
    X, y = iris
    log = tmp_path / "calls.txt"
    forest = logging_forest(X, y, log)
    memory = str(tmp_path / "cache")
    first = fast_distiller(forest, max_epochs=2, memory=memory).fit(X, y)
    fast_distiller(forest, max_epochs=2, memory=memory).fit(X, y)
    assert calls(log) == 1

    other = logging_forest(X, y, log)
    other.set_params(n_estimators=12).fit(X, y)
    fast_distiller(other, max_epochs=2, memory=memory).fit(X, y)
    assert calls(log) == 1

    X_changed = X.copy()
    X_changed[0, 0] += 1.0
    second = fast_distiller(forest, max_epochs=2, memory=memory).fit(X_changed, y)
    assert calls(log) == 2
    assert not np.array_equal(first.predict_proba(X), second.predict_proba(X))


def tiny_net(X, y, epochs):
    torch.manual_seed(0)
    net = NeuralNetClassifier(
        torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
        ),
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=epochs,
        train_split=None,
        verbose=0,
    )
    return net.fit(X.astype(np.float32), y)


def test_skorch_fingerprint_is_content_based(iris):
    X, y = iris
    net = tiny_net(X, y, epochs=2)
    assert fingerprint(net) == fingerprint(pickle.loads(pickle.dumps(net)))
    trained_more = pickle.loads(pickle.dumps(net)).partial_fit(X.astype(np.float32), y)
    assert fingerprint(trained_more) != fingerprint(net)
    assert fingerprint(torch.ones(3)) == fingerprint(torch.ones(3))
    assert fingerprint(torch.ones(3)) != fingerprint(torch.zeros(3))

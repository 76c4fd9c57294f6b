"""The fast data path of the student: what it trains on, and how often the teacher
is asked. Behaviour only; the timings live in ``benchmarks/``."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.tree import DecisionTreeClassifier
from skorch.callbacks import Callback

from sklearn_kd import DistilledClassifier
from sklearn_kd.student._skorch_net import RowTensors, TensorBatches

# Distillation settings fixed, so that fit trains one student (no selection).
FIXED = dict(encoding="standard", augment=None, soft_target_weight=0.5)


def indexed_rows(n_rows, n_features=3):
    """Rows whose first input column and first target column hold the row index."""
    ids = torch.arange(n_rows, dtype=torch.float32)[:, None]
    inputs = torch.cat([ids, torch.randn(n_rows, n_features - 1)], dim=1)
    targets = torch.cat([ids, -ids], dim=1)
    return RowTensors(inputs, targets)


def epoch_ids(batches):
    return torch.cat([inputs[:, 0] for inputs, _ in batches]).long()


@pytest.mark.parametrize("n_rows, batch_size", [(10, 3), (12, 4), (5, 8)])
def test_shuffled_batches_cover_each_row_once_per_epoch(n_rows, batch_size):
    batches = TensorBatches(
        indexed_rows(n_rows),
        batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    for _ in range(3):
        epoch = list(batches)
        assert len(epoch) == len(batches) == -(-n_rows // batch_size)
        assert [len(inputs) for inputs, _ in epoch[:-1]] == [batch_size] * (
            len(epoch) - 1
        )
        ids = epoch_ids(epoch)
        assert sorted(ids.tolist()) == list(range(n_rows))


def test_shuffled_batches_change_order_between_epochs_and_unshuffled_keep_it():
    data = indexed_rows(50)
    shuffled = TensorBatches(
        data, 8, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    first, second = epoch_ids(shuffled), epoch_ids(shuffled)
    assert not torch.equal(first, second)
    assert not torch.equal(first, torch.arange(50))
    in_order = TensorBatches(data, 8)
    assert torch.equal(epoch_ids(in_order), torch.arange(50))


def test_targets_move_with_their_rows():
    batches = TensorBatches(
        indexed_rows(40), 7, shuffle=True, generator=torch.Generator().manual_seed(1)
    )
    for inputs, targets in batches:
        assert torch.equal(inputs[:, 0], targets[:, 0])
        assert torch.equal(targets[:, 1], -targets[:, 0])


def test_same_generator_seed_gives_the_same_batches():
    def first_epoch(seed):
        generator = torch.Generator().manual_seed(seed)
        return epoch_ids(TensorBatches(indexed_rows(30), 4, True, generator))

    assert torch.equal(first_epoch(3), first_epoch(3))
    assert not torch.equal(first_epoch(3), first_epoch(4))


class RowRecorder(Callback):
    """Record the row ids (first input column) of every batch, per epoch, and
    check that every module was in the batch's mode (train or eval)."""

    def on_train_begin(self, net, **kwargs):
        self.epochs_ = []

    def on_epoch_begin(self, net, **kwargs):
        self.epochs_.append({"train": [], "valid": []})

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        ids = batch[0][:, 0].long().tolist()
        self.epochs_[-1]["train" if training else "valid"].extend(ids)
        modules = list(net.module_.modules()) + [net.criterion_]
        assert all(module.training == training for module in modules)


@pytest.fixture(scope="module")
def indexed_cancer():
    """Breast-cancer rows with the row index as an extra first column."""
    X, y = load_breast_cancer(return_X_y=True)
    X = np.hstack([np.arange(len(X))[:, None], X])
    teacher = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)
    return X, y, teacher


def fit_recording(X, y, teacher, **params):
    recorder = RowRecorder()
    # scaling=None keeps the row-id column unchanged through the input encoding.
    settings = dict(
        max_epochs=3,
        batch_size=64,
        hidden_layer_sizes=(8,),
        scaling=None,
        **FIXED,
    )
    estimator = DistilledClassifier(
        teacher, callbacks=[recorder], random_state=0, **{**settings, **params}
    )
    estimator.fit(X, y)
    # callbacks are copied before use: read the copy the net trained with
    return estimator, estimator.student_.callbacks[0]


def test_fit_trains_on_every_row_once_per_epoch(indexed_cancer):
    X, y, teacher = indexed_cancer
    estimator, recorder = fit_recording(X, y, teacher)
    assert len(recorder.epochs_) == 3
    orders = [epoch["train"] for epoch in recorder.epochs_]
    for order in orders:
        assert sorted(order) == list(range(len(X)))
    assert orders[0] != orders[1]
    history = estimator.student_.history
    assert history[:, "train_batch_count"] == [-(-len(X) // 64)] * 3


def test_early_stopping_splits_rows_once_and_switches_modes(indexed_cancer):
    X, y, teacher = indexed_cancer
    _, recorder = fit_recording(
        X,
        y,
        teacher,
        early_stopping=True,
        validation_fraction=0.2,
        student__dropout=0.5,
    )
    train, valid = (set(recorder.epochs_[0][part]) for part in ("train", "valid"))
    assert len(valid) == round(0.2 * len(X))
    assert train.isdisjoint(valid)
    assert train | valid == set(range(len(X)))
    for epoch in recorder.epochs_:
        assert sorted(epoch["train"]) == sorted(train)
        assert sorted(epoch["valid"]) == sorted(valid)


class CountingTeacher(DecisionTreeClassifier):
    """A decision tree that counts the calls and rows it answers."""

    def __init__(self, *, max_depth=4):
        super().__init__(max_depth=max_depth, random_state=0)

    def predict_proba(self, X):
        self.calls_ = getattr(self, "calls_", 0) + 1
        self.rows_ = getattr(self, "rows_", 0) + len(X)
        return super().predict_proba(X)


@pytest.mark.parametrize("teacher_batch_size", [100, 10_000])
def test_a_fit_queries_the_teacher_once_per_row(teacher_batch_size):
    X, y = load_breast_cancer(return_X_y=True)
    teacher = CountingTeacher().fit(X, y)
    DistilledClassifier(
        teacher,
        max_epochs=2,
        hidden_layer_sizes=(8,),
        teacher_batch_size=teacher_batch_size,
        random_state=0,
        **FIXED,
    ).fit(X, y)
    assert teacher.rows_ == len(X)
    assert teacher.calls_ == -(-len(X) // teacher_batch_size)

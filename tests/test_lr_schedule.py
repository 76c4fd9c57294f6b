"""The learning-rate schedule: its curve, its continuation and its options."""

import math

import numpy as np
import pytest
import torch
from conftest import FAST, fast_distiller
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback, LRScheduler
from skorch.dataset import Dataset

from sklearn_kd.student._lr_schedule import CosineSchedule, cosine_factor
from sklearn_kd.student._skorch_net import StudentTraining
from sklearn_kd.student._torch_state import seeded


class BatchRates(Callback):
    """Record the rate each training batch steps with."""

    def __init__(self):
        self.rates = []

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.rates.append(net.optimizer_.param_groups[0]["lr"])


def _training(rates, max_epochs=4, lr=0.01):
    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    with seeded(0):
        net = NeuralNetClassifier(
            torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 3)),
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=32,  # 150 rows: 5 batches per epoch
            train_split=None,
            verbose=0,
            callbacks=[("lr_schedule", CosineSchedule()), ("rates", rates)],
            iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator().manual_seed(0),
        )
        net.initialize()
    return StudentTraining(net, Dataset(X, y), n_threads=1)


def test_cosine_factor_runs_from_one_to_zero():
    assert cosine_factor(0.0) == 1.0
    assert cosine_factor(0.5) == pytest.approx(0.5)
    assert cosine_factor(1.0) == pytest.approx(0.0, abs=1e-12)
    assert cosine_factor(2.0) == cosine_factor(1.0)  # clipped past the end


def test_each_batch_steps_with_the_cosine_rate_of_its_progress():
    rates = BatchRates()
    _training(rates, max_epochs=4, lr=0.01).run()
    n_batches = 4 * 5
    expected = [0.01 * cosine_factor(step / n_batches) for step in range(n_batches)]
    np.testing.assert_allclose(rates.rates, expected, rtol=1e-12)
    assert rates.rates[0] == 0.01  # the peak is the optimizer's lr


def test_a_continued_training_follows_the_curve_of_one_run():
    split_rates, whole_rates = BatchRates(), BatchRates()
    in_runs = _training(split_rates)
    in_runs.run(1)
    split = in_runs.run(3)
    whole = _training(whole_rates).run()
    assert split_rates.rates == whole_rates.rates
    for a, b in zip(
        split.module_.state_dict().values(),
        whole.module_.state_dict().values(),
        strict=True,
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def _student(**params):
    X, y = load_iris(return_X_y=True)
    teacher = LogisticRegression(max_iter=500).fit(X, y)
    return fast_distiller(teacher, max_epochs=3, lr=0.01, **params).fit(X, y)


def test_the_default_student_ends_on_the_cosine_rate_and_none_keeps_lr():
    scheduled = _student()
    final = scheduled.student_.optimizer_.param_groups[0]["lr"]
    batches_per_epoch = math.ceil(150 / FAST["batch_size"])
    assert final == pytest.approx(0.01 * cosine_factor(1 - 1 / (3 * batches_per_epoch)))
    constant = _student(lr_schedule=None)
    assert constant.student_.optimizer_.param_groups[0]["lr"] == 0.01


@pytest.mark.parametrize(
    "callback", [LRScheduler(torch.optim.lr_scheduler.StepLR, step_size=1), LRScheduler]
)
def test_a_second_scheduler_is_refused_before_any_work(callback):
    with pytest.raises(ValueError, match="lr_schedule=None"):
        _student(callbacks=[("steps", callback)])
    assert _student(callbacks=[("steps", callback)], lr_schedule=None).student_


def test_an_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="lr_schedule"):
        _student(lr_schedule="linear")

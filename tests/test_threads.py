"""The torch thread count of ``n_threads=None``: by the work and the cores this
process may use, never by the machine's load."""

import torch
from conftest import fast_distiller
from skorch.callbacks import Callback
from threadpoolctl import threadpool_limits

from sklearn_kd.student._threads import WORK_PER_THREAD, auto_threads, available_cores


class ThreadsSeen(Callback):
    def on_epoch_begin(self, net, **kwargs):
        net.history.record("torch_threads", torch.get_num_threads())


def test_small_work_runs_on_one_thread():
    assert auto_threads(50_000, 256, training=True) == 1
    assert auto_threads(50_000, 10, training=False) == 1


def test_large_work_takes_the_available_cores_and_no_more():
    huge = auto_threads(10**7, 10**5, training=True)
    assert huge == available_cores()
    two = int(2 * WORK_PER_THREAD / (2 * 3 * 1000)) + 1
    assert auto_threads(two, 1000, training=True) == min(2, available_cores())


def test_the_cores_honour_torch_and_threadpoolctl_limits():
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert available_cores() == 1
    finally:
        torch.set_num_threads(previous)
    with threadpool_limits(limits=1, user_api="openmp"):
        assert available_cores() == 1
        assert auto_threads(10**7, 10**5, training=True) == 1


def test_a_default_student_trains_on_one_thread_and_restores_the_setting(
    iris, iris_forest
):
    X, y = iris
    before = torch.get_num_threads()
    model = fast_distiller(iris_forest, callbacks=[ThreadsSeen()]).fit(X, y)
    assert set(model.student_.history[:, "torch_threads"]) == {1}
    assert torch.get_num_threads() == before


def test_an_explicit_count_is_used(iris, iris_forest):
    X, y = iris
    model = fast_distiller(iris_forest, n_threads=2, callbacks=[ThreadsSeen()])
    model.fit(X, y)
    assert set(model.student_.history[:, "torch_threads"]) == {2}

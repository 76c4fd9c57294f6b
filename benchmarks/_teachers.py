"""Instrumented teachers of the benchmarks.

They live in a module of their own (not in a script's ``__main__``) so that
worker processes can unpickle them and the teacher cache can hash them.
"""

import os

import torch
from _common import Stopwatch
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression


class TimedLogisticRegression(LogisticRegression):
    """A logistic regression that adds up the time spent in ``decision_function``.

    The totals are class attributes: reset them with :meth:`reset_clock`.
    """

    seconds = cpu_seconds = 0.0

    @classmethod
    def reset_clock(cls):
        cls.seconds = cls.cpu_seconds = 0.0

    def decision_function(self, X):
        with Stopwatch() as watch:
            output = super().decision_function(X)
        TimedLogisticRegression.seconds += watch.seconds
        TimedLogisticRegression.cpu_seconds += watch.cpu_seconds
        return output


class CountingForest(RandomForestClassifier):
    """A random forest that logs each ``predict_proba`` call to ``count_file``.

    One line per call: rows answered, torch threads and ``OMP_NUM_THREADS`` of the
    calling process, and its pid. Appends of a short line are atomic, so worker
    processes can share the file.
    """

    def __init__(self, count_file=None, *, n_estimators=100, random_state=None):
        super().__init__(n_estimators=n_estimators, random_state=random_state)
        self.count_file = count_file

    def predict_proba(self, X):
        if self.count_file is not None:
            line = (
                f"{len(X)} {torch.get_num_threads()} "
                f"{os.environ.get('OMP_NUM_THREADS', '-')} {os.getpid()}\n"
            )
            with open(self.count_file, "a") as log:
                log.write(line)
        return super().predict_proba(X)


class UnpicklingCountingForest(CountingForest):
    """A counting forest that also logs every unpickling (a shipment)."""

    def __setstate__(self, state):
        super().__setstate__(state)
        shipments = state.get("shipment_file")
        if shipments:
            with open(shipments, "a") as log:
                log.write(f"{os.getpid()}\n")


def read_count_file(path):
    """Calls, rows, thread settings and processes logged by :class:`CountingForest`."""
    with open(path) as log:
        calls = [line.split() for line in log.read().splitlines()]
    return {
        "calls": len(calls),
        "rows": sum(int(call[0]) for call in calls),
        "torch_threads": sorted({int(call[1]) for call in calls}),
        "omp_num_threads": sorted({call[2] for call in calls}),
        "processes": len({call[3] for call in calls}),
    }

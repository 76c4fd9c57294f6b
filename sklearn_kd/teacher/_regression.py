"""Regression teacher adapters: predictions, out-of-bag predictions, checks.

A regressor teacher is read through ``predict``, one column per output. A bagged
teacher's out-of-bag predictions (``oob_prediction_``) are honest soft targets
for the rows it was fitted on; scikit-learn writes 0.0, not NaN, for a row that
every estimator saw, so such rows are found from ``estimators_samples_`` and
take the plain prediction instead.
"""

from dataclasses import dataclass

import numpy as np

from ._adapters import TeacherOutputError, final_estimator, query_teacher, teacher_name


@dataclass
class RegressorRead:
    """A regressor teacher's predictions on some rows."""

    output: np.ndarray

    def __len__(self):
        return len(self.output)

    def take(self, mask):
        return RegressorRead(self.output[mask])


def check_regressor_output(output, teacher, n_outputs=None):
    """Raise a clear error unless ``output`` holds finite predictions."""
    name = teacher_name(teacher)
    if not np.isfinite(output).all():
        bad = int((~np.isfinite(output)).any(axis=1).sum())
        raise TeacherOutputError(
            f"The teacher {name} predicted NaN or infinite values for {bad} of "
            f"{len(output)} rows: check the teacher and the rows it was given."
        )
    if n_outputs is not None and output.shape[1] != n_outputs:
        raise TeacherOutputError(
            f"The teacher {name} predicts {output.shape[1]} outputs, but y has "
            f"{n_outputs}: give y one column per output the teacher predicts."
        )


def rows_without_oob_estimate(model, n_rows):
    """Rows every estimator of a bagged model was fitted on (no OOB prediction)."""
    samples = getattr(model, "estimators_samples_", None)
    if samples is None:
        return np.zeros(n_rows, dtype=bool)
    left_out = np.zeros(n_rows, dtype=np.int64)
    for drawn in samples:
        seen = np.zeros(n_rows, dtype=bool)
        seen[drawn] = True
        left_out += ~seen
    return left_out == 0


class RegressorReading:
    """How the teacher stage reads a regressor: its predictions, per output."""

    def __init__(self, n_outputs=None):
        self.n_outputs = n_outputs

    def query(self, model, X, batch_size, n_jobs=None):
        output = query_teacher(model, X, "predict", batch_size, n_jobs)
        check_regressor_output(output, model, self.n_outputs)
        return RegressorRead(output)

    def oob(self, model):
        """Out-of-bag predictions, and which rows have any."""
        inner = final_estimator(model)
        oob = np.asarray(inner.oob_prediction_, dtype=np.float64)
        oob = oob.reshape(len(oob), -1)
        has_estimate = np.isfinite(oob).all(axis=1)
        has_estimate &= ~rows_without_oob_estimate(inner, len(oob))
        return RegressorRead(oob), has_estimate

    def assemble(self, parts, n_rows, model, classes=None):
        """One prediction array from the parts."""
        width = parts[-1][1].output.shape[1]
        outputs = np.empty((n_rows, width))
        for rows, read in parts:
            outputs[rows] = read.output
        return outputs, None

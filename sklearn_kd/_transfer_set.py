"""The student's training data: real rows, then synthetic rows made from them.

A :class:`TransferSet` is built once per fit, from the validated inputs and the
teacher stage's outputs, and read by everything after it: the validation split of
early stopping, the automatic selection's hold-out, the loss coefficients and the
tensors the student trains on. Each synthetic row knows the real row it came
from, so that anything done to a real row (holding it out, weighting it) follows
its synthetic rows without relying on row order.
"""

from dataclasses import dataclass, replace

import numpy as np

from ._seeds import draw_seed
from ._sklearn_compat import _safe_indexing

#: The label of a row that has none (numeric labels, or the integer -1 among an
#: object array's string labels), as in ``sklearn.semi_supervised``.
UNLABELLED = -1


def labelled_mask(labels):
    """Which entries of an encoded label array carry a label.

    Class indices use :data:`UNLABELLED` for a missing label, float targets NaN.
    """
    if labels.dtype.kind == "f":
        return ~np.isnan(labels)
    return labels != UNLABELLED


def rows_where(X, mask):
    """The rows of ``X`` (an array or a frame) where ``mask`` holds; ``X`` itself,
    not a copy, when it holds everywhere (the common case of every row labelled)."""
    if mask.all():
        return X
    return _safe_indexing(X, np.flatnonzero(mask))


@dataclass(frozen=True)
class TransferSet:
    """Rows the student learns from, real rows first.

    Attributes
    ----------
    X : ndarray of shape (n_rows, n_features)
        Student-side inputs (floats; string columns as category codes).
    teacher : ndarray of shape (n_rows, n_outputs) or None
        The teacher's raw output per row (logits for a classifier); None when the
        student learns from labels alone.
    labels : ndarray of shape (n_rows,) or (n_rows, n_outputs)
        Encoded labels: class indices with :data:`UNLABELLED`, or float targets
        with NaN. Synthetic rows are unlabelled.
    sample_weight : ndarray of shape (n_rows,)
        Row weights; a synthetic row has the weight of its source row.
    source_row : ndarray of int of shape (n_rows,)
        The real row each row is or comes from, as a position in the fit's input.
    n_real : int
        Number of real rows (the first ``n_real`` rows).
    """

    X: np.ndarray
    teacher: np.ndarray | None
    labels: np.ndarray
    sample_weight: np.ndarray
    source_row: np.ndarray
    n_real: int

    @classmethod
    def from_labels(cls, X, labels, sample_weight):
        """The labelled rows alone, for a student trained without a teacher."""
        labelled = labelled_mask(labels)
        rows = np.flatnonzero(labelled if labelled.ndim == 1 else labelled.any(axis=1))
        return cls(X[rows], None, labels[rows], sample_weight[rows], rows, len(rows))

    @classmethod
    def for_distillation(cls, X, teacher, labels, sample_weight, synthetic=None):
        """Every real row with its teacher output, then any synthetic rows.

        Parameters
        ----------
        synthetic : tuple (X_synthetic, teacher_synthetic, source_row) or None
            Synthetic rows, their teacher outputs and the real row each came from.
        """
        real = cls(X, teacher, labels, sample_weight, np.arange(len(X)), len(X))
        if synthetic is None:
            return real
        X_synthetic, teacher_synthetic, source = synthetic
        missing = np.full((len(source), *labels.shape[1:]), UNLABELLED, labels.dtype)
        if labels.dtype.kind == "f":
            missing[:] = np.nan
        return cls(
            np.vstack([X, X_synthetic]),
            np.vstack([teacher, teacher_synthetic]),
            np.concatenate([labels, missing]),
            np.concatenate([sample_weight, sample_weight[source]]),
            np.concatenate([real.source_row, source]),
            len(X),
        )

    def __len__(self):
        return len(self.X)

    @property
    def labelled(self):
        """Per-entry labelled mask (see :func:`labelled_mask`)."""
        return labelled_mask(self.labels)

    def rows_from(self, real_rows):
        """Positions of the real rows ``real_rows`` (positions among the first
        ``n_real``) and of every synthetic row made from them, real rows first."""
        sources = self.source_row[np.asarray(real_rows, dtype=np.intp)]
        keep = np.isin(self.source_row, sources)
        keep[: self.n_real] = False
        return np.concatenate(
            [np.asarray(real_rows, dtype=np.intp), np.flatnonzero(keep)]
        )

    def take(self, rows):
        """The transfer set restricted to ``rows`` (real rows first, as given)."""
        rows = np.asarray(rows, dtype=np.intp)
        return replace(
            self,
            X=self.X[rows],
            teacher=None if self.teacher is None else self.teacher[rows],
            labels=self.labels[rows],
            sample_weight=self.sample_weight[rows],
            source_row=self.source_row[rows],
            n_real=int(np.sum(rows < self.n_real)),
        )

    def hold_out(self, fraction, rng, *, stratify=False, labelled_only=False):
        """Split for validation: held-out real rows, and the rows to train on.

        ``fraction`` of the real rows (of the labelled ones with
        ``labelled_only``; at least one row) validate; the rows to train on are
        the other real rows and the synthetic rows made from them, so that no
        perturbed copy of a held-out row is trained on. With ``stratify``, the
        held-out rows keep the share of each class.

        Returns
        -------
        train, valid : ndarray of int
            Positions in this transfer set.
        """
        pool = np.arange(self.n_real)
        if labelled_only:
            labelled = self.labelled[: self.n_real]
            pool = pool[labelled if labelled.ndim == 1 else labelled.any(axis=1)]
        n_valid = max(1, int(round(fraction * len(pool))))
        if stratify:
            valid = pool[_stratified_sample(self.labels[pool], n_valid, rng)]
        else:
            valid = rng.permutation(pool)[:n_valid]
        valid = np.sort(valid)
        train_real = np.setdiff1d(np.arange(self.n_real), valid)
        return self.rows_from(train_real), valid


def _stratified_sample(labels, n_samples, rng):
    """``n_samples`` row positions keeping each label's share (labels 1-D)."""
    from sklearn.model_selection import train_test_split

    positions = np.arange(len(labels))
    try:
        _, sample = train_test_split(
            positions,
            test_size=n_samples,
            stratify=labels,
            random_state=draw_seed(rng),
        )
    except ValueError:  # a class too rare to stratify: fall back to a plain draw
        sample = rng.permutation(len(labels))[:n_samples]
    return sample

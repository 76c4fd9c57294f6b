"""The transfer set: real rows, synthetic rows that know their source, hold-outs."""

import numpy as np

from sklearn_kd._transfer_set import UNLABELLED, TransferSet


def synthetic_set(n_real=20, per_row=3, shuffle_synthetic=True):
    """Real rows 0..n_real-1, then ``per_row`` synthetic rows per real row, whose
    first column holds their source row (in shuffled order if asked)."""
    rng = np.random.default_rng(0)
    X = np.arange(n_real, dtype=float)[:, None]
    source = np.repeat(np.arange(n_real), per_row)
    if shuffle_synthetic:
        source = rng.permutation(source)
    X_synthetic = source.astype(float)[:, None]
    teacher = rng.normal(size=(n_real, 2))
    labels = rng.integers(0, 2, size=n_real)
    weights = rng.uniform(0.5, 2.0, size=n_real)
    return TransferSet.for_distillation(
        X,
        teacher,
        labels,
        weights,
        (X_synthetic, rng.normal(size=(len(source), 2)), source),
    )


def test_synthetic_rows_are_unlabelled_and_inherit_their_source_weight():
    transfer = synthetic_set()
    synthetic = slice(transfer.n_real, None)
    assert (transfer.labels[synthetic] == UNLABELLED).all()
    np.testing.assert_array_equal(
        transfer.sample_weight[synthetic],
        transfer.sample_weight[transfer.source_row[synthetic]],
    )


def test_hold_out_groups_by_source_row_whatever_the_row_order():
    transfer = synthetic_set(shuffle_synthetic=True)
    train, valid = transfer.hold_out(0.25, np.random.RandomState(0))
    assert len(valid) == 5 and (valid < transfer.n_real).all()
    train_sources = set(transfer.X[train, 0].astype(int))
    assert not train_sources & set(valid.tolist())
    assert len(train) == 15 * (1 + 3)


def test_take_keeps_real_rows_first():
    transfer = synthetic_set()
    rows = transfer.rows_from([3, 7])
    part = transfer.take(rows)
    assert part.n_real == 2
    np.testing.assert_array_equal(part.source_row[:2], [3, 7])
    assert set(part.source_row[2:]) == {3, 7} and len(part) == 2 + 2 * 3


def test_from_labels_keeps_labelled_rows_only():
    X = np.arange(6, dtype=float)[:, None]
    labels = np.array([0, UNLABELLED, 1, 1, UNLABELLED, 0])
    transfer = TransferSet.from_labels(X, labels, np.ones(6))
    np.testing.assert_array_equal(transfer.source_row, [0, 2, 3, 5])
    assert transfer.teacher is None and transfer.labelled.all()

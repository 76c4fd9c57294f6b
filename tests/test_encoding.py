"""The student's input encoding: z-scores, piecewise-linear bins, NaN, categories."""

import numpy as np
import pytest
import torch

from sklearn_kd.student._encoding import encoding_spec
from sklearn_kd.student._network import InputEncoder


def encode(encoder, X):
    with torch.no_grad():
        return encoder(torch.as_tensor(X, dtype=torch.float32)).numpy()


def test_piecewise_linear_bins_are_ones_a_fraction_then_zeros():
    X = np.linspace(0, 4, 41)[:, None]
    thresholds = [np.array([1.0, 2.0, 3.0])]
    encoder = InputEncoder.from_data(
        X, encoding="piecewise_linear", n_bins=4, thresholds=thresholds
    )
    np.testing.assert_allclose(encoder.bin_left.numpy(), [0, 1, 2, 3])
    np.testing.assert_allclose(
        encode(encoder, [[0.0], [1.5], [2.0], [4.0]]),
        [[0, 0, 0, 0], [1, 0.5, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1]],
        atol=1e-6,
    )
    # Outside the training range the first and last bins stay linear.
    np.testing.assert_allclose(
        encode(encoder, [[-1.0], [5.0]]), [[-1, 0, 0, 0], [1, 1, 1, 2]]
    )


def test_bins_follow_quantiles_without_thresholds():
    rng = np.random.default_rng(0)
    X = rng.exponential(size=(2000, 1))
    spec = encoding_spec(X, encoding="piecewise_linear", n_bins=8)
    edges = np.append(spec.bin_left, spec.bin_left[-1] + spec.bin_width[-1])
    np.testing.assert_allclose(edges, np.quantile(X[:, 0], np.linspace(0, 1, 9)))


def test_few_valued_columns_get_fewer_bins_and_constant_ones_none():
    X = np.c_[np.zeros(50), np.tile([0.0, 1.0], 25)]
    spec = encoding_spec(X, encoding="piecewise_linear", n_bins=32)
    assert spec.bin_column.tolist() == [1]
    assert np.isfinite(encode(InputEncoder(spec), X)).all()


@pytest.mark.parametrize("encoding", ["standard", "piecewise_linear"])
def test_a_column_constant_in_training_does_not_move_the_encoding(encoding):
    rng = np.random.RandomState(0)
    X = np.c_[rng.normal(size=40), np.full(40, 5.0), rng.normal(size=40)]
    X[0, 1] = np.nan  # its missing indicator stays: missingness may tell
    spec = encoding_spec(X, encoding=encoding)
    moved = X.copy()
    moved[1:, 1] = 1e3
    encoded, encoded_moved = encode(InputEncoder(spec), X), spec.encode(moved)
    np.testing.assert_allclose(encoded_moved, encoded, rtol=1e-5, atol=1e-6)
    assert 1 not in spec.numeric_column.tolist() + spec.bin_column.tolist()
    assert spec.missing_column.tolist() == [1]


def test_missing_values_and_categories_with_piecewise_linear():
    X = np.array([[0.0, 1.0], [np.nan, 2.0], [2.0, 1.0], [4.0, 3.0]])
    encoder = InputEncoder.from_data(
        X, encoding="piecewise_linear", categorical=np.array([False, True]), n_bins=2
    )
    encoded = encode(encoder, X)
    n_bins = len(encoder.bin_column)
    assert encoded.shape == (4, n_bins + 1 + 3)
    np.testing.assert_array_equal(encoded[:, n_bins], [0, 1, 0, 0])  # NaN indicator
    np.testing.assert_array_equal(encoded[:, n_bins + 1 :].argmax(1), [0, 1, 0, 2])
    assert np.isfinite(encoded).all()


@pytest.mark.parametrize("encoding", ["standard", "piecewise_linear"])
def test_spec_round_trip(encoding):
    X = np.random.default_rng(1).normal(size=(100, 3))
    X[::5, 1] = np.nan
    encoder = InputEncoder.from_data(X, encoding=encoding, n_bins=5)
    again = InputEncoder(encoder.spec())
    np.testing.assert_array_equal(encode(again, X), encode(encoder, X))


@pytest.mark.parametrize("constant_column", [False, True])
def test_z_scores_use_each_column_s_own_rows_with_or_without_missing_values(
    constant_column,
):
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(500, 4)) * [1, 10, 100, 1000]
    if constant_column:
        X[:, 1] = 7.0  # left out of the encoding: the others are a copy of X
    with_missing = X.copy()
    with_missing[rng.random(500) < 0.2, 2] = np.nan
    for rows in (X, with_missing):
        spec = encoding_spec(rows)
        columns = spec.numeric_column
        np.testing.assert_allclose(spec.numeric_shift, np.nanmean(rows[:, columns], 0))
        np.testing.assert_allclose(spec.numeric_scale, np.nanstd(rows[:, columns], 0))
    assert len(encoding_spec(X).numeric_column) == (3 if constant_column else 4)

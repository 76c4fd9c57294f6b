import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.neighbors import NearestNeighbors

from sklearn_kd._munge import munge


@pytest.fixture
def X_mixed():
    """Two continuous columns on different scales and one categorical column."""
    rng = np.random.RandomState(0)
    return np.column_stack(
        [rng.normal(size=40), 100 * rng.normal(size=40), rng.choice([3, 7, 11], 40)]
    )


def _paper_neighbours(X, categorical):
    """Brute-force nearest other row: standardised Euclidean plus Hamming."""
    continuous = X[:, ~categorical] / X[:, ~categorical].std(axis=0)
    squared = ((continuous[:, None, :] - continuous[None, :, :]) ** 2).sum(axis=2)
    squared += (X[:, None, categorical] != X[None, :, categorical]).sum(axis=2)
    np.fill_diagonal(squared, np.inf)
    return squared.argmin(axis=1)


def test_shape_and_dtype(X_mixed):
    X_synthetic = munge(X_mixed, n_samples_per_row=3, random_state=0)
    assert X_synthetic.shape == (120, 3)
    assert X_synthetic.dtype == np.float64
    assert munge(X_mixed.astype(np.float32), random_state=0).dtype == np.float32
    assert munge(X_mixed.astype(int), random_state=0).dtype == np.float64


def test_deterministic_for_a_seed(X_mixed):
    first = munge(X_mixed, categorical_features=[2], random_state=42)
    second = munge(X_mixed, categorical_features=[2], random_state=42)
    other = munge(X_mixed, categorical_features=[2], random_state=43)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_zero_swap_probability_gives_exact_copies(X_mixed):
    X_synthetic = munge(X_mixed, n_samples_per_row=4, swap_probability=0.0)
    np.testing.assert_array_equal(X_synthetic, np.repeat(X_mixed, 4, axis=0))


@pytest.mark.parametrize("categorical_features", [None, [2]])
def test_full_swap_with_huge_spread_lands_on_the_paper_neighbour(
    X_mixed, categorical_features
):
    categorical = np.zeros(3, dtype=bool)
    if categorical_features is not None:
        categorical[categorical_features] = True
    X_synthetic = munge(
        X_mixed,
        n_samples_per_row=2,
        swap_probability=1.0,
        spread=1e9,
        categorical_features=categorical_features,
        random_state=0,
    )
    expected = np.repeat(X_mixed[_paper_neighbours(X_mixed, categorical)], 2, axis=0)
    np.testing.assert_allclose(X_synthetic, expected, rtol=1e-6)


def test_continuous_draws_are_centred_on_the_neighbour_with_scaled_spread():
    X = np.array([[0.0], [10.0]])
    X_synthetic = munge(
        X, n_samples_per_row=20_000, swap_probability=1.0, spread=4.0, random_state=0
    )
    from_first_row = X_synthetic[:20_000, 0]
    assert from_first_row.mean() == pytest.approx(10.0, abs=0.05)
    assert from_first_row.std() == pytest.approx(10.0 / 4.0, rel=0.03)


def test_categorical_columns_only_take_observed_values(X_mixed):
    for categorical_features in ([2], np.array([False, False, True])):
        X_synthetic = munge(
            X_mixed,
            n_samples_per_row=10,
            swap_probability=0.8,
            categorical_features=categorical_features,
            random_state=0,
        )
        assert set(np.unique(X_synthetic[:, 2])) <= {3.0, 7.0, 11.0}
    treated_as_continuous = munge(X_mixed, swap_probability=0.8, random_state=0)
    assert not set(np.unique(treated_as_continuous[:, 2])) <= {3.0, 7.0, 11.0}


def test_missing_values_are_swapped_as_values():
    X = np.array([[0.0, 1.0], [0.1, np.nan], [5.0, 1.1], [5.1, 1.2]])
    X_synthetic = munge(
        X, n_samples_per_row=50, swap_probability=1.0, spread=1.0, random_state=0
    )
    assert np.isfinite(X_synthetic[:, 0]).all()
    # Rows 0 and 1 are each other's neighbours: NaN crosses over, never a NaN draw.
    assert np.isnan(X_synthetic[:50, 1]).all()
    assert X_synthetic[50:100, 1] == pytest.approx(np.full(50, 1.0))
    assert not np.isnan(X_synthetic[100:, 1]).any()


def test_missing_values_partial_swaps_and_all_nan_column():
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.normal(size=(30, 3)), rng.choice([0, 1, 2], 30)])
    X[::3, 0] = np.nan
    X[:, 2] = np.nan
    X[1::3, 3] = np.nan
    X_synthetic = munge(
        X, swap_probability=0.5, categorical_features=[3], random_state=0
    )
    assert np.isnan(X_synthetic[:, 2]).all()
    assert np.isfinite(X_synthetic[:, 1]).all()
    # A third of the values are missing: swaps carry NaN around at about that rate.
    for column in (0, 3):
        assert 1 / 6 < np.isnan(X_synthetic[:, column]).mean() < 1 / 2
    observed_categories = X_synthetic[~np.isnan(X_synthetic[:, 3]), 3]
    assert set(np.unique(observed_categories)) <= {0.0, 1.0, 2.0}


def test_missing_values_do_not_distort_the_neighbour_search():
    X = np.array([[0.0, 0.0], [0.1, np.nan], [5.0, 5.0], [5.1, 5.1]])
    imputed = np.where(np.isnan(X), np.nanmedian(X, axis=0), X)
    nearest = (
        NearestNeighbors(n_neighbors=1)
        .fit(imputed / np.nanstd(X, axis=0))
        .kneighbors(return_distance=False)[:, 0]
    )
    X_synthetic = munge(
        X, n_samples_per_row=1, swap_probability=1.0, spread=1e9, random_state=0
    )
    np.testing.assert_allclose(X_synthetic, X[nearest], rtol=1e-6)


def test_input_is_not_mutated(X_mixed):
    X_mixed[3, 0] = np.nan
    original = X_mixed.copy()
    mask = np.array([False, False, True])
    munge(X_mixed, swap_probability=1.0, categorical_features=mask, random_state=0)
    np.testing.assert_array_equal(X_mixed, original)
    np.testing.assert_array_equal(mask, [False, False, True])


def test_synthetic_rows_keep_the_class_of_their_source_row():
    X, y = load_iris(return_X_y=True)
    teacher = RandomForestClassifier(n_estimators=50, random_state=0).fit(X, y)
    X_synthetic = munge(X, n_samples_per_row=5, random_state=0)
    source_labels = np.repeat(y, 5)
    assert (teacher.predict(X_synthetic) == source_labels).mean() > 0.8
    copies_a_real_row = (X_synthetic[:, None, :] == X[None, :, :]).all(axis=2)
    assert copies_a_real_row.any(axis=1).mean() < 0.5
    margin = X.max(axis=0) - X.min(axis=0)
    assert (X_synthetic >= X.min(axis=0) - margin / 2).all()
    assert (X_synthetic <= X.max(axis=0) + margin / 2).all()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_samples_per_row": 0}, "n_samples_per_row"),
        ({"n_samples_per_row": 2.5}, "n_samples_per_row"),
        ({"swap_probability": 1.5}, "swap_probability"),
        ({"swap_probability": -0.1}, "swap_probability"),
        ({"spread": 0.0}, "spread"),
        ({"spread": -1.0}, "spread"),
        ({"random_state": "seed"}, "random_state"),
        ({"categorical_features": [3]}, r"\[3\] outside \[0, 2\]"),
        ({"categorical_features": [-1]}, r"\[-1\] outside \[0, 2\]"),
        (
            {"categorical_features": [True, False]},
            r"one entry per feature \(3\), got 2",
        ),
        ({"categorical_features": ["a"]}, "a boolean mask or integer column indices"),
        ({"categorical_features": [[0]]}, "1-D array"),
    ],
)
def test_invalid_parameters_raise_clear_errors(X_mixed, params, message):
    with pytest.raises(ValueError, match=message):
        munge(X_mixed, **params)


def test_invalid_data_raises_clear_errors():
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        munge(np.array([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="infinity"):
        munge(np.array([[1.0, np.inf], [0.0, 1.0]]))

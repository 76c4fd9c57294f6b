"""The training budget of ``max_epochs="auto"`` and ``batch_size="auto"``."""

import math

import numpy as np
import pytest
from conftest import fast_distiller

from sklearn_kd import DistilledClassifier
from sklearn_kd.student._budget import (
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    MIN_BATCH_SIZE,
    MIN_EPOCHS,
    SYNTHETIC_ROW_SHARE,
    TRAINING_STEPS,
    auto_batch_size,
    auto_max_epochs,
    resolved_budget,
)


def test_the_batch_grows_with_the_real_rows_within_its_bounds():
    sizes = [auto_batch_size(n) for n in (10, 1_000, 64_000, 128_000, 494_000, 10**8)]
    assert sizes == [MIN_BATCH_SIZE, MIN_BATCH_SIZE, 256, 512, 1024, MAX_BATCH_SIZE]
    assert sizes == sorted(sizes)


def test_small_tables_keep_the_former_fifty_epochs_and_large_ones_fewer():
    assert auto_max_epochs(1_000, 1_000, 256) == MAX_EPOCHS
    epochs = [auto_max_epochs(n, n, auto_batch_size(n)) for n in (30_000, 100_000)]
    assert MIN_EPOCHS <= epochs[1] < epochs[0] < MAX_EPOCHS
    assert auto_max_epochs(10**7, 10**7, 1024) == MIN_EPOCHS


@pytest.mark.parametrize("n_real", [1_000, 12_000, 60_000])
def test_a_synthetic_row_counts_for_a_share_of_a_real_one(n_real):
    batch = auto_batch_size(n_real)
    plain = auto_max_epochs(n_real, n_real, batch) * math.ceil(n_real / batch)
    n_rows = 6 * n_real  # five MUNGE rows per real row
    munge = auto_max_epochs(n_real, n_rows, batch) * math.ceil(n_rows / batch)
    expected = plain * (1 + 5 * SYNTHETIC_ROW_SHARE)  # twice, not six times
    # Whole epochs: off by at most half an epoch over all rows.
    assert abs(munge - expected) <= math.ceil(n_rows / batch) / 2 + 1
    if n_real <= 20_000:  # where MUNGE is searched
        assert abs(munge - expected) <= 0.15 * expected


def test_the_steps_stay_near_the_budget_where_epochs_are_not_clipped():
    n = 40_000
    batch = auto_batch_size(n)
    steps = auto_max_epochs(n, n, batch) * math.ceil(n / batch)
    assert TRAINING_STEPS <= steps < TRAINING_STEPS + math.ceil(n / batch)


def test_explicit_values_are_honoured():
    explicit = DistilledClassifier(max_epochs=7, batch_size=33)
    assert resolved_budget(explicit, 10**6, 6 * 10**6) == (7, 33)
    assert resolved_budget(explicit, 10**6, 10**6, share=0.5) == (4, 33)


def test_fit_trains_for_the_budget_and_records_it(iris, iris_forest):
    X, y = iris
    model = fast_distiller(iris_forest, max_epochs="auto", batch_size="auto")
    model.fit(X, y)
    expected = auto_max_epochs(len(y), len(y), auto_batch_size(len(y)))
    assert len(model.student_.history) == expected
    assert model.selected_params_["max_epochs"] == expected
    assert model.selected_params_["batch_size"] == model.student_.batch_size == 256


def test_munge_students_train_on_fewer_epochs_over_more_rows(iris, iris_forest):
    X, y = iris
    plain = fast_distiller(iris_forest, max_epochs="auto").fit(X, y)
    munge = fast_distiller(
        iris_forest, max_epochs="auto", augment="munge", augment_factor=4
    ).fit(X, y)
    share = (1 + 4 * SYNTHETIC_ROW_SHARE) / 5  # four MUNGE rows per real row
    assert len(munge.student_.history) == round(len(plain.student_.history) * share)


def test_an_explicit_budget_gives_the_former_epoch_count(iris, iris_forest):
    X, y = iris
    model = fast_distiller(iris_forest, max_epochs=6).fit(X, y)
    assert len(model.student_.history) == 6
    np.testing.assert_array_equal(model.classes_, np.unique(y))

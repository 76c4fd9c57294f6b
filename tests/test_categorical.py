"""Categorical columns: the mask conventions, string-column codes, and the
columns a teacher declares categorical."""

import numpy as np
import pytest
from conftest import fast_distiller
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from sklearn_kd._categorical import categorical_mask
from sklearn_kd.teacher._categorical import teacher_categorical_mask


@pytest.fixture(scope="module")
def coded():
    """Iris with an integer-coded column of 6 categories in front."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    codes = np.digitize(X[:, 0], [5.0, 5.5, 6.0, 6.5, 7.0])
    return np.c_[codes, X[:, 1:]], y


def test_categorical_mask_conventions():
    np.testing.assert_array_equal(categorical_mask(None, 3), [False] * 3)
    np.testing.assert_array_equal(categorical_mask([], 3), [False] * 3)
    np.testing.assert_array_equal(categorical_mask([2], 3), [False, False, True])
    np.testing.assert_array_equal(
        categorical_mask([True, False, True], 3), [True, False, True]
    )


@pytest.mark.parametrize(
    "teacher",
    [
        HistGradientBoostingClassifier(categorical_features=[0], max_iter=5),
        make_pipeline(
            make_column_transformer(
                (OneHotEncoder(handle_unknown="ignore"), [0]), remainder="passthrough"
            ),
            RandomForestClassifier(n_estimators=5, random_state=0),
        ),
        make_pipeline(
            make_column_transformer((OrdinalEncoder(), [0]), remainder="passthrough"),
            RandomForestClassifier(n_estimators=5, random_state=0),
        ),
    ],
    ids=["hgb", "one-hot pipeline", "ordinal pipeline"],
)
@pytest.mark.parametrize("fitted", [False, True])
def test_columns_the_teacher_declares_categorical(coded, teacher, fitted):
    X, y = coded
    if fitted:
        teacher = teacher.fit(X, y)
    mask = teacher_categorical_mask(teacher, X.shape[1])
    np.testing.assert_array_equal(mask, [True, False, False, False])
    model = fast_distiller(teacher).fit(X, y)
    encoder = model.student_.module_.encoder
    assert encoder.category_column.tolist() == [0] * 6


def test_nothing_declared_means_numeric_and_empty_list_turns_detection_off(coded):
    X, y = coded
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    assert not teacher_categorical_mask(forest, 4).any()
    hgb = HistGradientBoostingClassifier(categorical_features=[0], max_iter=5)
    model = fast_distiller(hgb, categorical_features=[]).fit(X, y)
    assert len(model.student_.module_.encoder.category_column) == 0

"""Categorical columns that a teacher declares itself.

A histogram gradient boosting model's categorical features, those of a
LightGBM, XGBoost or CatBoost model, and the columns a teacher pipeline sends
to a category encoder: the student one-hot encodes them without being told.
"""

import numpy as np

from ._adapters import is_fitted
from ._gbdt import gbdt_categorical, gbdt_library

_CATEGORICAL_ENCODERS = ("OneHotEncoder", "OrdinalEncoder", "TargetEncoder")


def _encodes_categories(transformer):
    """Whether a transformer (or a pipeline of them) starts by encoding categories."""
    while hasattr(transformer, "steps"):
        transformer = transformer.steps[0][1]
    return type(transformer).__name__ in _CATEGORICAL_ENCODERS


def _column_positions(columns, n_features, feature_names):
    """Positions named by a ColumnTransformer column spec, or None if unknown."""
    if isinstance(columns, (int, np.integer, str)):
        columns = [columns]
    if isinstance(columns, slice) or callable(columns):
        return None
    columns = np.asarray(columns)
    if columns.dtype == bool and len(columns) == n_features:
        return np.flatnonzero(columns)
    if columns.dtype.kind in "iu":
        return columns
    if feature_names is not None and columns.dtype.kind in "OU":
        names = list(np.asarray(feature_names, dtype=object))
        return np.array([names.index(c) for c in columns if c in names], dtype=int)
    return None


def teacher_categorical_mask(teacher, n_features, feature_names=None):
    """Integer-coded categorical columns that the teacher itself declares.

    A histogram gradient boosting model's categorical features (its fitted
    ``is_categorical_``, or the ``categorical_features`` it was given), those a
    fitted LightGBM, XGBoost or CatBoost model declares, and the
    columns a teacher pipeline sends to a ``OneHotEncoder``, ``OrdinalEncoder``
    or ``TargetEncoder`` (directly, or through a ``ColumnTransformer``). Where
    nothing tells, columns are numeric.

    Returns
    -------
    mask : ndarray of bool of shape (n_features,)
    """
    mask = np.zeros(n_features, dtype=bool)
    from sklearn.frozen import FrozenEstimator

    model = teacher.estimator if isinstance(teacher, FrozenEstimator) else teacher
    first = model.steps[0][1] if hasattr(model, "steps") else model
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if first is final and type(final).__name__.startswith("HistGradientBoosting"):
        declared = getattr(final, "is_categorical_", None)
        if declared is None and not hasattr(final, "is_categorical_"):
            declared = getattr(final, "categorical_features", None)
        if declared is not None and not isinstance(declared, str):
            positions = _column_positions(declared, n_features, feature_names)
            if positions is not None:
                mask[positions] = True
        return mask
    if first is final and gbdt_library(final) is not None:
        positions = gbdt_categorical(final, n_features) if is_fitted(final) else None
        if positions:
            mask[positions] = True
        return mask
    if first is not final and _encodes_categories(first):
        mask[:] = True
        return mask
    fitted = getattr(first, "_transformer_to_input_indices", None)
    for name, transformer, columns in getattr(first, "transformers", []) or []:
        if transformer in ("drop", "passthrough") or not _encodes_categories(
            transformer
        ):
            continue
        positions = (
            np.asarray(fitted[name])
            if fitted and name in fitted
            else _column_positions(columns, n_features, feature_names)
        )
        if positions is not None:
            mask[positions] = True
    return mask

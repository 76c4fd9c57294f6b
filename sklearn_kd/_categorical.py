"""Categorical columns: which they are, and integer codes for string columns.

A categorical column is one-hot encoded inside the student and swapped as a value
by MUNGE. Columns are categorical when the user says so (``categorical_features``,
as in ``HistGradientBoostingClassifier``) or when a DataFrame column is not
numeric; such string columns reach the teacher unchanged and the student reads
them as integer codes (:class:`CategoryCodes`).
"""

import numpy as np


def categorical_mask(categorical_features, n_features):
    """Boolean mask of categorical columns, from scikit-learn's conventions.

    Parameters
    ----------
    categorical_features : array-like of int or bool, or None
        ``None`` or an empty list (no categorical column), column indices, or a
        boolean mask of length ``n_features``.
    n_features : int
        Number of columns.

    Returns
    -------
    mask : ndarray of bool of shape (n_features,)
    """
    mask = np.zeros(n_features, dtype=bool)
    if categorical_features is None:
        return mask
    features = np.asarray(categorical_features)
    if features.size == 0:
        return mask
    if features.ndim != 1:
        raise ValueError(
            "categorical_features must be a 1-D array of column indices or a boolean "
            f"mask; got an array of shape {features.shape}."
        )
    if features.dtype == bool:
        if features.shape != (n_features,):
            raise ValueError(
                f"categorical_features as a boolean mask must have one entry per "
                f"feature ({n_features}), got {features.shape[0]}."
            )
        return features.copy()
    if features.dtype.kind not in "iu":
        raise ValueError(
            "categorical_features must be None, a boolean mask or integer column "
            f"indices, got {categorical_features!r}."
        )
    out_of_range = features[(features < 0) | (features >= n_features)]
    if out_of_range.size:
        raise ValueError(
            f"categorical_features holds indices {out_of_range.tolist()} outside "
            f"[0, {n_features - 1}] for data with {n_features} features."
        )
    mask[features] = True
    return mask


class CategoryCodes:
    """Integer codes for a DataFrame's non-numeric columns, and back.

    The teacher reads such columns as they are (it may be a pipeline that takes
    strings); the student reads their codes as categorical features. Values not
    seen in training, and missing values, get the code -1, which the student's
    one-hot encoding maps to all zeros.

    Parameters
    ----------
    categories : dict
        Column name to the array of its categories, in code order.
    """

    def __init__(self, categories):
        self.categories = categories

    def __repr__(self):
        columns = ", ".join(
            f"{column!r}: {len(values)} categories"
            for column, values in self.categories.items()
        )
        return f"CategoryCodes({{{columns}}})"

    @classmethod
    def from_frame(cls, X):
        """The coding of ``X``'s non-numeric columns, or None if it has none."""
        if not hasattr(X, "columns"):
            return None
        import pandas as pd

        categories = {
            column: np.asarray(pd.Series(X[column]).dropna().unique(), dtype=object)
            for column in X.columns
            if not pd.api.types.is_numeric_dtype(X[column])
        }
        if not categories:
            return None
        for column, values in categories.items():
            categories[column] = values[np.argsort(values.astype(str), kind="stable")]
        return cls(categories)

    def columns_mask(self, columns):
        """Boolean mask of the coded columns among ``columns``."""
        return np.isin(np.asarray(columns, dtype=object), list(self.categories))

    def check_columns(self, X, estimator_name):
        """Raise a clear error unless ``X`` is a DataFrame holding the coded columns."""
        if not hasattr(X, "columns"):
            raise ValueError(
                f"X is a {type(X).__name__} without column names, but this "
                f"{estimator_name} was fitted on a DataFrame with the string columns "
                f"{list(self.categories)}: pass a DataFrame with the columns it was "
                "fitted on."
            )
        missing = [column for column in self.categories if column not in X.columns]
        if missing:
            raise ValueError(
                f"X lacks the columns {missing} that this {estimator_name} was "
                f"fitted on; its columns are {list(X.columns)}."
            )

    def encode(self, X):
        """A copy of ``X`` with each coded column replaced by float codes."""
        import pandas as pd

        X = X.copy()
        for column, categories in self.categories.items():
            X[column] = pd.Index(categories).get_indexer(X[column]).astype(np.float64)
        return X

    def decode(self, X):
        """A copy of the coded frame ``X`` with its codes turned back into values."""
        X = X.copy().astype(object)
        for column, categories in self.categories.items():
            codes = X[column].to_numpy(dtype=float)
            known = codes >= 0
            values = np.full(len(codes), None, dtype=object)
            values[known] = categories[np.round(codes[known]).astype(int)]
            X[column] = values
        return X

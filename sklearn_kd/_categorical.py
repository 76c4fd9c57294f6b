"""Categorical columns: which they are, and integer codes for string columns.

A categorical column is one-hot encoded inside the student and swapped as a value
by MUNGE. Columns are categorical when the user says so (``categorical_features``,
as in ``HistGradientBoostingClassifier``) or when a DataFrame column is not
numeric; such string columns reach the teacher unchanged and the student reads
them as integer codes (:class:`CategoryCodes`).

DataFrames are read through narwhals, so a polars (or pyarrow, modin, cuDF)
frame is read as a pandas one is: its column labels, which columns are
numeric, their values. pandas frames keep pandas' own rules for the values
(``is_numeric_dtype``, ``unique``, ``Index.get_indexer``).
"""

import narwhals.stable.v1 as nw
import numpy as np
from narwhals.stable.v1.dependencies import is_pandas_dataframe


def as_frame(X):
    """``X`` as a narwhals eager DataFrame when it is a DataFrame narwhals reads
    (pandas, polars, pyarrow, ...), else None."""
    if isinstance(X, (np.ndarray, list, tuple)):
        return None
    frame = nw.from_native(X, eager_only=True, pass_through=True)
    return frame if isinstance(frame, nw.DataFrame) else None


def _is_numeric(dtype):
    """Whether a narwhals dtype is read as numbers: pandas' rule, booleans
    included."""
    return dtype.is_numeric() or dtype == nw.Boolean


def _object_array(values):
    """A 1-D object array of ``values`` (a list), whatever the values are."""
    return np.fromiter(values, dtype=object, count=len(values))


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
    columns : list or None, default=None
        Every column label of the frame, in order (None where not recorded: a
        student loaded from a file).
    """

    #: Set in ``__init__``; the class default serves objects pickled before it.
    columns = None

    def __init__(self, categories, columns=None):
        self.categories = categories
        self.columns = None if columns is None else list(columns)

    def __repr__(self):
        columns = ", ".join(
            f"{column!r}: {len(values)} categories"
            for column, values in self.categories.items()
        )
        return f"CategoryCodes({{{columns}}})"

    @classmethod
    def from_frame(cls, X):
        """The coding of ``X``'s non-numeric columns, or None if it has none."""
        frame = as_frame(X)
        if frame is None:
            return None
        if is_pandas_dataframe(X):
            categories = _pandas_categories(X)
        else:
            categories = {}
            for column in frame.columns:
                series = frame.get_column(column)
                if not _is_numeric(series.dtype):
                    values = series.drop_nulls().unique(maintain_order=True)
                    categories[column] = _object_array(values.to_list())
        if not categories:
            return None
        for column, values in categories.items():
            categories[column] = values[np.argsort(values.astype(str), kind="stable")]
        return cls(categories, columns=frame.columns)

    def columns_mask(self, columns):
        """Boolean mask of the coded columns among ``columns``."""
        return np.isin(np.asarray(columns, dtype=object), list(self.categories))

    def check_columns(self, X, estimator_name):
        """Raise a clear error unless ``X`` is a DataFrame holding the coded columns."""
        frame = as_frame(X)
        if frame is None:
            raise ValueError(
                f"X is a {type(X).__name__} without column names, but this "
                f"{estimator_name} was fitted on a DataFrame with the string columns "
                f"{list(self.categories)}: pass a DataFrame with the columns it was "
                "fitted on."
            )
        columns = frame.columns
        missing = [column for column in self.categories if column not in columns]
        if missing:
            raise ValueError(
                f"X lacks the columns {missing} that this {estimator_name} was "
                f"fitted on; its columns are {list(columns)}."
            )

    def encode(self, X):
        """A copy of ``X`` with each coded column replaced by float codes."""
        if not is_pandas_dataframe(X):
            frame = as_frame(X)
            namespace = nw.get_native_namespace(frame)
            coded = []
            for column, categories in self.categories.items():
                code_of = {value: code for code, value in enumerate(categories)}
                values = frame.get_column(column).to_list()
                codes = np.fromiter(
                    (code_of.get(value, -1) for value in values),
                    dtype=np.float64,
                    count=len(values),
                )
                coded.append(
                    nw.new_series(column, codes, nw.Float64, native_namespace=namespace)
                )
            return frame.with_columns(*coded).to_native()
        import pandas as pd

        X = X.copy()
        for column, categories in self.categories.items():
            X[column] = pd.Index(categories).get_indexer(X[column]).astype(np.float64)
        return X

    def decode(self, X):
        """A copy of the coded pandas frame ``X`` with its codes turned back into
        values."""
        X = X.copy().astype(object)
        for column, categories in self.categories.items():
            codes = X[column].to_numpy(dtype=float)
            known = codes >= 0
            values = np.full(len(codes), None, dtype=object)
            values[known] = categories[np.round(codes[known]).astype(int)]
            X[column] = values
        return X


def _pandas_categories(X):
    """A pandas frame's non-numeric columns and their values, as pandas reads
    them."""
    import pandas as pd

    return {
        column: np.asarray(pd.Series(X[column]).dropna().unique(), dtype=object)
        for column in X.columns
        if not pd.api.types.is_numeric_dtype(X[column])
    }


def synthetic_frame(frame, X_synthetic, X_coded, category_codes):
    """Synthetic rows as a frame of ``frame``'s library, columns and dtypes.

    Float columns keep their dtype; other numeric columns are Float64 (MUNGE
    draws values between integers); a coded column is gathered from ``frame``
    itself, so its values and dtype (string, categorical, enum, date) are those
    of the real rows: MUNGE copies codes, so each synthetic code is one of the
    real rows' codes ``X_coded``.

    Parameters
    ----------
    frame : narwhals DataFrame
        The frame passed to ``fit``.
    X_synthetic : ndarray of shape (n_synthetic, n_features)
        The synthetic rows as the student reads them (codes for coded columns).
    X_coded : ndarray of shape (n_rows, n_features)
        ``frame`` as the student reads it.
    category_codes : CategoryCodes or None

    Returns
    -------
    frame : native DataFrame
    """
    namespace = nw.get_native_namespace(frame)
    coded = {} if category_codes is None else category_codes.categories
    parts = []
    for position, column in enumerate(frame.columns):
        series = frame.get_column(column)
        values = X_synthetic[:, position]
        if column in coded:
            codes, first_row = np.unique(X_coded[:, position], return_index=True)
            found = np.searchsorted(codes, values).clip(0, len(codes) - 1)
            if not np.array_equal(codes[found], values):
                raise ValueError(
                    f"synthetic codes of column {column!r} are not those of a real row."
                )
            parts.append(series[first_row[found]].to_frame())
        else:
            dtype = series.dtype if series.dtype.is_float() else nw.Float64
            parts.append(
                nw.new_series(
                    column, values, dtype, native_namespace=namespace
                ).to_frame()
            )
    return nw.concat(parts, how="horizontal").to_native()

"""The student's input encoding: its numbers, fitted on the training rows.

Imputation of missing values (with a missing indicator), the encoding of numeric
columns and the one-hot encoding of categorical columns are fitted here into an
:class:`EncodingSpec` of numpy arrays. The student's network carries them as
buffers of a torch module (``sklearn_kd.student._network.InputEncoder``), so that they
travel with it through pickling, to the GPU and into ONNX. The arithmetic is
written once, in :func:`encode_rows`, over the few array operations numpy and
torch share: torch evaluates it in training and ONNX tracing, numpy on the
small-batch path and in the torch-free file (:meth:`EncodingSpec.encode`). Nothing runs in scikit-learn at prediction
time, and this module needs no torch.

Numeric columns are encoded one of two ways (``encoding``):

- ``"standard"``: the column itself, standardised with ``scaling="standard"``
  (left as it is with ``scaling=None``);
- ``"piecewise_linear"``: the piecewise-linear encoding of Gorishniy, Rubachev &
  Babenko (2022). With bin edges ``b_0 < ... < b_T``, bin ``t`` of a value ``x``
  is ``(x - b_{t-1}) / (b_t - b_{t-1})`` clipped to ``[0, 1]``, except that the
  first bin is not clipped below and the last not above: a value is a run of
  ones, a fraction, then zeros, and it stays linear outside the training range.
  The encoding is already on a common scale, so ``scaling`` does not apply.
"""

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from ._bin_edges import bin_edges

MAX_CATEGORIES = 1024
ENCODINGS = ("standard", "piecewise_linear")
#: Fields holding column indices (the others hold floats).
INDEX_FIELDS = frozenset(
    {"numeric_column", "bin_column", "missing_column", "category_column"}
)


@dataclass
class EncodingSpec:
    """The encoder's numbers, as numpy arrays (what the module's buffers hold).

    Output columns are, in order: standardised numeric columns, piecewise-linear
    bins, missing-value indicators, one-hot categories.
    """

    n_features: int
    numeric_column: np.ndarray
    numeric_fill: np.ndarray
    numeric_shift: np.ndarray
    numeric_scale: np.ndarray
    bin_column: np.ndarray
    bin_fill: np.ndarray
    bin_left: np.ndarray
    bin_width: np.ndarray
    bin_low: np.ndarray
    bin_high: np.ndarray
    missing_column: np.ndarray
    category_column: np.ndarray
    category_value: np.ndarray
    encoding: str = field(default="standard")

    @property
    def n_outputs(self):
        return (
            len(self.numeric_column)
            + len(self.bin_column)
            + len(self.missing_column)
            + len(self.category_column)
        )

    def arrays(self):
        """The array fields by name."""
        return {
            name: value
            for name, value in vars(self).items()
            if isinstance(value, np.ndarray)
        }

    def encode(self, X):
        """The encoded rows, in float64.

        ``X`` is a 2-D array with the training columns. The numbers are those the
        torch module holds (rounded to float32), computed in float64, so that a
        row's output does not depend on the batch it comes in.
        """
        arrays = {**self.arrays(), **_float32_arrays(self)}
        return encode_rows(np.asarray(X, dtype=np.float64), arrays)


def encode_rows(X, arrays):
    """The encoding's arithmetic, written once for numpy and torch alike.

    Parameters
    ----------
    X : array of shape (n_rows, n_features)
        Raw rows, a numpy array or a torch tensor.
    arrays : mapping of str to array
        The :class:`EncodingSpec` fields, in ``X``'s library: index fields as
        integers, the others as floats.

    Returns
    -------
    encoded : array of shape (n_rows, n_outputs), in ``X``'s library and dtype
    """
    xp = _operations(X)
    parts = []
    if arrays["numeric_column"].shape[0]:
        values = X[:, arrays["numeric_column"]]
        values = xp.where(xp.isnan(values), arrays["numeric_fill"], values)
        parts.append((values - arrays["numeric_shift"]) / arrays["numeric_scale"])
    if arrays["bin_column"].shape[0]:
        values = X[:, arrays["bin_column"]]
        values = xp.where(xp.isnan(values), arrays["bin_fill"], values)
        ratio = (values - arrays["bin_left"]) / arrays["bin_width"]
        ratio = xp.minimum(xp.maximum(ratio, arrays["bin_low"]), arrays["bin_high"])
        parts.append(ratio)
    if arrays["missing_column"].shape[0]:
        parts.append(xp.as_float(xp.isnan(X[:, arrays["missing_column"]]), X))
    if arrays["category_column"].shape[0]:
        one_hot = X[:, arrays["category_column"]] == arrays["category_value"]
        parts.append(xp.as_float(one_hot, X))
    return xp.columns(parts) if len(parts) > 1 else parts[0]


def _namespace(library, as_float, columns):
    shared = ("where", "isnan", "minimum", "maximum")  # alike in numpy and torch
    return SimpleNamespace(
        **{name: getattr(library, name) for name in shared},
        as_float=as_float,
        columns=columns,
    )


_NUMPY = _namespace(
    np,
    as_float=lambda mask, like: mask.astype(like.dtype),
    columns=lambda parts: np.concatenate(parts, axis=1),
)


def _operations(X):
    """The operations :func:`encode_rows` needs, in ``X``'s library: six
    functions, not worth a dependency. torch is imported only for a tensor, so
    that this module loads without it."""
    if isinstance(X, np.ndarray):
        return _NUMPY
    import torch

    return _namespace(
        torch,
        as_float=lambda mask, like: mask.to(like.dtype),
        columns=lambda parts: torch.cat(parts, dim=1),
    )


def _float32_arrays(spec):
    """The spec's float arrays as the torch module holds them (rounded to
    float32), in float64; computed once per spec."""
    cached = spec.__dict__.get("_float32")
    if cached is None:
        cached = {
            name: value.astype(np.float32).astype(np.float64)
            for name, value in spec.arrays().items()
            if name not in INDEX_FIELDS
        }
        spec.__dict__["_float32"] = cached
    return cached


def _varies(X):
    """Columns with two distinct values or more among their non-missing ones.

    A column constant in training is left out of the encoding (its missing
    indicator stays): a weight the training never moved must not act on values
    seen only at predict time."""
    return np.nanmax(X, axis=0, initial=-np.inf) > np.nanmin(X, axis=0, initial=np.inf)


def _column_moments(values, has_nan):
    """Each column's mean and variance over its non-missing values (0 and 0 for
    a column without any)."""
    if not has_nan:  # the common case, without the masks' copies
        return values.mean(axis=0), values.var(axis=0)
    seen = ~np.isnan(values)
    count = np.maximum(seen.sum(axis=0), 1)
    mean = np.where(seen, values, 0).sum(axis=0) / count
    var = (np.where(seen, values - mean, 0) ** 2).sum(axis=0) / count
    return mean, var


def encoding_spec(
    X,
    *,
    encoding="standard",
    scaling="standard",
    categorical=None,
    n_bins=32,
    thresholds=None,
):
    """Fit the encoding on training rows ``X`` (2-D float array, NaN allowed).

    Parameters
    ----------
    encoding : {"standard", "piecewise_linear"}
        How numeric columns are encoded (see the module docstring).
    scaling : {"standard"} or None
        Standardisation of numeric columns under ``encoding="standard"``.
    categorical : ndarray of bool or None
        Categorical columns, one-hot encoded.
    n_bins : int
        The most piecewise-linear bins per numeric column.
    thresholds : list of ndarray or None
        The teacher's split thresholds per column, for the bin edges.

    Returns
    -------
    EncodingSpec
    """
    X = np.asarray(X, dtype=np.float64)
    n_features = X.shape[1]
    if categorical is None:
        categorical = np.zeros(n_features, dtype=bool)
    numeric = np.flatnonzero(~categorical & _varies(X))
    if len(numeric) == 0:  # nothing varies (one row): keep the columns as they are
        numeric = np.flatnonzero(~categorical)
    missing = np.flatnonzero(np.isnan(X).any(axis=0))
    if len(numeric) == n_features:  # every column: no copy
        values = X
    else:
        values = X[:, numeric]
    mean, var = _column_moments(values, np.isin(numeric, missing).any())
    empty_float, empty_int = np.empty(0), np.empty(0, dtype=np.int64)
    numeric_parts = (empty_int, empty_float, empty_float, empty_float)
    bins = [[] for _ in range(6)]
    if encoding == "standard":
        if scaling == "standard":
            shift, scale = mean, np.sqrt(var)
            scale[scale < 1e-12] = 1.0
        else:
            shift, scale = np.zeros_like(mean), np.ones_like(mean)
        numeric_parts = (numeric, mean, shift, scale)
    else:
        for position, column in enumerate(numeric):
            column_values = values[:, position]
            column_thresholds = None if thresholds is None else thresholds[column]
            edges = bin_edges(
                column_values[~np.isnan(column_values)], n_bins, column_thresholds
            )
            n_column_bins = len(edges) - 1
            low = np.zeros(n_column_bins)
            high = np.ones(n_column_bins)
            low[0], high[-1] = -np.inf, np.inf
            for part, value in zip(
                bins,
                (
                    np.full(n_column_bins, column),
                    np.full(n_column_bins, mean[position]),
                    edges[:-1],
                    np.diff(edges),
                    low,
                    high,
                ),
                strict=True,
            ):
                part.append(value)
    bins = [
        np.concatenate(part) if part else (empty_int if i == 0 else empty_float)
        for i, part in enumerate(bins)
    ]
    category_column, category_value = [], []
    for column in np.flatnonzero(categorical):
        categories = np.unique(X[:, column][~np.isnan(X[:, column])])
        if len(categories) > MAX_CATEGORIES:
            raise ValueError(
                f"Categorical feature {column} has {len(categories)} categories; "
                f"at most {MAX_CATEGORIES} are supported. Treat it as continuous "
                "or group rare categories."
            )
        category_column.extend([column] * len(categories))
        category_value.extend(categories)
    return EncodingSpec(
        n_features,
        *numeric_parts,
        *bins,
        missing,
        np.asarray(category_column, dtype=np.int64),
        np.asarray(category_value, dtype=np.float64),
        encoding=encoding,
    )

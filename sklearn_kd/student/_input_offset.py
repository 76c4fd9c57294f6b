"""Columns far from zero, centred in float64 before the student's float32.

The student computes in float32, whose 24-bit significand rounds a Unix
timestamp (about 1.7e9) to steps of 128 seconds: a column spread over a minute
becomes two or three values, and standardising afterwards cannot bring the
lost digits back. So every numeric column that float32 would round to steps
coarser than :data:`PRECISION` of its standard deviation is shifted by its
training mean in float64, before any cast. Every path applies the same shift:
training, both predict paths, the exported student, its numpy file and ONNX
(whose input is then float64). Most tables need no offset, and then nothing
changes.
"""

import warnings

import numpy as np

#: The coarsest float32 rounding, as a share of a column's standard deviation,
#: left as it is.
PRECISION = 1e-3


def fit_offset(X, categorical):
    """The per-column float64 offsets for the rows ``X``, or None if none is needed.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features), float64, NaN allowed
    categorical : ndarray of bool
        Categorical columns (coded; never shifted).
    """
    if X.size == 0:
        return None
    with warnings.catch_warnings():  # all-NaN columns: NaN, no offset
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
    magnitude = np.maximum(np.abs(low), np.abs(high))
    rounding = np.spacing(magnitude.astype(np.float32)).astype(np.float64)
    # A column's standard deviation is at least its range / sqrt(2 n), so most
    # columns are cleared without the costly NaN-aware mean and deviation.
    could_need = (
        ~np.asarray(categorical, dtype=bool)
        & np.isfinite(magnitude)
        & (high > low)
        & (rounding > 0.5 * PRECISION * (high - low) / np.sqrt(2 * len(X)))
    )
    if not could_need.any():
        return None
    columns = np.flatnonzero(could_need)
    spread = np.nanstd(X[:, columns], axis=0)
    needed = np.zeros(X.shape[1], dtype=bool)
    needed[columns] = rounding[columns] > PRECISION * spread
    if not needed.any():
        return None
    offset = np.zeros(X.shape[1])
    offset[needed] = np.nanmean(X[:, np.flatnonzero(needed)], axis=0)
    return offset


def student_rows(X, offset):
    """The rows as the student reads them: less ``offset`` in float64, as float32."""
    if offset is None:
        return np.asarray(X, dtype=np.float32)
    return (np.asarray(X, dtype=np.float64) - offset).astype(np.float32)


def checked_offset(offset, n_features):
    """``offset`` as a float64 vector of ``n_features`` finite values (or None)."""
    if offset is None:
        return None
    offset = np.asarray(offset, dtype=np.float64)
    if offset.shape != (n_features,) or not np.isfinite(offset).all():
        raise ValueError(
            f"input_offset must hold {n_features} finite numbers, one per feature; "
            f"got shape {offset.shape}."
        )
    return offset

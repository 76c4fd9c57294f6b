"""The bin edges of the piecewise-linear encoding, per numeric column.

Where the teacher is a tree model on the raw columns, its split thresholds
(:mod:`sklearn_kd.teacher._split_thresholds`) say where each feature matters:
the edges are quantiles of those thresholds, so bins are finest where the trees
split most. Otherwise (another teacher, a pipeline that transforms the columns
first, a column the trees never split) they are quantiles of the training rows.
"""

import numpy as np


def bin_edges(values, n_bins, thresholds=None):
    """Edges ``b_0 < ... < b_T`` (``T <= n_bins``) of one numeric column.

    ``b_0`` and ``b_T`` are the column's smallest and largest training values.
    The inner edges are the teacher's thresholds inside that range when there
    are any: all of them if there are at most ``n_bins - 1`` distinct ones, else
    ``n_bins - 1`` quantiles of them (so bins are finest where the trees split
    most). Without thresholds they are the column's own values, likewise: a
    column of few distinct values gets one bin between each two of them.

    Parameters
    ----------
    values : ndarray
        The column's training values, without NaN.
    n_bins : int
        The most bins.
    thresholds : ndarray or None
        The teacher's split thresholds on the column.

    Returns
    -------
    edges : ndarray of shape (T + 1,), with at least two distinct edges
    """
    if len(values) == 0:
        return np.array([0.0, 1.0])
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.array([low, low + 1.0])
    source = values
    if thresholds is not None:
        inside = thresholds[(thresholds > low) & (thresholds < high)]
        if len(inside):
            source = inside
    distinct = np.unique(source)
    distinct = distinct[(distinct > low) & (distinct < high)]
    if len(distinct) <= n_bins - 1:
        inner = distinct
    else:
        inner = np.quantile(source, np.arange(1, n_bins) / n_bins)
        inner = inner[(inner > low) & (inner < high)]
    return np.unique(np.concatenate([[low], inner, [high]]))

"""Where the piecewise-linear encoding's bins come from.

A tree ensemble has already found where each feature matters: its split
thresholds. When the teacher is one (a forest, extra trees, gradient boosting,
histogram gradient boosting, bagged trees, a single tree, a LightGBM, XGBoost
or CatBoost model, an ensemble of them)
whose features are the raw columns, each numeric column's bin edges are
quantiles of the teacher's thresholds on it, so bins are finest where the trees
split most. Otherwise (another teacher, a pipeline that transforms the columns
first, a column the trees never split) they are quantiles of the training rows.
"""

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from ._gbdt import gbdt_library, gbdt_thresholds
from ._sklearn_compat import hist_gradient_boosting_thresholds
from ._teacher_ensemble import TeacherEnsemble


def _raw_column_model(teacher):
    """The model that reads the raw columns, or None behind a transformer."""
    while True:
        if isinstance(teacher, FrozenEstimator):
            teacher = teacher.estimator
        elif isinstance(teacher, Pipeline):
            steps = [step for _, step in teacher.steps]
            if any(step not in (None, "passthrough") for step in steps[:-1]):
                return None
            teacher = steps[-1]
        else:
            return teacher


def _tree_thresholds(tree, features, per_feature):
    nodes = tree.tree_
    split = nodes.feature >= 0
    for feature, threshold in zip(
        features[nodes.feature[split]], nodes.threshold[split], strict=True
    ):
        per_feature[feature].append(threshold)


def split_thresholds(teacher, n_features):
    """Split thresholds per raw column of a fitted tree-based teacher.

    Returns
    -------
    thresholds : list of ndarray, or None
        One array per column (empty where no tree splits it); None when the
        teacher is not a tree model on the raw columns.
    """
    model = _raw_column_model(teacher)
    if model is None or getattr(model, "n_features_in_", n_features) != n_features:
        return None
    if isinstance(model, TeacherEnsemble) and isinstance(model.estimators, list):
        pooled = [split_thresholds(member, n_features) for member in model.estimators]
        pooled = [thresholds for thresholds in pooled if thresholds is not None]
        if not pooled:
            return None
        return [np.concatenate(columns) for columns in zip(*pooled, strict=True)]
    if hasattr(model, "_predictors"):
        return hist_gradient_boosting_thresholds(model)
    if gbdt_library(model) is not None:
        return gbdt_thresholds(model, n_features)
    per_feature = [[] for _ in range(n_features)]
    all_features = np.arange(n_features)
    if hasattr(model, "tree_"):
        _tree_thresholds(model, all_features, per_feature)
    else:
        trees = np.ravel(np.asarray(getattr(model, "estimators_", []), dtype=object))
        if not len(trees) or not all(hasattr(tree, "tree_") for tree in trees):
            return None
        subsets = getattr(model, "estimators_features_", None)
        for position, tree in enumerate(trees):
            features = (
                all_features if subsets is None else np.asarray(subsets[position])
            )
            _tree_thresholds(tree, features, per_feature)
    return [np.asarray(values, dtype=np.float64) for values in per_feature]


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

"""A tree teacher's split thresholds per raw column, where the bins come from.

A tree ensemble has already found where each feature matters: its split
thresholds. When the teacher is one (a forest, extra trees, gradient boosting,
histogram gradient boosting, bagged trees, a single tree, a LightGBM, XGBoost
or CatBoost model, an ensemble of them) whose features are the raw columns,
the piecewise-linear encoding places its bin edges among these thresholds
(:func:`~sklearn_kd.student._bin_edges.bin_edges`).
"""

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from .._sklearn_compat import hist_gradient_boosting_thresholds
from ._ensemble import TeacherEnsemble
from ._gbdt import gbdt_library, gbdt_thresholds


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

"""Every private scikit-learn name the package uses, imported in one place.

scikit-learn may move or change its private helpers in any release; keeping them
here means a new release breaks (and is mended in) this file alone. The tested
range of scikit-learn is stated in ``pyproject.toml``.
"""

import copy

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils.metadata_routing import _routing_enabled
from sklearn.utils.validation import (
    _check_feature_names,
    _check_sample_weight,
    _num_samples,
)

__all__ = [
    "copy_metadata_requests",
    "HasMethods",
    "Interval",
    "StrOptions",
    "_check_feature_names",
    "_check_sample_weight",
    "_fit_context",
    "_num_samples",
    "_routing_enabled",
    "_safe_indexing",
    "hist_gradient_boosting_thresholds",
    "validate_params",
    "validate_parameters",
]


def copy_metadata_requests(source, target):
    """Give ``target`` the metadata requests (``set_fit_request`` and kin) set on
    ``source``, which scikit-learn keeps in the private ``_metadata_request``;
    ``clone`` carries them, and so must a clone made by hand."""
    if hasattr(source, "_metadata_request"):
        target._metadata_request = copy.deepcopy(source._metadata_request)


def validate_parameters(estimator):
    """Check ``estimator``'s parameters against its ``_parameter_constraints``,
    as scikit-learn's ``fit`` does, for a method that may run without ``fit``."""
    estimator._validate_params()


def hist_gradient_boosting_thresholds(model):
    """Numeric split thresholds of a fitted histogram gradient boosting model.

    Its trees live in the private ``_predictors`` (one list of ``TreePredictor``
    per iteration), whose ``nodes`` record array holds ``feature_idx``,
    ``num_threshold``, ``is_leaf`` and ``is_categorical`` for every node.

    Returns
    -------
    thresholds : list of ndarray or None
        One array of thresholds per feature (raw feature units), or None when the
        private layout is not the expected one.
    """
    predictors = getattr(model, "_predictors", None)
    n_features = getattr(model, "n_features_in_", None)
    if predictors is None or n_features is None:
        return None
    per_feature = [[] for _ in range(n_features)]
    try:
        for iteration in predictors:
            for predictor in iteration:
                nodes = predictor.nodes
                split = ~nodes["is_leaf"].astype(bool)
                if "is_categorical" in nodes.dtype.names:
                    split &= ~nodes["is_categorical"].astype(bool)
                for feature, threshold in zip(
                    nodes["feature_idx"][split],
                    nodes["num_threshold"][split],
                    strict=True,
                ):
                    per_feature[int(feature)].append(float(threshold))
    except (AttributeError, KeyError, ValueError, TypeError, IndexError):
        return None
    import numpy as np

    return [np.asarray(values, dtype=np.float64) for values in per_feature]

"""LightGBM, XGBoost and CatBoost teachers, read as what they are.

Through their scikit-learn APIs these libraries look like any classifier; read
as black boxes they give probabilities. They hold more:

- **raw margins**, the boosted sum of the trees before the sigmoid or softmax:
  true logits, which is what the temperature of Hinton et al. acts on
  (LightGBM ``predict(raw_score=True)``, XGBoost ``predict(output_margin=True)``,
  CatBoost ``predict(prediction_type="RawFormulaVal")``);
- **split thresholds**, where each feature matters to the trees, for the
  piecewise-linear encoding's bins (LightGBM's model dump, XGBoost's tree
  table, CatBoost's border table).

The classes are recognised by name, so that none of the three libraries is
imported unless the teacher is one of their models.
"""

import numpy as np

#: The classifiers whose raw margins are read as logits, by library.
GBDT_CLASSIFIERS = {
    "LGBMClassifier": "lightgbm",
    "XGBClassifier": "xgboost",
    "XGBRFClassifier": "xgboost",
    "CatBoostClassifier": "catboost",
}
GBDT_REGRESSORS = {
    "LGBMRegressor": "lightgbm",
    "XGBRegressor": "xgboost",
    "XGBRFRegressor": "xgboost",
    "CatBoostRegressor": "catboost",
}


def gbdt_library(model):
    """``"lightgbm"``, ``"xgboost"`` or ``"catboost"`` for one of their models
    (by class name and module), else None."""
    name = type(model).__name__
    library = GBDT_CLASSIFIERS.get(name) or GBDT_REGRESSORS.get(name)
    if library is None or not type(model).__module__.startswith(library):
        return None
    return library


def raw_margins(model, X):
    """The model's raw margins on ``X``: ``(n_rows,)`` for two classes (the
    logit of the second), ``(n_rows, n_classes)`` beyond."""
    library = gbdt_library(model)
    if library == "lightgbm":
        return model.predict(X, raw_score=True)
    if library == "xgboost":
        return model.predict(X, output_margin=True)
    if library == "catboost":
        return model.predict(X, prediction_type="RawFormulaVal")
    raise TypeError(f"{type(model).__name__} has no raw margins to read.")


def gbdt_thresholds(model, n_features):
    """Split thresholds per column of a fitted LightGBM, XGBoost or CatBoost
    model, or None when they cannot be read."""
    library = gbdt_library(model)
    per_feature = [[] for _ in range(n_features)]
    try:
        if library == "lightgbm":
            _lightgbm_thresholds(model.booster_.dump_model(), per_feature)
        elif library == "xgboost":
            _xgboost_thresholds(model.get_booster(), per_feature)
        elif library == "catboost":
            for feature, borders in model.get_borders().items():
                per_feature[int(feature)].extend(borders)
        else:
            return None
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return None
    return [np.asarray(values, dtype=np.float64) for values in per_feature]


def _lightgbm_thresholds(dump, per_feature):
    stack = [tree["tree_structure"] for tree in dump["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" not in node:
            continue  # a leaf
        if node.get("decision_type", "<=") == "<=":  # "==" splits categories
            per_feature[int(node["split_feature"])].append(float(node["threshold"]))
        stack += [node["left_child"], node["right_child"]]


def _xgboost_thresholds(booster, per_feature):
    names = booster.feature_names
    position = (
        {name: index for index, name in enumerate(names)} if names is not None else {}
    )
    table = booster.trees_to_dataframe()
    splits = table[table["Feature"] != "Leaf"]
    for feature, split in zip(splits["Feature"], splits["Split"], strict=True):
        index = position.get(feature)
        if index is None and str(feature).startswith("f"):
            index = int(str(feature)[1:])
        if index is not None and np.isfinite(split):
            per_feature[index].append(float(split))


def gbdt_categorical(model, n_features):
    """Positions of the columns a fitted LightGBM, XGBoost or CatBoost model
    treats as categorical (LightGBM's feature infos list a categorical
    feature's values; XGBoost's feature types mark them ``"c"``;
    CatBoost names them), or None when it cannot tell."""
    library = gbdt_library(model)
    try:
        if library == "lightgbm":
            infos = model.booster_.dump_model()["feature_infos"]
            names = model.booster_.feature_name()[:n_features]
            return [
                position
                for position, name in enumerate(names)
                if _lightgbm_categorical(infos.get(name))
            ]
        if library == "xgboost":
            types = model.get_booster().feature_types
            return (
                None if types is None else [i for i, t in enumerate(types) if t == "c"]
            )
        if library == "catboost":
            return [int(i) for i in model.get_cat_feature_indices()]
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return None


def _lightgbm_categorical(info):
    """LightGBM's feature info: a dict whose ``values`` list a categorical
    feature's categories (LightGBM 4), or a string, ``"[low:high]"`` for a
    numeric feature and ``"a:b:c"`` for a categorical one (older releases)."""
    if isinstance(info, dict):
        return bool(info.get("values"))
    return isinstance(info, str) and info not in ("", "none") and info[0] != "["

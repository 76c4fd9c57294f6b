"""Whether a fitted bagging teacher's out-of-bag estimates belong to these rows.

A random forest fitted with ``oob_score=True`` carries, for each training row,
the average output of the trees that did not see it: honest soft targets,
where its in-sample probabilities are over-confident. They may be used only
for exactly the rows it was fitted on, in that order, and a table of the same
length is no proof. The check: on a sample of rows, recompute each row's
out-of-bag output from the trees whose bootstrap sample left it out (the
public ``estimators_samples_``) and compare it with the stored estimate. Rows
other than the training rows, or the same rows in another order, give other
outputs; the chance that a different table reproduces the estimates of every
probed row is nil.
"""

import numpy as np

from ._adapters import final_estimator

#: Rows on which the estimates are recomputed (all rows when there are fewer).
PROBE_ROWS = 64
#: How close a recomputed estimate must be to the stored one (float32 trees).
TOLERANCE = 1e-5


def stored_estimates(model, classifier):
    """The model's out-of-bag estimates, or None."""
    name = "oob_decision_function_" if classifier else "oob_prediction_"
    estimates = getattr(model, name, None)
    return None if estimates is None else np.asarray(estimates, dtype=np.float64)


def oob_estimates_belong_to(teacher, X, *, classifier):
    """Whether the fitted ``teacher``'s out-of-bag estimates are those of the
    rows ``X``, in this order (see the module docstring).

    ``teacher`` is a fitted forest or bagging ensemble, or a pipeline ending
    in one (``X`` then goes through its other steps). False for anything
    else, for multi-output models and whenever the check cannot be made.
    """
    model = final_estimator(teacher)
    estimates = stored_estimates(model, classifier)
    samples = getattr(model, "estimators_samples_", None)
    members = getattr(model, "estimators_", None)
    if estimates is None or samples is None or members is None:
        return False
    if len(estimates) != len(X) or getattr(model, "n_outputs_", 1) != 1:
        return False
    try:
        if model is not teacher:
            X = teacher[:-1].transform(X)
        X = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError, AttributeError, IndexError):
        return False
    return _matches(model, X, estimates, samples, members, classifier)


def _matches(model, X, estimates, samples, members, classifier):
    rng = np.random.RandomState(0)
    n_rows = len(X)
    probe = np.sort(rng.permutation(n_rows)[:PROBE_ROWS])
    features = getattr(model, "estimators_features_", None)
    total = np.zeros((len(probe), estimates.shape[1]) if classifier else len(probe))
    count = np.zeros(len(probe))
    for index, (member, drawn) in enumerate(zip(members, samples, strict=True)):
        unseen = np.bincount(drawn, minlength=n_rows)[probe] == 0
        if not unseen.any():
            continue
        rows = X[probe[unseen]]
        if features is not None:
            rows = rows[:, features[index]]
        output = member.predict_proba(rows) if classifier else member.predict(rows)
        if classifier and output.shape[1] != estimates.shape[1]:
            return False
        total[unseen] += output
        count[unseen] += 1
    covered = count > 0
    if not covered.any():
        return False
    expected = estimates[probe[covered]]
    recomputed = (
        total[covered] / count[covered][:, None]
        if classifier
        else (total[covered] / count[covered])
    )
    if classifier:  # bagging normalises by the probability mass, forests by count
        recomputed = recomputed / recomputed.sum(axis=1, keepdims=True)
        expected = expected / np.maximum(expected.sum(axis=1, keepdims=True), 1e-300)
    return bool(np.allclose(recomputed, expected, rtol=0, atol=TOLERANCE))

"""Probabilities and logits: the one place they are converted and checked.

Every teacher output becomes per-class logits; every student output becomes
probabilities through :func:`softmax`. Probabilities that must be logged are
floored at :data:`PROBABILITY_FLOOR` unless a caller asks for another floor.
"""

import numpy as np

#: Floor of probabilities before a log (a divergence, a geometric mean, a
#: combination of specialists): small enough to keep ruled-out classes near zero,
#: large enough to keep logs finite.
PROBABILITY_FLOOR = 1e-12

#: Tolerance on the sum of a probability row: loose enough for float32 outputs
#: over many classes, tight enough to reject logits or unnormalised scores.
ROW_SUM_TOLERANCE = 1e-4


def softmax(logits, temperature=1.0):
    """Row-wise ``softmax(logits / temperature)`` of a 2-D numpy array, in float64.

    A handful of numpy operations: it runs on every prediction, one row or many.
    """
    z = np.asarray(logits, dtype=np.float64)
    z = z / temperature if temperature != 1 else z
    z = z - z.max(axis=1, keepdims=True)  # a new array: the input is left alone
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def log_softmax(logits):
    """Row-wise log of ``softmax(logits)``, in float64, finite for finite logits
    (no log of an underflowed zero)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def centred_logits(logits):
    """Subtract each row's mean logit, the invariance the softmax ignores."""
    return logits - logits.mean(axis=1, keepdims=True)


def probabilities_to_logits(proba, eps):
    """Turn probabilities into logits as ``log(clip(proba, eps))``.

    The softmax of the result at temperature ``T`` is ``proba ** (1 / T)``,
    renormalised: temperature softens the teacher's ranking of the classes it
    gives mass to, while a class at exactly zero gets ``eps ** (1 / T)`` relative
    mass. A tiny ``eps`` keeps such classes at zero at any usual temperature.
    """
    return np.log(np.clip(proba, eps, None))


def probability_problem(proba):
    """Why ``proba`` (2-D) is not a matrix of probability rows, or None if it is."""
    if np.any(proba < -ROW_SUM_TOLERANCE) or np.any(proba > 1 + ROW_SUM_TOLERANCE):
        return f"values outside [0, 1] (from {proba.min():.6g} to {proba.max():.6g})"
    row_sums = proba.sum(axis=1)
    bad_rows = np.flatnonzero(np.abs(row_sums - 1) > ROW_SUM_TOLERANCE)
    if bad_rows.size:
        first = bad_rows[0]
        return (
            f"{bad_rows.size} rows that do not sum to 1 (row {first} sums to "
            f"{row_sums[first]:.6g})"
        )
    return None


def calibrated_log_loss(logits, labels, sample_weight=None, *, per_row=False):
    """Weighted mean ``-log softmax(logits / T)[label]`` at the best ``T``.

    ``T`` is searched in ``[e**-3, e**3]``; the score then measures how well the
    logits rank the classes, whatever their scale. With ``per_row``, each row's
    loss at that ``T`` instead of the mean.
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.intp)
    weight = np.ones(len(labels)) if sample_weight is None else sample_weight
    rows = np.arange(len(labels))

    def row_losses(log_temperature):
        return -log_softmax(logits / np.exp(log_temperature), axis=1)[rows, labels]

    def loss(log_temperature):
        return np.average(row_losses(log_temperature), weights=weight)

    best = minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded")
    return row_losses(best.x) if per_row else float(best.fun)

"""Fidelity metrics: how closely a distilled student mimics its teacher.

For classifiers, two metrics compare predictions given as arrays:
:func:`agreement_score` (share of rows where both predict the same class) and
:func:`mean_kl_divergence` (how far the student's probabilities are from the
teacher's). For regressors, :func:`fidelity_r2_score` (R² of the student's
predictions against the teacher's) and :func:`mean_absolute_deviation` (their
mean absolute difference) do the same.

Their scorers (``agreement_scorer`` and ``neg_mean_kl_scorer``;
``fidelity_r2_scorer`` and ``neg_mean_absolute_deviation_scorer``) apply them to
a fitted distilled estimator and plug into ``GridSearchCV(scoring=...)``. They
compare the student with its own teacher, never with ``y``, so they also score on
unlabelled data:

>>> from sklearn.model_selection import GridSearchCV
>>> search = GridSearchCV(
...     DistilledClassifier(teacher=fitted_teacher),
...     param_grid={"temperature": [1.0, 4.0]},
...     scoring={"agreement": agreement_scorer, "neg_kl": neg_mean_kl_scorer},
...     refit="neg_kl",
... )  # doctest: +SKIP

:func:`compression_report` puts teacher and student side by side: accuracy (or
R² and RMSE), fidelity, size and prediction speed.
"""

from ._fidelity import (
    agreement_score,
    agreement_scorer,
    fidelity_r2_score,
    fidelity_r2_scorer,
    mean_absolute_deviation,
    mean_kl_divergence,
    neg_mean_absolute_deviation_scorer,
    neg_mean_kl_scorer,
)
from ._report import CompressionReport, RegressionCompressionReport, compression_report

__all__ = [
    "CompressionReport",
    "RegressionCompressionReport",
    "agreement_score",
    "agreement_scorer",
    "compression_report",
    "fidelity_r2_score",
    "fidelity_r2_scorer",
    "mean_absolute_deviation",
    "mean_kl_divergence",
    "neg_mean_absolute_deviation_scorer",
    "neg_mean_kl_scorer",
]

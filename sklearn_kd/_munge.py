"""MUNGE: synthetic transfer-set generation by nearest-neighbour perturbation."""

from numbers import Integral, Real

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from ._categorical import categorical_mask
from ._sklearn_compat import Interval, validate_params

# Scaling a one-hot block by 1/sqrt(2) makes a category mismatch add exactly 1 to the
# squared Euclidean distance: the Hamming term of the paper's mixed distance.
_ONE_HOT_SCALE = 1.0 / np.sqrt(2.0)


@validate_params(
    {
        "X": ["array-like"],
        "n_samples_per_row": [Interval(Integral, 1, None, closed="left")],
        "swap_probability": [Interval(Real, 0, 1, closed="both")],
        "spread": [Interval(Real, 0, None, closed="neither")],
        "categorical_features": ["array-like", None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def munge(
    X,
    *,
    n_samples_per_row=5,
    swap_probability=0.5,
    spread=1.0,
    categorical_features=None,
    random_state=None,
):
    """Generate synthetic rows around the data with the MUNGE procedure.

    MUNGE (Bucila, Caruana & Niculescu-Mizil, 2006) creates an unlabelled transfer
    set for model compression: a teacher labels the synthetic rows and a student
    learns from them. Each synthetic row is a copy of a real row ``e`` in which every
    attribute is, with probability ``swap_probability``, moved towards the value of
    ``e``'s nearest neighbour ``e'``:

    - a continuous attribute with own value ``a`` and neighbour value ``b`` is drawn
      from ``Normal(b, |a - b| / spread)``;
    - a categorical attribute takes the neighbour's value.

    Otherwise the attribute keeps the row's own value.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Real data, at least 2 rows. NaN marks a missing value; infinite values are
        rejected. Categorical columns hold numeric category codes.

    n_samples_per_row : int, default=5
        Number of synthetic rows generated from each row of ``X``.

    swap_probability : float, default=0.5
        Probability that an attribute is moved to the neighbour's value (the paper's
        ``p``). ``0`` returns exact copies of ``X``.

    spread : float, default=1.0
        The paper's ``s``: the Gaussian around the neighbour's value has standard
        deviation ``|a - b| / spread``, so larger values stay closer to the
        neighbour.

    categorical_features : array-like of int or bool, default=None
        Categorical columns, as in
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier`: integer indices
        in ``[0, n_features - 1]`` or a boolean mask of length ``n_features``.
        ``None`` means all columns are continuous.

    random_state : int, RandomState instance or None, default=None
        Seed for the swaps and the Gaussian draws. Pass an int for reproducible
        output.

    Returns
    -------
    X_synthetic : ndarray of shape (n_samples * n_samples_per_row, n_features)
        Synthetic rows, with the dtype of ``X`` if it is float32 or float64, else
        float64. Rows ``i * n_samples_per_row`` to
        ``(i + 1) * n_samples_per_row - 1`` come from row ``i`` of ``X``, so
        ``np.repeat(np.arange(n_samples), n_samples_per_row)`` gives each synthetic
        row's source row.

    Notes
    -----
    **Distance.** The neighbour is the closest other row under the paper's mixed
    distance: Euclidean on continuous columns divided by their standard deviation
    (constant columns are left unscaled), plus Hamming distance on categorical
    columns. Categorical columns are one-hot encoded and scaled by
    ``1 / sqrt(2)``, so each category mismatch adds 1 to the squared distance, the
    same as a one-standard-deviation gap in one continuous column. The search uses
    :class:`~sklearn.neighbors.NearestNeighbors`; memory grows with the total number
    of categories.

    **Missing values.** For the neighbour search, NaN in a continuous column is
    replaced by the column median, and NaN in a categorical column counts as a
    category of its own. When a swap involves NaN on either side, the neighbour's
    value is copied as is with no Gaussian draw, so missing-value patterns move
    between neighbouring rows instead of producing NaN-centred draws.

    **Differences from the paper.** The original algorithm perturbs ``e`` and
    ``e'`` symmetrically and updates a working copy of the data in place, row after
    row. This implementation is one-sided and vectorised: neighbours are found once
    on ``X``, and only copies of ``e`` are written. Because every row also acts as
    an ``e``, each row still gets perturbed towards its own neighbour.

    References
    ----------
    C. Bucila, R. Caruana and A. Niculescu-Mizil, "Model compression", Proceedings
    of the 12th ACM SIGKDD International Conference on Knowledge Discovery and Data
    Mining, 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_kd._munge import munge
    >>> X = np.array([[0.0, 1.0], [0.1, 1.2], [5.0, 0.0], [5.2, 0.0]])
    >>> X_synthetic = munge(X, n_samples_per_row=3, random_state=0)
    >>> X_synthetic.shape
    (12, 2)
    >>> np.array_equal(munge(X, swap_probability=0.0), np.repeat(X, 5, axis=0))
    True
    """
    X = check_array(
        X,
        dtype=[np.float64, np.float32],
        ensure_all_finite="allow-nan",
        ensure_min_samples=2,
        input_name="X",
    )
    n_features = X.shape[1]
    is_categorical = categorical_mask(categorical_features, n_features)
    rng = check_random_state(random_state)

    neighbours = _nearest_other_row(X, is_categorical)

    own = np.repeat(X, n_samples_per_row, axis=0)
    neighbour = np.repeat(X[neighbours], n_samples_per_row, axis=0)
    swap = rng.random_sample(own.shape) < swap_probability
    noise = rng.standard_normal(own.shape)

    sd = np.abs(own - neighbour) / spread
    drawn = neighbour + noise * sd
    # Categorical values and swaps involving NaN copy the neighbour's value exactly.
    copy_exactly = is_categorical | np.isnan(sd)
    moved = np.where(copy_exactly, neighbour, drawn)
    return np.where(swap, moved, own).astype(X.dtype, copy=False)


def _nearest_other_row(X, is_categorical):
    """Index of each row's nearest other row under the mixed MUNGE distance."""
    embedding = [_standardised_continuous(X[:, ~is_categorical])]
    if is_categorical.any():
        one_hot = OneHotEncoder(sparse_output=False, dtype=np.float64)
        embedding.append(one_hot.fit_transform(X[:, is_categorical]) * _ONE_HOT_SCALE)
    embedding = np.hstack(embedding)
    # Without a query, kneighbors excludes each row itself (duplicates still count).
    search = NearestNeighbors(n_neighbors=1).fit(embedding)
    return search.kneighbors(return_distance=False)[:, 0]


def _standardised_continuous(X_continuous):
    """Divide each column by its standard deviation, then median-impute NaN.

    Both statistics use the observed values only; an all-NaN column becomes 0.
    """
    X_continuous = X_continuous.astype(np.float64)
    missing = np.isnan(X_continuous)
    observed = ~missing.all(axis=0)
    medians = np.zeros(X_continuous.shape[1])
    scale = np.ones(X_continuous.shape[1])
    if observed.any():
        medians[observed] = np.nanmedian(X_continuous[:, observed], axis=0)
        scale[observed] = np.nanstd(X_continuous[:, observed], axis=0)
    scale[scale == 0] = 1.0
    return np.where(missing, medians, X_continuous) / scale

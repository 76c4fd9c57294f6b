"""The demo: distil a random forest on scikit-learn's digits into a small MLP.

Digits (8x8 images of handwritten digits, 10 classes, 1797 rows) is bundled with
scikit-learn, so the demo needs no download. On it a 300-tree forest pickles to
about 14 MB, while the student that matches its accuracy to within a point pickles
to about 200 kB and answers a single row far faster.
"""

from contextlib import contextmanager

import torch
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from ._distilled import DistilledClassifier
from .metrics import compression_report

DEMO_DATA = "digits"
DEMO_N_TREES = 300
DEMO_TEST_SIZE = 0.25


@contextmanager
def _one_torch_thread():
    # The student's matrices are too small to gain from several threads, and on
    # a busy machine torch's thread synchronisation made training ten times
    # slower. One thread also matches the single-threaded forest in the timings.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def run_demo(*, seed=0, max_epochs=100, verbose=0):
    """Distil a 300-tree random forest on digits into an MLP; compare the two.

    The forest (``random_state=0``) is fitted on a stratified 75% training split
    (always the same one) and distilled on those rows into the default
    :class:`~sklearn_kd.MLP` student; both are then compared on the held-out 25%.

    Parameters
    ----------
    seed : int, default=0
        Seeds the student's initialisation and shuffling; the split and the
        forest stay fixed, so different seeds show the student's variability.
    max_epochs : int, default=100
        Training epochs of the student.
    verbose : int, default=0
        ``1`` shows a progress bar over epochs (needs tqdm).

    Returns
    -------
    report : ~sklearn_kd.metrics.CompressionReport
        Teacher and student on the held-out rows: accuracy, log loss, agreement,
        pickled size (the exported student's) and prediction times.

    Examples
    --------
    >>> from sklearn_kd._demo import run_demo
    >>> report = run_demo(max_epochs=100)  # doctest: +SKIP
    >>> print(report)  # doctest: +SKIP
    """
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=DEMO_TEST_SIZE, stratify=y, random_state=0
    )
    forest = RandomForestClassifier(n_estimators=DEMO_N_TREES, random_state=0)
    forest.fit(X_train, y_train)
    student = DistilledClassifier(
        forest, max_epochs=max_epochs, random_state=seed, verbose=verbose
    )
    with _one_torch_thread():
        student.fit(X_train, y_train)
        return compression_report(forest, student, X_test, y_test)

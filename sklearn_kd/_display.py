"""TrainingCurveDisplay: the student's training history, plotted."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

#: Curves drawn by default, where the history holds them.
DEFAULT_CURVES = (
    "train_loss",
    "valid_loss",
    "teacher_agreement",
    "teacher_r2",
)
_LOSSES = ("train_loss", "valid_loss")


class TrainingCurveDisplay:
    """Training curves of a distilled student: losses and fidelity per epoch.

    Build it with :meth:`from_estimator` (or from a history's columns), then
    :meth:`plot`. Losses go on the left axis; ``teacher_agreement`` (share of
    sampled training rows where the student predicts the teacher's class) or
    ``teacher_r2`` (a regression student's R² against the teacher) on the
    right. Needs matplotlib.

    Parameters
    ----------
    epochs : ndarray of shape (n_epochs,)
        Epoch numbers, from 1.
    curves : dict of str -> ndarray of shape (n_epochs,)
        Each recorded quantity by its history name.
    estimator_name : str, default=None
        Shown in the title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The loss axis.
    fidelity_ax_ : matplotlib Axes or None
        The fidelity axis, when a fidelity curve is drawn.
    figure_ : matplotlib Figure
        The figure of the axes.
    lines_ : dict of str -> matplotlib Line2D
        Each drawn curve.

    See Also
    --------
    sklearn.model_selection.LearningCurveDisplay : The same kind of display for
        learning curves.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn_kd import DistilledClassifier, TrainingCurveDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    >>> model = DistilledClassifier(forest, max_epochs=10, early_stopping=True,
    ...                             random_state=0).fit(X, y)
    >>> display = TrainingCurveDisplay.from_estimator(model)
    >>> sorted(display.lines_)
    ['teacher_agreement', 'train_loss', 'valid_loss']
    """

    def __init__(self, *, epochs, curves, estimator_name=None):
        self.epochs = epochs
        self.curves = curves
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, curves=DEFAULT_CURVES, ax=None):
        """Plot the training history of a fitted distilled estimator.

        Parameters
        ----------
        estimator : DistilledClassifier or DistilledRegressor
            Fitted; its ``student_.history`` is read.
        curves : sequence of str, default=("train_loss", "valid_loss", \
"teacher_agreement", "teacher_r2")
            History names to draw, where the history records them (a custom
            ``EpochScoring`` name works too).
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        display : TrainingCurveDisplay
        """
        check_is_fitted(estimator)
        history = estimator.student_.history
        recorded = {
            name: np.array([epoch.get(name, np.nan) for epoch in history], dtype=float)
            for name in curves
            if any(name in epoch for epoch in history)
        }
        display = cls(
            epochs=np.arange(1, len(history) + 1),
            curves=recorded,
            estimator_name=type(estimator).__name__,
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        display : TrainingCurveDisplay
            Itself, with ``ax_``, ``fidelity_ax_``, ``figure_`` and ``lines_``.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError(
                "TrainingCurveDisplay needs matplotlib: pip install matplotlib"
            ) from exc
        if ax is None:
            _, ax = plt.subplots()
        self.lines_ = {}
        self.fidelity_ax_ = None
        for name, values in self.curves.items():
            target = ax
            if name not in _LOSSES:
                if self.fidelity_ax_ is None:
                    self.fidelity_ax_ = ax.twinx()
                    self.fidelity_ax_.set_ylabel("fidelity to the teacher")
                target = self.fidelity_ax_
            style = "--" if target is not ax else "-"
            (self.lines_[name],) = target.plot(
                self.epochs, values, style, label=name.replace("_", " ")
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        handles = list(self.lines_.values())
        ax.legend(handles, [line.get_label() for line in handles], loc="center right")
        if self.estimator_name:
            ax.set_title(f"{self.estimator_name}: training history")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

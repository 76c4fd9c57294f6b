"""StudentClassifier: a trained student on its own, ready to ship."""

import contextlib
import io
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import validate_data

from ._probability import softmax
from ._sklearn_compat import _check_feature_names
from ._student import predict_logits, shift_logit_bias


class _ProbabilityModule(torch.nn.Module):
    """The student's module followed by a softmax, for export."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return torch.softmax(self.module(x), dim=1)


class StudentClassifier(ClassifierMixin, BaseEstimator):
    """A trained student network as a standalone scikit-learn classifier.

    Made by :meth:`DistilledClassifier.export_student`. It holds the input
    encoding (scaling, imputation, one-hot encoding), the network and the class
    labels, and no reference to the teacher. It is already trained: ``fit`` only
    returns it unchanged.

    Pickles (and joblib files) run code when they are loaded: load them only
    from trusted sources. An ONNX file written by :meth:`to_onnx` holds no code
    and is the safe format to exchange.

    Parameters
    ----------
    module : torch.nn.Module
        The trained module, mapping raw feature rows to logits.
    classes : array-like of shape (n_classes,)
        Class labels, in the order of the module's outputs.
    feature_names : array-like of str, default=None
        Names of the input features, if known.
    category_codes : CategoryCodes, default=None
        The coding of non-numeric DataFrame columns learnt in training; when set,
        ``predict`` and ``predict_proba`` take such a DataFrame as it is. The ONNX
        graph takes the codes.
    allow_nan : bool, default=True
        Whether rows may hold NaN (the network imputes it); when False, NaN is an
        error, as it was for the estimator that exported this student.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Input feature names (only when ``feature_names`` is given).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_kd import DistilledClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> teacher = LogisticRegression(max_iter=500).fit(X, y)
    >>> distilled = DistilledClassifier(teacher, max_epochs=20, random_state=0)
    >>> student = distilled.fit(X, y).export_student()
    >>> student.predict_proba(X[:2]).shape
    (2, 3)
    """

    def __init__(
        self,
        module,
        classes,
        *,
        feature_names=None,
        category_codes=None,
        allow_nan=True,
    ):
        self.module = module
        self.classes = classes
        self.feature_names = feature_names
        self.category_codes = category_codes
        self.allow_nan = allow_nan

    def __sklearn_is_fitted__(self):
        return True

    @property
    def classes_(self):
        return np.asarray(self.classes)

    @property
    def n_features_in_(self):
        return self.module.encoder.n_features

    @property
    def feature_names_in_(self):
        if self.feature_names is None:
            raise AttributeError(
                "StudentClassifier was exported without feature names."
            )
        return np.asarray(self.feature_names, dtype=object)

    def fit(self, X=None, y=None):
        """Return the student unchanged: it is already trained.

        Parameters
        ----------
        X, y : ignored

        Returns
        -------
        self : StudentClassifier
        """
        return self

    def _logits(self, X):
        _check_feature_names(self, X, reset=False)
        if self.category_codes is not None:
            self.category_codes.check_columns(X, type(self).__name__)
            X = self.category_codes.encode(X)
        finite = "allow-nan" if self.allow_nan else True
        X = validate_data(
            self, X, reset=False, dtype=np.float32, ensure_all_finite=finite
        )
        device = next(self.module.buffers()).device
        return predict_logits(self.module, X, device=device)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return softmax(self._logits(X).astype(np.float64))

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return self.classes_[np.argmax(self._logits(X), axis=1)]

    def shift_logit_bias(self, class_label, shift):
        """Add ``shift`` to the logit of ``class_label``, in place.

        See :meth:`DistilledClassifier.shift_logit_bias`.

        Parameters
        ----------
        class_label : label
            A class in ``classes_``.
        shift : float
            Amount added to that class's logit.

        Returns
        -------
        self : StudentClassifier
        """
        shift_logit_bias(self.module, self.classes_, class_label, shift)
        return self

    def to_onnx(self, path):
        """Write the student, input encoding included, as one ONNX file.

        The graph takes a float32 input ``X`` of shape ``(batch, n_features)``
        with a dynamic batch size and returns ``probabilities`` of shape
        ``(batch, n_classes)``; the class labels are ``classes_``. Weights are
        stored inside the file. The file is written beside ``path`` under a
        temporary name and moved into place once complete, so a failure leaves
        neither a partial file nor a damaged older one. Needs the ``onnx`` extra
        (``pip install "sklearn-kd[onnx]"``).

        Parameters
        ----------
        path : str or path-like
            Where to write the ``.onnx`` file.

        Returns
        -------
        path : str or path-like
            The path written.
        """
        try:
            import onnxscript  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                "ONNX export needs onnx and onnxscript: pip install 'sklearn-kd[onnx]'"
            ) from exc
        model = _ProbabilityModule(self.module).cpu().eval()
        example = torch.zeros(2, self.n_features_in_)
        batch = torch.export.Dim("batch")
        with atomic_file(path) as temporary, quiet_onnx_exporter():
            torch.onnx.export(
                model,
                (example,),
                str(temporary),
                input_names=["X"],
                output_names=["probabilities"],
                dynamic_shapes=({0: batch},),
                external_data=False,
                dynamo=True,
                verbose=False,
            )
        return path


@contextlib.contextmanager
def atomic_file(path):
    """Yield a temporary path beside ``path``; move it into place on success.

    The temporary file gets the permissions a new file would get; on an error it
    is removed and ``path`` is left as it was.
    """
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    os.close(descriptor)
    try:
        yield temporary
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's files are private
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)


@contextlib.contextmanager
def quiet_onnx_exporter():
    """Silence torch's ONNX exporter: its progress lines, logs and warnings."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)

"""StudentClassifier and StudentRegressor: a trained student on its own, to ship.

It is made by ``export_student()`` (holding the torch module) or by
:func:`load_student` (holding its numpy form, so that it predicts without
torch). This module imports torch only where a torch module is used.
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import validate_data

from .._files import atomic_file
from .._probability import log_softmax, softmax
from .._sklearn_compat import _check_feature_names
from ..student._input_offset import checked_offset, student_rows
from ._inference import StudentInference, lean_rows
from ._numpy_student import NumpyNetwork
from ._student_file import read_student, write_student


def _n_features(module):
    if isinstance(module, NumpyNetwork):
        return module.n_features_in
    return module.encoder.n_features


class _ExportedStudent(BaseEstimator):
    """What the exported classifier and regressor share: input checks, the
    numpy or torch evaluation, the numpy file and ONNX."""

    _kind = None

    def __sklearn_is_fitted__(self):
        return True

    @property
    def n_features_in_(self):
        return _n_features(self.module)

    @property
    def feature_names_in_(self):
        if self.feature_names is None:
            raise AttributeError(
                f"{type(self).__name__} was exported without feature names."
            )
        return np.asarray(self.feature_names, dtype=object)

    def fit(self, X=None, y=None):
        """Return the student unchanged: it is already trained.

        Given data, it warns: a meta-estimator that fits its own clone on each
        fold (``CalibratedClassifierCV(student, cv=5)``, ``cross_validate``)
        would silently reuse this one network. Wrap the student in
        :class:`sklearn.frozen.FrozenEstimator` to say that this is intended.

        Parameters
        ----------
        X, y : ignored

        Returns
        -------
        self
        """
        if X is not None:
            warnings.warn(
                f"{type(self).__name__}.fit does not train: the exported student "
                "is already trained and ignores X and y, so every fold of a cross-"
                "validation or calibration reuses the same network. Wrap it in "
                "sklearn.frozen.FrozenEstimator when that is intended, or fit a "
                "DistilledClassifier / DistilledRegressor to train on these rows.",
                UserWarning,
                stacklevel=2,
            )
        return self

    def _inference(self):
        inference = self.__dict__.get("_inference_cache")
        if inference is None or inference.module is not self.module:
            device = "cpu"
            if not isinstance(self.module, NumpyNetwork):
                device = next(self.module.buffers()).device
            inference = StudentInference(self.module, device)
            self.__dict__["_inference_cache"] = inference
        return inference

    def __getstate__(self):
        from ._skops import StudentState

        # A copy: object.__getstate__ returns the instance's own __dict__.
        state = dict(super().__getstate__())
        state.pop("_inference_cache", None)
        if "module" in state:
            # Pickled whole; skops.io gets its numbers (see sklearn_kd.serving._skops).
            state["module"] = StudentState(
                state["module"], classes=self._file_description()["classes"]
            )
        return state

    def __setstate__(self, state):
        from ._skops import StudentState

        module = state.get("module")
        if isinstance(module, StudentState):
            state = {**state, "module": module.module()}
        super().__setstate__(state)

    def _outputs(self, X):
        """The network's raw outputs for ``X``, checked as in training."""
        inference = self._inference()
        rows = None
        offset = checked_offset(self.input_offset, inference.n_features)
        plain = self.category_codes is None and self.feature_names is None
        if plain and offset is None:
            rows = lean_rows(X, inference.n_features, self.allow_nan)
        if rows is None:
            _check_feature_names(self, X, reset=False)
            if self.category_codes is not None:
                self.category_codes.check_columns(X, type(self).__name__)
                X = self.category_codes.encode(X)
            finite = "allow-nan" if self.allow_nan else True
            dtype = np.float32 if offset is None else np.float64
            X = validate_data(
                self, X, reset=False, dtype=dtype, ensure_all_finite=finite
            )
            rows = student_rows(X, offset)
        return inference.logits(rows)

    def _torch_module(self):
        if isinstance(self.module, NumpyNetwork):
            from ..student._network import module_from_numpy

            return module_from_numpy(self.module)
        return self.module

    def _file_description(self):
        """What :meth:`save` records beside the arrays."""
        return {"feature_names": self.feature_names, "classes": None}

    def save(self, path):
        """Write the student in the numpy format: arrays plus a JSON description.

        The file (one ``.npz``) holds no code and loads with numpy alone, through
        :func:`load_student`. It needs the default MLP student; a custom
        ``student`` module ships as a pickle or as ONNX. The file is written
        beside ``path`` under a temporary name and moved into place once
        complete.

        Parameters
        ----------
        path : str or path-like
            Where to write the file (``.npz`` is customary; no suffix is added).

        Returns
        -------
        path : str or path-like
            The path written.
        """
        network = self.module
        if not isinstance(network, NumpyNetwork):
            network = NumpyNetwork.from_module(self.module)
        if network is None:
            raise TypeError(
                f"save writes the default MLP student; this student's network is a "
                f"{type(self.module.network).__name__}. Pickle it, or export it with "
                "to_onnx."
            )
        with atomic_file(path) as temporary, open(temporary, "wb") as file:
            write_student(
                file,
                network,
                kind=self._kind,
                category_codes=self.category_codes,
                allow_nan=self.allow_nan,
                input_offset=self.input_offset,
                **self._file_description(),
            )
        return path

    def _export_onnx(self, path, output_name, output_transform, classes=None):
        from ._onnx import export_onnx

        return export_onnx(
            path,
            self._torch_module(),
            n_features=self.n_features_in_,
            kind=self._kind,
            classes=classes,
            feature_names=self.feature_names,
            category_codes=self.category_codes,
            input_offset=self.input_offset,
            output_name=output_name,
            output_transform=output_transform,
        )


_ONNX_DOC = """

        A student trained on numbers takes a float32 input ``X`` of shape
        ``(batch, n_features)`` (float64 where it has an ``input_offset``, for
        columns far from zero such as timestamps, subtracted inside the graph
        before the cast to float32); one trained on a DataFrame with string columns
        takes one input per column, named after it, of shape ``(batch, 1)``
        (strings for string columns, float32 for the others), and codes the
        strings inside the graph. The batch size is dynamic. The expected columns
        and the category mapping are in the model's ``metadata_props`` (keys in
        the user guide's deployment page). The file is written beside ``path``
        under a temporary name and moved into place once complete. Needs the
        ``onnx`` extra (``pip install "sklearn-kd[onnx]"``).

        Parameters
        ----------
        path : str or path-like
            Where to write the ``.onnx`` file.

        Returns
        -------
        path : str or path-like
            The path written.
        """


class StudentClassifier(ClassifierMixin, _ExportedStudent):
    """A trained student network as a standalone scikit-learn classifier.

    Made by :meth:`DistilledClassifier.export_student`, or loaded from the numpy
    format by :func:`load_student`. It holds the input encoding (scaling,
    piecewise-linear bins, imputation, one-hot encoding), the network and the
    class labels, and no reference to the teacher. It is already trained:
    ``fit`` only returns it unchanged. It checks its input as the estimator
    that made it did: the number of columns, their names and order when it was
    trained on a DataFrame, and the NaN and infinity rules.

    Three formats ship it (see the user guide's deployment page): a pickle
    (needs torch to load; runs code when loaded, so load only trusted files),
    the numpy format of :meth:`save` (needs numpy alone, holds no code) and
    ONNX (:meth:`to_onnx`, holds no code).

    Parameters
    ----------
    module : torch.nn.Module or NumpyNetwork
        The trained module, mapping raw feature rows to logits, or its numpy
        form (as :func:`load_student` builds it).
    classes : array-like of shape (n_classes,)
        Class labels, in the order of the module's outputs.
    feature_names : array-like of str, default=None
        Names of the input features, if known.
    category_codes : CategoryCodes, default=None
        The coding of non-numeric DataFrame columns learnt in training; when set,
        ``predict`` and ``predict_proba`` take such a DataFrame as it is.
    allow_nan : bool, default=True
        Whether rows may hold NaN (the network imputes it); when False, NaN is an
        error, as it was for the estimator that exported this student.
    input_offset : ndarray of shape (n_features,), default=None
        Float64 shifts subtracted from the columns before the float32 cast, for
        columns far from zero (a timestamp); None when none is needed.

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

    _kind = "classifier"

    def __init__(
        self,
        module,
        classes,
        *,
        feature_names=None,
        category_codes=None,
        allow_nan=True,
        input_offset=None,
    ):
        self.module = module
        self.classes = classes
        self.feature_names = feature_names
        self.category_codes = category_codes
        self.allow_nan = allow_nan
        self.input_offset = input_offset

    @property
    def classes_(self):
        return np.asarray(self.classes)

    def _file_description(self):
        return {"feature_names": self.feature_names, "classes": self.classes_}

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the columns (and names) the student was fitted on.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; rows sum to 1.
        """
        return softmax(self._outputs(X))

    def predict_log_proba(self, X):
        """Log of the class probabilities, computed from the logits.

        Unlike the log of ``predict_proba``, it stays finite where a
        probability underflows to 0.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the columns (and names) the student was fitted on.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        return log_softmax(self._outputs(X))

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the columns (and names) the student was fitted on.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        logits = self._outputs(X)
        return self.classes_[np.argmax(logits, axis=1)]

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
            The student, shifted.
        """
        from ..student._network import class_index

        position = class_index(self.classes_, class_label)
        if isinstance(self.module, NumpyNetwork):
            network = self.module
            shifted = network.output_shift.copy()
            shifted[position] += shift
            self.module = NumpyNetwork(
                network.encoding,
                network.weights,
                network.biases,
                network.output_scale,
                shifted,
            )
        else:
            import torch

            with torch.no_grad():
                self.module.output_shift[position] += shift
        return self

    def to_onnx(self, path):
        """Write the student, input encoding included, as one ONNX file.

        The output is ``probabilities`` of shape ``(batch, n_classes)``, in the
        order of ``classes_`` (also in the ``sklearn_kd.classes`` metadata)."""

        import torch

        return self._export_onnx(
            path,
            "probabilities",
            lambda logits: torch.softmax(logits, dim=1),
            classes=self.classes_,
        )

    to_onnx.__doc__ += _ONNX_DOC


class StudentRegressor(RegressorMixin, _ExportedStudent):
    """A trained regression student as a standalone scikit-learn regressor.

    Made by :meth:`DistilledRegressor.export_student`, or loaded from the numpy
    format by :func:`load_student`. It holds the input encoding, the network
    and the map back to the targets' units, and no reference to the teacher. It
    is already trained: ``fit`` only returns it unchanged. It checks its input as
    the estimator that made it did.

    Parameters
    ----------
    module : torch.nn.Module or NumpyNetwork
        The trained module, mapping raw feature rows to predictions, or its numpy
        form.
    n_outputs : int, default=1
        Number of targets; one gives 1-D predictions.
    feature_names : array-like of str, default=None
        Names of the input features, if known.
    category_codes : CategoryCodes, default=None
        The coding of non-numeric DataFrame columns learnt in training.
    allow_nan : bool, default=True
        Whether rows may hold NaN (the network imputes it).
    input_offset : ndarray of shape (n_features,), default=None
        Float64 shifts subtracted from the columns before the float32 cast, for
        columns far from zero (a timestamp); None when none is needed.

    Attributes
    ----------
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Input feature names (only when ``feature_names`` is given).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn_kd import DistilledRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> teacher = Ridge().fit(X, y)
    >>> distilled = DistilledRegressor(teacher, max_epochs=20, random_state=0)
    >>> student = distilled.fit(X, y).export_student()
    >>> student.predict(X[:2]).shape
    (2,)
    """

    _kind = "regressor"

    def __init__(
        self,
        module,
        *,
        n_outputs=1,
        feature_names=None,
        category_codes=None,
        allow_nan=True,
        input_offset=None,
    ):
        self.module = module
        self.n_outputs = n_outputs
        self.feature_names = feature_names
        self.category_codes = category_codes
        self.allow_nan = allow_nan
        self.input_offset = input_offset

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the columns (and names) the student was fitted on.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            One column per output; 1-D for a single target.
        """
        output = self._outputs(X).astype(np.float64)
        return output[:, 0] if self.n_outputs == 1 else output

    def to_onnx(self, path):
        """Write the student, input encoding included, as one ONNX file.

        The output is ``predictions`` of shape ``(batch, n_outputs)``, in the
        targets' units."""

        return self._export_onnx(path, "predictions", lambda outputs: outputs)

    to_onnx.__doc__ += _ONNX_DOC


def load_student(path):
    """Load a student written by ``save``, without torch.

    ``path`` is a file written by :meth:`StudentClassifier.save` or
    :meth:`StudentRegressor.save`.

    Needs numpy alone (no torch), and runs no code from the file.

    Parameters
    ----------
    path : str or path-like
        A file written by ``save``.

    Returns
    -------
    student : StudentClassifier or StudentRegressor
        With ``predict`` (and a classifier's ``predict_proba`` and
        ``classes_``), ``feature_names_in_`` and the same input checks as the
        student that was saved.

    Raises
    ------
    ValueError
        The file is not a student file, is damaged, or was written in a newer
        format version than this sklearn-kd reads.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_kd import DistilledClassifier, load_student
    >>> X, y = load_iris(return_X_y=True)
    >>> teacher = LogisticRegression(max_iter=500).fit(X, y)
    >>> student = DistilledClassifier(teacher, max_epochs=20, random_state=0)
    >>> student = student.fit(X, y).export_student()
    >>> path = os.path.join(tempfile.mkdtemp(), "student.npz")
    >>> loaded = load_student(student.save(path))
    >>> bool((loaded.predict(X) == student.predict(X)).all())
    True
    """
    network, meta = read_student(path)
    category_codes = None
    if meta["category_codes"] is not None:
        from .._categorical import CategoryCodes

        category_codes = CategoryCodes(
            {
                column: np.asarray(values, dtype=object)
                for column, values in meta["category_codes"].items()
            }
        )
    common = {
        "feature_names": meta["feature_names"],
        "category_codes": category_codes,
        "allow_nan": meta["allow_nan"],
        "input_offset": None
        if meta["input_offset"] is None
        else np.asarray(meta["input_offset"], dtype=np.float64),
    }
    if meta["kind"] == "regressor":
        return StudentRegressor(network, n_outputs=network.n_outputs, **common)
    return StudentClassifier(network, np.asarray(meta["classes"]), **common)

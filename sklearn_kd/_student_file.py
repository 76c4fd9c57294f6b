"""The torch-free file format of a trained student: arrays plus a JSON description.

One ``.npz`` file (numpy's zip of arrays, read with ``allow_pickle=False``) holds
every array of the student's numpy form and, under ``__meta__``, a JSON document:

- ``format``: ``"sklearn-kd student"``; ``format_version``: an integer;
- ``kind``: ``"classifier"`` (or ``"regressor"``);
- ``n_features``, ``feature_names`` (or null), ``encoding``, ``n_layers``;
- ``classes``: the class labels (numbers or strings, in output order);
- ``category_codes``: each string column's categories, in code order (or null);
- ``allow_nan``; ``written_by``: the sklearn-kd version.

The file holds no code: loading it runs none, unlike a pickle. A file of a newer
format version, or one that is not such a file or is damaged, is refused with a
clear error. Reading needs numpy alone.
"""

import json
import zipfile

import numpy as np

from ._numpy_student import NumpyNetwork

FORMAT = "sklearn-kd student"
FORMAT_VERSION = 1
_META = "__meta__"


def _json_values(values, what):
    values = np.asarray(values).tolist()
    try:
        json.dumps(values)
    except TypeError as error:
        raise TypeError(
            f"The student's {what} cannot be written to the numpy format, which "
            f"stores them as JSON numbers or strings: {error}. Pickle the student, "
            "or export it to ONNX."
        ) from None
    return values


def write_student(
    file,
    network,
    *,
    kind,
    classes,
    feature_names,
    category_codes,
    allow_nan,
    extra=None,
):
    """Write ``network`` and its description to the open binary ``file``."""
    from . import __version__

    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "n_features": int(network.n_features_in),
        "feature_names": None
        if feature_names is None
        else _json_values(feature_names, "feature names"),
        "encoding": network.encoding.encoding,
        "n_layers": len(network.weights),
        "classes": None if classes is None else _json_values(classes, "class labels"),
        "category_codes": None
        if category_codes is None
        else {
            str(column): _json_values(values, f"categories of column {column!r}")
            for column, values in category_codes.categories.items()
        },
        "allow_nan": bool(allow_nan),
        "written_by": __version__,
    }
    np.savez_compressed(file, **network.arrays(), **{_META: np.array(json.dumps(meta))})


def read_student(path):
    """Read a student file; return its numpy network and its description.

    Raises
    ------
    ValueError
        The file is not a student file, is damaged, or is of a newer format.
    """
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(
            f"{path} is not a readable sklearn-kd student file ({error}); write one "
            "with StudentClassifier.save."
        ) from error
    try:
        meta = json.loads(str(arrays.pop(_META)))
        if meta.get("format") != FORMAT:
            raise KeyError("format")
    except (KeyError, ValueError) as error:
        raise ValueError(
            f"{path} is an .npz file but not a sklearn-kd student file (no valid "
            f"{_META} description)."
        ) from error
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written in student file format version {version} (by "
            f"sklearn-kd {meta.get('written_by')}); this sklearn-kd reads versions up "
            f"to {FORMAT_VERSION}: upgrade sklearn-kd to load it."
        )
    try:
        network = NumpyNetwork.from_arrays(
            arrays, meta["n_features"], meta["encoding"], meta["n_layers"]
        )
        _check_consistent(network, meta)
    except (KeyError, ValueError, TypeError) as error:
        raise ValueError(
            f"{path} is a damaged sklearn-kd student file: {error}"
        ) from error
    return network, meta


def _check_consistent(network, meta):
    """Raise ValueError unless the arrays fit together and with the description."""
    width = network.encoding.n_outputs
    for weight, bias in zip(network.weights, network.biases, strict=True):
        if (
            weight.ndim != 2
            or weight.shape[0] != width
            or bias.shape != (weight.shape[1],)
        ):
            raise ValueError(
                f"layer shapes do not chain ({weight.shape}, {bias.shape})"
            )
        width = weight.shape[1]
    if network.output_shift.shape != (width,) or network.output_scale.shape != (width,):
        raise ValueError("the output scale or shift does not match the last layer")
    classes = meta.get("classes")
    if classes is not None and len(classes) != width:
        raise ValueError(f"{len(classes)} classes for {width} outputs")
    spec = network.encoding
    for name in ("numeric_column", "bin_column", "missing_column", "category_column"):
        columns = getattr(spec, name)
        if len(columns) and (columns.min() < 0 or columns.max() >= spec.n_features):
            raise ValueError(f"{name} refers to columns outside the input")

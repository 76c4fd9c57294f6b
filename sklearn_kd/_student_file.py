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

from ._encoding import ENCODINGS, EncodingSpec
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

    Only the members the format defines are read, each after its header's
    dtype and shape were checked against the description and its stored size
    against that shape: nothing is decompressed that the format does not use.

    Raises
    ------
    ValueError
        The file is not a student file, is damaged, or is of a newer format;
        the message names the file.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            if f"{_META}.npy" not in archive.namelist():
                raise _Refusal(
                    f"is an .npz file but not a sklearn-kd student file (no {_META} "
                    "description)."
                )
            meta = _checked_meta(_read_member(archive, _META, path))
            network = NumpyNetwork.from_arrays(
                _read_arrays(archive, meta),
                meta["n_features"],
                meta["encoding"],
                meta["n_layers"],
            )
        _check_consistent(network, meta)
    except FileNotFoundError:
        raise
    except _Refusal as error:
        raise ValueError(f"{path} {error}") from None
    except Exception as error:  # any damage, however it shows, is one error
        raise ValueError(
            f"{path} is not a readable sklearn-kd student file, or is damaged "
            f"({type(error).__name__}: {error}); write one with "
            "StudentClassifier.save or StudentRegressor.save."
        ) from error
    return network, meta


class _Refusal(Exception):
    """A refusal whose message says it all (after the file's name)."""


#: The most bytes one member may hold once decompressed.
MAX_MEMBER_BYTES = 2**31
#: The description is small: a few names, classes and categories.
MAX_META_BYTES = 2**26
_INDEX_FIELDS = ("numeric_column", "bin_column", "missing_column", "category_column")


def _read_member(archive, name, path, dtype=None, shape=None):
    """One ``.npy`` member, its header checked before its data is read."""
    info = archive.getinfo(f"{name}.npy")
    with archive.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        stored_shape, fortran, stored_dtype = header(stream)
        if name == _META:
            if stored_dtype.kind != "U" or stored_shape != ():
                raise ValueError("the description is not one string")
            limit = MAX_META_BYTES
        else:
            if stored_dtype != dtype or len(stored_shape) != len(shape):
                raise ValueError(
                    f"{name} is {stored_dtype}{list(stored_shape)}, expected "
                    f"{dtype} of {len(shape)} dimensions"
                )
            if any(
                want is not None and got != want
                for got, want in zip(stored_shape, shape, strict=True)
            ):
                raise ValueError(f"{name} has shape {stored_shape}, expected {shape}")
            limit = MAX_MEMBER_BYTES
        n_bytes = int(np.prod(stored_shape, dtype=np.int64)) * stored_dtype.itemsize
        if n_bytes > limit or info.file_size != stream.tell() + n_bytes:
            raise ValueError(f"{name}'s stored size does not match its header")
        data = stream.read(n_bytes)
    array = np.frombuffer(data, dtype=stored_dtype).reshape(
        stored_shape, order="F" if fortran else "C"
    )
    return json.loads(str(array)) if name == _META else array.copy()


def _checked_meta(meta):
    """The description, every key of the right type, or a ValueError."""

    def need(condition, what):
        if not condition:
            raise ValueError(f"the description's {what}")

    need(isinstance(meta, dict), "top level is not an object")
    need(meta.get("format") == FORMAT, "format is not a student file's")
    version = meta.get("format_version")
    need(_is_int(version) and version >= 1, "format_version is not an integer")
    if version > FORMAT_VERSION:
        raise _Refusal(
            f"was written in student file format version {version} (by sklearn-kd "
            f"{meta.get('written_by')}); this sklearn-kd reads versions up to "
            f"{FORMAT_VERSION}: upgrade sklearn-kd to load it."
        )
    kind, classes = meta.get("kind"), meta.get("classes")
    need(
        kind in ("classifier", "regressor"),
        "kind is neither a classifier nor a regressor",
    )
    if kind == "classifier":
        need(isinstance(classes, list) and len(classes) >= 2, "classes are missing")
        need(all(_is_label(c) for c in classes), "classes are not numbers or strings")
    else:
        need(classes is None, "kind says regressor, but it has classes")
    n_features = meta.get("n_features")
    need(_is_int(n_features) and n_features >= 1, "n_features is not a count")
    names = meta.get("feature_names")
    need(
        names is None
        or (
            isinstance(names, list)
            and len(names) == n_features
            and all(isinstance(n, str) for n in names)
        ),
        "feature_names are not one string per feature",
    )
    need(meta.get("encoding") in ENCODINGS, "encoding is unknown")
    need(
        _is_int(meta.get("n_layers")) and meta["n_layers"] >= 1,
        "n_layers is not a count",
    )
    codes = meta.get("category_codes")
    need(
        codes is None
        or (
            isinstance(codes, dict)
            and all(
                isinstance(values, list) and all(_is_label(v) for v in values)
                for values in codes.values()
            )
        ),
        "category_codes are not lists of labels by column",
    )
    need(isinstance(meta.get("allow_nan"), bool), "allow_nan is not true or false")
    return meta


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_label(value):
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _read_arrays(archive, meta):
    """The members the description implies, and no others."""
    expected = {_META}
    arrays = {}

    def read(name, dtype, shape):
        expected.add(name)
        arrays[name] = _read_member(archive, name, None, np.dtype(dtype), shape)
        return arrays[name]

    for field in EncodingSpec.__dataclass_fields__:
        if field in ("n_features", "encoding"):
            continue
        read(
            f"encoding/{field}",
            "int64" if field in _INDEX_FIELDS else "float64",
            (None,),
        )
    width = None
    for layer in range(meta["n_layers"]):
        weight = read(f"layer{layer}/weight", "float32", (width, None))
        width = weight.shape[1]
        read(f"layer{layer}/bias", "float32", (width,))
    read("output_scale", "float32", (width,))
    read("output_shift", "float32", (width,))
    members = {name.removesuffix(".npy") for name in archive.namelist()}
    if members != expected:
        raise ValueError(
            f"members the format does not define: {sorted(members - expected)}"
        )
    return arrays


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

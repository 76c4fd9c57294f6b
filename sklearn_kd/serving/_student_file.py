"""The torch-free file format of a trained student: arrays plus a JSON description.

One ``.npz`` file (numpy's zip of arrays, read with ``allow_pickle=False``) holds
every array of the student's numpy form and, under ``__meta__``, a JSON document:

- ``format``: ``"sklearn-kd student"``; ``format_version``: an integer;
- ``kind``: ``"classifier"`` (or ``"regressor"``);
- ``n_features``, ``feature_names`` (or null), ``encoding``, ``n_layers``;
- ``classes``: the class labels (numbers or strings, in output order);
- ``category_codes``: each string column's categories, in code order (or null);
- ``allow_nan``; ``written_by``: the sklearn-kd version;
- optionally ``input_offset``: one float64 shift per input column, subtracted
  before the float32 cast (see ``sklearn_kd.student._input_offset``); absent when no
  column needs one.

Each array is a member ``<name>.npy``: ``encoding/<field>`` for each field of
the input encoding, ``layer<i>/weight`` and ``layer<i>/bias`` for each of the
``n_layers`` layers, ``output_scale`` and ``output_shift``.

What reading trusts, and what it checks: the file holds no code, and loading it
runs none, unlike a pickle (arrays are read with ``allow_pickle=False``, the
description with ``json``). Every key of the description is checked for its
type and value; a member the format does not define refuses the file, unread.
Each array's dtype and shape, from its ``.npy`` header (a few bytes), are
checked against the description and the other arrays (the layers chain, a
classifier has one output per class), and its uncompressed size (the zip's
record of it) against that shape, before any array is decompressed: memory
grows with the network that the file describes, not with what its members
would inflate to. The description itself is refused over ``MAX_META_BYTES``.
What is trusted is the network's numbers: a file whose arrays and description
agree loads, so a tampered file that stays consistent (a classifier relabelled
a regressor with its classes removed, say) is not detected. A file of a newer
format version is refused with a request to upgrade; any other file that is not
such a file, or is damaged, with one ValueError naming it. Reading needs numpy
alone.
"""

import json
import math
import zipfile

import numpy as np

from ..student._encoding import ENCODINGS, EncodingSpec
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


def student_description(*, kind, classes, feature_names, category_codes):
    """What a student's files say of it, as JSON values under the keys both
    formats use: the ``.npz`` file's description and the ONNX file's
    ``sklearn_kd.<key>`` metadata."""
    return {
        "kind": kind,
        "classes": None if classes is None else _json_values(classes, "class labels"),
        "feature_names": None
        if feature_names is None
        else _json_values(feature_names, "feature names"),
        "category_codes": None
        if category_codes is None
        else {
            str(column): _json_values(values, f"categories of column {column!r}")
            for column, values in category_codes.categories.items()
        },
    }


def write_student(
    file,
    network,
    *,
    kind,
    classes,
    feature_names,
    category_codes,
    allow_nan,
    input_offset=None,
):
    """Write ``network`` and its description to the open binary ``file``."""
    from .. import __version__

    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **student_description(
            kind=kind,
            classes=classes,
            feature_names=feature_names,
            category_codes=category_codes,
        ),
        "n_features": int(network.n_features_in),
        "encoding": network.encoding.encoding,
        "n_layers": len(network.weights),
        "allow_nan": bool(allow_nan),
        "written_by": __version__,
    }
    if input_offset is not None:  # JSON keeps a float64 exactly (shortest repr)
        meta["input_offset"] = [float(value) for value in input_offset]
    np.savez_compressed(file, **network.arrays(), **{_META: np.array(json.dumps(meta))})


#: The description holds names, classes and categories; a larger one is refused
#: before it is decompressed.
MAX_META_BYTES = 2**26
_NPY = ".npy"
_META_KEYS = frozenset(
    {
        "format",
        "format_version",
        "kind",
        "n_features",
        "feature_names",
        "encoding",
        "n_layers",
        "classes",
        "category_codes",
        "allow_nan",
        "written_by",
    }
)
_OPTIONAL_META_KEYS = frozenset({"input_offset"})
_ENCODING_FIELDS = tuple(
    name
    for name in EncodingSpec.__dataclass_fields__
    if name not in ("n_features", "encoding")
)


class _Refusal(Exception):
    """A refusal whose message says it all (after the file's name)."""


def read_student(path):
    """Read a student file; return its numpy network and its description.

    The description is read first and checked key by key. Then every member
    the format defines is checked by its ``.npy`` header alone: dtype and shape
    against the description and the other members, stored size against the
    header. Only then is any array decompressed.

    Raises
    ------
    ValueError
        The file is not a student file, is damaged, or is of a newer format;
        the message names the file.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = _members(archive)
            if _META not in members:
                raise _Refusal(
                    f"is an .npz file but not a sklearn-kd student file (no {_META} "
                    "description)."
                )
            info = members.pop(_META)
            _need(info.file_size <= MAX_META_BYTES, f"{_META} is too large")
            shape, _, dtype = _header(archive, info)
            _need(dtype.kind == "U" and shape == (), f"{_META} is not one string")
            meta = _checked_meta(json.loads(str(_read(archive, info))))
            _need(
                meta["n_layers"] <= len(members),
                "n_layers exceeds the layers the file holds",
            )
            names = _array_names(meta["n_layers"])
            unknown = sorted(members[name].filename for name in members.keys() - names)
            _need(not unknown, f"it holds members the format does not define {unknown}")
            missing = [name for name in names if name not in members]
            _need(not missing, f"it lacks the arrays {missing}")
            _check_shapes(
                {name: _header(archive, members[name]) for name in names}, meta
            )
            arrays = {name: _read(archive, members[name]) for name in names}
        network = NumpyNetwork.from_arrays(
            arrays, meta["n_features"], meta["encoding"], meta["n_layers"]
        )
        _check_columns(network.encoding)
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


def _need(condition, what):
    if not condition:
        raise ValueError(what)


def _members(archive):
    """The archive's members by array name (a name not ending in ``.npy`` is
    kept whole, so that it is refused as unknown)."""
    members = {}
    for info in archive.infolist():
        name = info.filename.removesuffix(_NPY)
        _need(name not in members, f"it holds {info.filename} twice")
        members[name] = info
    return members


def _header(archive, info):
    """A member's ``.npy`` header (shape, fortran order, dtype), its stored size
    checked against it; reads the header's few bytes alone."""
    with archive.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        _need(version in ((1, 0), (2, 0)), f"{info.filename} is not a .npy array")
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(stream)
        offset = stream.tell()
    _need(
        not dtype.hasobject and all(length >= 0 for length in shape),
        f"{info.filename} is not an array of numbers or text",
    )
    _need(
        info.file_size == offset + math.prod(shape) * dtype.itemsize,
        f"{info.filename}'s stored size does not match its header",
    )
    return shape, fortran, dtype


def _read(archive, info):
    with archive.open(info) as stream:
        # Reading to the member's end makes zipfile check its CRC.
        return np.lib.format.read_array(stream, allow_pickle=False)


def _array_names(n_layers):
    """The names of the arrays that a network of ``n_layers`` layers holds."""
    layers = [
        f"layer{i}/{part}" for i in range(n_layers) for part in ("weight", "bias")
    ]
    return [
        *(f"encoding/{name}" for name in _ENCODING_FIELDS),
        *layers,
        "output_scale",
        "output_shift",
    ]


def _checked_meta(meta):
    """The description, every key present and of the right type and value."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _Refusal(
            f"is an .npz file but not a sklearn-kd student file (its {_META} "
            "description is not one)."
        )
    version = meta.get("format_version")
    _need(
        _is_int(version) and version >= 1,
        "the description's format_version is not a positive integer",
    )
    if version > FORMAT_VERSION:
        by = meta.get("written_by")
        raise _Refusal(
            f"was written in student file format version {version}"
            f"{f' (by sklearn-kd {by})' if isinstance(by, str) else ''}; this "
            f"sklearn-kd reads versions up to {FORMAT_VERSION}: upgrade sklearn-kd "
            "to load it."
        )
    missing = _META_KEYS - meta.keys()
    unknown = meta.keys() - _META_KEYS - _OPTIONAL_META_KEYS
    _need(not missing, f"the description lacks {sorted(missing)}")
    _need(not unknown, f"the description has keys the format lacks {sorted(unknown)}")

    def check(key, condition, what):
        _need(condition, f"the description's {key} {what}")

    n_features, kind, classes = meta["n_features"], meta["kind"], meta["classes"]
    check("kind", kind in ("classifier", "regressor"), "is unknown")
    if kind == "classifier":
        check(
            "classes",
            isinstance(classes, list)
            and len(classes) >= 2
            and all(map(_is_label, classes))
            and len(set(classes)) == len(classes),
            "are not two distinct labels or more",
        )
    else:
        check("classes", classes is None, "are given, but the kind is regressor")
    check("n_features", _is_int(n_features) and n_features >= 1, "is not a count")
    names = meta["feature_names"]
    check(
        "feature_names",
        names is None
        or (
            isinstance(names, list)
            and len(names) == n_features
            and all(isinstance(name, str) for name in names)
        ),
        "are not one string per feature",
    )
    check("encoding", meta["encoding"] in ENCODINGS, "is unknown")
    check(
        "n_layers",
        _is_int(meta["n_layers"]) and meta["n_layers"] >= 1,
        "is not a count",
    )
    codes = meta["category_codes"]
    check(
        "category_codes",
        codes is None
        or (
            isinstance(codes, dict)
            and len(codes) <= n_features
            and (names is None or set(codes) <= set(names))
            and all(
                isinstance(values, list) and all(map(_is_label, values))
                for values in codes.values()
            )
        ),
        "are not lists of labels by input column",
    )
    check("allow_nan", isinstance(meta["allow_nan"], bool), "is not true or false")
    check("written_by", isinstance(meta["written_by"], str), "is not a version")
    offset = meta.setdefault("input_offset", None)
    check(
        "input_offset",
        offset is None
        or (
            isinstance(offset, list)
            and len(offset) == n_features
            and all(
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
                for value in offset
            )
        ),
        "is not one finite number per feature",
    )
    return meta


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_label(value):
    return isinstance(value, (str, int, float))


def _check_shapes(headers, meta):
    """Raise ValueError unless the arrays' dtypes and shapes, from their headers,
    fit together and with the description."""

    def shape(name, kinds, n_dims):
        stored_shape, _, dtype = headers[name]
        # Any width and byte order: a file may come from another platform.
        _need(
            dtype.kind in kinds and len(stored_shape) == n_dims,
            f"{name} is {dtype} of shape {stored_shape}",
        )
        return stored_shape

    width = 0
    for group in dict.fromkeys(name.split("_")[0] for name in _ENCODING_FIELDS):
        (length,) = shape(f"encoding/{group}_column", "iu", 1)
        width += length
        for name in _ENCODING_FIELDS:
            if name.startswith(f"{group}_") and name != f"{group}_column":
                _need(
                    shape(f"encoding/{name}", "f", 1) == (length,),
                    f"encoding/{name} does not match encoding/{group}_column",
                )
    _need(width >= 1, "the encoding has no output")
    for layer in range(meta["n_layers"]):
        n_in, n_out = shape(f"layer{layer}/weight", "f", 2)
        _need(
            n_in == width
            and n_out >= 1
            and shape(f"layer{layer}/bias", "f", 1) == (n_out,),
            f"layer {layer}'s shapes do not follow on from the layer before",
        )
        width = n_out
    for name in ("output_scale", "output_shift"):
        _need(shape(name, "f", 1) == (width,), f"{name} does not match the last layer")
    classes = meta["classes"]
    if classes is not None:
        _need(len(classes) == width, f"{len(classes)} classes for {width} outputs")


def _check_columns(spec):
    """Raise ValueError unless the encoding reads columns of the input only."""
    for name in _ENCODING_FIELDS:
        if name.endswith("_column"):
            columns = getattr(spec, name)
            if len(columns) and (columns.min() < 0 or columns.max() >= spec.n_features):
                raise ValueError(f"{name} refers to columns outside the input")

"""The numpy student file read from an untrusted source: every damaged or
tampered file is refused with one ValueError naming it, before anything large
is decompressed; saving names the user's path in its errors."""

import errno
import io
import json
import os
import re
import tracemalloc
import zipfile

import numpy as np
import pytest
from conftest import fast_distiller
from sklearn.datasets import load_iris, make_regression
from sklearn.linear_model import LogisticRegression, Ridge

from sklearn_kd import DistilledRegressor, load_student

MiB = 1 << 20


@pytest.fixture(scope="module")
def iris_student():
    X, y = load_iris(return_X_y=True)
    teacher = LogisticRegression(max_iter=500).fit(X, y)
    return fast_distiller(teacher, max_epochs=2).fit(X, y).export_student(), X


@pytest.fixture(scope="module")
def regression_student():
    X, y = make_regression(n_samples=80, n_features=4, n_targets=2, random_state=0)
    model = DistilledRegressor(
        Ridge().fit(X, y), max_epochs=2, hidden_layer_sizes=(8,), random_state=0
    )
    return model.fit(X, y).export_student(), X


@pytest.fixture
def saved(iris_student, tmp_path):
    return iris_student[0].save(tmp_path / "student.npz")


def refused(path):
    return pytest.raises(ValueError, match=re.escape(str(path)))


def stored_arrays(path):
    with np.load(path, allow_pickle=False) as stored:
        return {name: stored[name] for name in stored.files}


def rewrite(path, change):
    """Rewrite the file with ``change(meta, arrays)`` applied; a returned value
    replaces the whole ``__meta__`` text, unless ``change`` replaced its array."""
    arrays = stored_arrays(path)
    stored = arrays["__meta__"]
    meta = json.loads(str(stored))
    text = change(meta, arrays)
    if arrays["__meta__"] is stored:
        arrays["__meta__"] = np.array(json.dumps(meta) if text is None else text)
    np.savez_compressed(path, **arrays)


def test_intact_files_load(iris_student, regression_student, tmp_path):
    for student, X in (iris_student, regression_student):
        loaded = load_student(student.save(tmp_path / "student.npz"))
        np.testing.assert_allclose(loaded.predict(X), student.predict(X), atol=1e-6)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, -22, -1])
def test_truncated_files_are_refused(saved, keep):
    data = saved.read_bytes()
    end = int(len(data) * keep) if isinstance(keep, float) else len(data) + keep
    saved.write_bytes(data[:end])
    with refused(saved):
        load_student(saved)


def _data_span(path, member):
    """Where ``member``'s compressed bytes lie in the file."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    data = path.read_bytes()
    name_length, extra_length = np.frombuffer(
        data[info.header_offset + 26 : info.header_offset + 30], dtype="<u2"
    )
    start = info.header_offset + 30 + int(name_length) + int(extra_length)
    return start, start + info.compress_size


def test_a_bit_flipped_compressed_member_is_refused(saved):
    start, _ = _data_span(saved, "layer0/weight.npy")
    data = bytearray(saved.read_bytes())
    data[start] |= 0b110  # the first block's type becomes 3, which deflate reserves
    saved.write_bytes(bytes(data))
    with refused(saved):
        load_student(saved)


def test_every_flipped_byte_is_refused_or_harmless(iris_student, saved):
    student, X = iris_student
    expected = student.predict_proba(X)
    data = saved.read_bytes()
    for position in range(0, len(data), 5):
        damaged = bytearray(data)
        damaged[position] ^= 0xFF
        saved.write_bytes(bytes(damaged))
        try:
            loaded = load_student(saved)
        except ValueError as error:
            assert str(saved) in str(error)
        else:  # the byte was one that no reader uses (a date, say)
            np.testing.assert_array_equal(loaded.predict_proba(X), expected)


def _drop(key):
    return lambda meta, arrays: meta.pop(key)


META_KEYS = [
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
]

BAD_META = {
    "format version a string": lambda m, a: m.update(format_version="1"),
    "format version a float": lambda m, a: m.update(format_version=1.0),
    "format version a bool": lambda m, a: m.update(format_version=True),
    "format version zero": lambda m, a: m.update(format_version=0),
    "classifier relabelled regressor": lambda m, a: m.update(kind="regressor"),
    "unknown kind": lambda m, a: m.update(kind="ranker"),
    "classes not a list": lambda m, a: m.update(classes="012"),
    "classes a mapping": lambda m, a: m.update(classes={"0": 0}),
    "classes nested": lambda m, a: m.update(classes=[[0], [1], [2]]),
    "classes repeated": lambda m, a: m.update(classes=[0, 0, 1]),
    "classes too few": lambda m, a: m.update(classes=[0, 1]),
    "classifier without classes": lambda m, a: m.update(classes=None),
    "n_features a string": lambda m, a: m.update(n_features="4"),
    "n_features zero": lambda m, a: m.update(n_features=0),
    "n_features too small": lambda m, a: m.update(n_features=2),
    "n_layers a string": lambda m, a: m.update(n_layers="2"),
    "n_layers too many": lambda m, a: m.update(n_layers=3),
    "n_layers huge": lambda m, a: m.update(n_layers=10**12),
    "feature names too few": lambda m, a: m.update(feature_names=["a"]),
    "feature names not strings": lambda m, a: m.update(feature_names=[1, 2, 3, 4]),
    "unknown encoding": lambda m, a: m.update(encoding="magic"),
    "category codes a list": lambda m, a: m.update(category_codes=[1, 2]),
    "category codes of lists": lambda m, a: m.update(category_codes={"x": [[1]]}),
    "allow_nan a string": lambda m, a: m.update(allow_nan="yes"),
    "written_by a number": lambda m, a: m.update(written_by=2),
    "an unknown key": lambda m, a: m.update(surprise=1),
    "not an object": lambda m, a: json.dumps([m]),
    "not JSON": lambda m, a: "{format: student",
    "deeply nested": lambda m, a: "[" * 100_000 + "]" * 100_000,
    "nested in a value": lambda m, a: (
        json.dumps(m)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"
    ),
    **{f"no {key}": _drop(key) for key in META_KEYS},
}


@pytest.mark.parametrize("change", BAD_META.values(), ids=BAD_META)
def test_a_bad_description_is_refused(saved, change):
    rewrite(saved, change)
    with refused(saved):
        load_student(saved)


def test_a_string_format_version_is_damage_not_newer(saved):
    rewrite(saved, lambda meta, arrays: meta.update(format_version="2"))
    with refused(saved) as caught:
        load_student(saved)
    assert "upgrade" not in str(caught.value)
    assert "damaged" in str(caught.value)


def test_a_regressor_relabelled_classifier_is_refused(regression_student, tmp_path):
    path = regression_student[0].save(tmp_path / "student.npz")
    rewrite(path, lambda meta, arrays: meta.update(kind="classifier"))
    with refused(path):
        load_student(path)


def _replace(name, value):
    return lambda meta, arrays: arrays.update({name: value(arrays[name])})


BAD_ARRAYS = {
    "weight transposed": _replace("layer0/weight", lambda w: w.T),
    "weight as strings": _replace("layer0/weight", lambda w: w.astype(str)),
    "weight complex": _replace("layer0/weight", lambda w: w.astype(complex)),
    "weight a scalar": _replace("layer0/weight", lambda w: w[0, 0]),
    "bias a column": _replace("layer1/bias", lambda b: b[:, None]),
    "bias as integers": _replace("layer1/bias", lambda b: b.astype(np.int64)),
    "columns as floats": _replace("encoding/numeric_column", lambda c: c + 0.0),
    "columns out of range": _replace("encoding/numeric_column", lambda c: c + 9),
    "shift too short": _replace("encoding/numeric_shift", lambda s: s[:-1]),
    "scale two-dimensional": _replace("encoding/numeric_scale", lambda s: s[None]),
    "fill structured": _replace(
        "encoding/numeric_fill", lambda f: f.astype([("a", "f8")])
    ),
    "output scale too long": _replace("output_scale", lambda s: np.r_[s, 1]),
    "output shift as bools": _replace("output_shift", lambda s: s > 0),
    "meta an array of strings": _replace("__meta__", lambda m: np.array([str(m)])),
    "meta as bytes": _replace("__meta__", lambda m: np.array(str(m).encode())),
    "a layer missing": lambda meta, arrays: arrays.pop("layer1/bias"),
    "an encoding array missing": lambda meta, arrays: arrays.pop("encoding/bin_fill"),
}


@pytest.mark.parametrize("change", BAD_ARRAYS.values(), ids=BAD_ARRAYS)
def test_a_bad_array_is_refused(saved, change):
    rewrite(saved, change)
    with refused(saved):
        load_student(saved)


def _add_member(path, name, data):
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)


def test_a_member_the_format_does_not_define_is_refused(saved):
    _add_member(saved, "notes.npy", b"hello")
    with refused(saved) as caught:
        load_student(saved)
    assert "notes.npy" in str(caught.value)


def test_a_duplicate_member_is_refused(saved):
    with pytest.warns(UserWarning, match="Duplicate name"):
        _add_member(saved, "output_shift.npy", b"hello")
    with refused(saved):
        load_student(saved)


def test_trailing_bytes_after_an_array_are_refused(saved):
    arrays = stored_arrays(saved)
    with zipfile.ZipFile(saved) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["layer1/bias.npy"] += b"\0" * 64
    with zipfile.ZipFile(saved, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    assert set(stored_arrays(saved)) == set(arrays)
    with refused(saved):
        load_student(saved)


def _write_zeros(path, name, size, prefix=b""):
    """Add a member of ``size`` bytes, mostly zeros, compressed to little."""
    with (
        zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w", force_zip64=True) as member,
    ):
        member.write(prefix)
        chunk = bytes(MiB)
        for start in range(0, size - len(prefix), MiB):
            member.write(chunk[: min(MiB, size - len(prefix) - start)])


def _peak_while_loading(path):
    tracemalloc.start()
    try:
        with refused(path) as caught:
            load_student(path)
        return tracemalloc.get_traced_memory()[1], caught.value
    finally:
        tracemalloc.stop()


def test_a_huge_unknown_member_is_refused_unread(saved):
    _write_zeros(saved, "padding.npy", 100 * MiB)
    assert saved.stat().st_size < MiB
    peak, error = _peak_while_loading(saved)
    assert peak < 10 * MiB
    assert "padding.npy" in str(error)


@pytest.mark.parametrize(
    "name, dtype, shape",
    [
        ("layer1/bias", "<f4", (25 * MiB,)),
        ("encoding/bin_left", "<f8", (12 * MiB,)),
        ("__meta__", f"<U{25 * MiB}", ()),
    ],
)
def test_a_defined_member_larger_than_it_should_be_is_refused_unread(
    saved, name, dtype, shape
):
    with zipfile.ZipFile(saved) as archive:
        members = {
            member: archive.read(member)
            for member in archive.namelist()
            if member != f"{name}.npy"
        }
    with zipfile.ZipFile(saved, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    size = len(header.getvalue()) + np.dtype(dtype).itemsize * int(np.prod(shape))
    _write_zeros(saved, f"{name}.npy", size, header.getvalue())
    assert saved.stat().st_size < MiB
    peak, _ = _peak_while_loading(saved)
    assert peak < 10 * MiB


def test_boolean_and_string_labels_round_trip(tmp_path):
    X, y = load_iris(return_X_y=True)
    for labels in (y == 1, np.array(["setosa", "versicolor", "virginica"])[y]):
        teacher = LogisticRegression(max_iter=500).fit(X, labels)
        student = fast_distiller(teacher, max_epochs=2).fit(X, labels)
        loaded = load_student(student.export_student().save(tmp_path / "s.npz"))
        np.testing.assert_array_equal(loaded.classes_, student.classes_)
        np.testing.assert_array_equal(loaded.predict(X), student.predict(X))


def test_save_names_the_users_path(iris_student, tmp_path):
    student = iris_student[0]
    missing = tmp_path / "no such directory" / "student.npz"
    with pytest.raises(OSError) as caught:
        student.save(missing)
    assert str(missing) in str(caught.value)
    assert ".tmp" not in str(caught.value)
    directory = tmp_path / "a directory"
    directory.mkdir()
    with pytest.raises(OSError) as caught:
        student.save(directory)
    assert str(directory) in str(caught.value)
    assert ".tmp" not in str(caught.value)
    assert list(directory.iterdir()) == []


def test_a_failed_write_names_the_users_path(iris_student, tmp_path, monkeypatch):
    def full_disk(file, **arrays):
        file.write(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez_compressed", full_disk)
    path = tmp_path / "student.npz"
    with pytest.raises(OSError, match=re.escape(str(path))):
        iris_student[0].save(path)
    assert list(tmp_path.iterdir()) == []

"""SharedTeacher: a fitted teacher that pickles as a reference to a file.

A grid search hands each of its tasks a fresh clone of the estimator, with the
teacher inside; a worker process (loky's, or a Dask cluster's) then unpickles the
whole teacher once per task, and a 90 MB forest costs more to ship than the
student costs to train. Wrapped in a :class:`SharedTeacher`, the teacher is
written once, under a content-addressed name, to a folder every worker can read
(a shared file system on a cluster), and pickles as that file's path and the
SHA-256 of its bytes: each worker process checks the file against that digest,
loads it once and keeps it for every later task.
"""

import hashlib
import io
import os
import pickle
from pathlib import Path

from sklearn.frozen import FrozenEstimator

from .._files import atomic_file

#: Teachers loaded in this process, by file: each is read once.
_LOADED = {}


def _load_shared_teacher(path, location, sha256=None):
    teacher = _LOADED.get(path)
    if teacher is None:
        import joblib

        if sha256 is None:
            raise pickle.UnpicklingError(
                f"The reference to the shared teacher's file {path} carries no "
                "SHA-256 of the file (it was pickled by an older sklearn-kd), so the "
                "file cannot be checked before it is loaded: pickle the estimator "
                "again with this version."
            )
        try:
            with open(path, "rb") as file:
                data = file.read()
        except FileNotFoundError:
            raise FileNotFoundError(
                f"The shared teacher's file {path} is gone: its folder ({location}) "
                "must stay readable wherever the estimator is unpickled."
            ) from None
        # Load the very bytes that were checked: the file may change after the check.
        if hashlib.sha256(data).hexdigest() != sha256:
            raise pickle.UnpicklingError(
                f"The shared teacher's file {path} was changed since it was written "
                "(its SHA-256 differs), so it is not loaded: loading a joblib file "
                f"runs any code it holds. Make sure only you can write to {location}, "
                "delete the file, and pickle the estimator again to rewrite it."
            )
        teacher = SharedTeacher(joblib.load(io.BytesIO(data)), location)
        teacher.__dict__.update(_path=path, _sha256=sha256)
        _LOADED[path] = teacher
    return teacher


class SharedTeacher(FrozenEstimator):
    """A fitted teacher that workers load once, from a shared folder.

    It behaves as the teacher itself (as a :class:`~sklearn.frozen.FrozenEstimator`
    does: never refitted, kept by ``clone``), but pickles as the path of a file
    in ``location`` holding the teacher, written the first time it is pickled,
    and the SHA-256 of the bytes written. Each process that unpickles it reads
    the file once, checks it against that digest and keeps the teacher in
    memory, so a grid search on several processes (``n_jobs``, or joblib's Dask
    backend) ships the teacher to each worker once rather than once per task.

    Parameters
    ----------
    estimator : fitted estimator
        The teacher.
    location : str or path-like
        A folder every worker can read (on a cluster, a shared file system);
        created if needed. It must be trusted: writable by you alone (see the
        warning below). The ``memory`` folder of the distilling estimator serves
        well.

    See Also
    --------
    sklearn.frozen.FrozenEstimator : What it is, before pickling.

    Notes
    -----
    Keep ``location`` writable by you alone: loading a joblib file runs any code
    it holds. A file that no longer has the bytes written (replaced, even by
    another valid teacher, or damaged) raises :class:`pickle.UnpicklingError`
    instead of being loaded, but whoever can write to the folder can still stop
    the workers with a bad file, and a ``memory`` cache kept there is loaded with
    joblib unchecked. The check guards the file, not the reference: unpickle only
    pickles you trust.

    Examples
    --------
    >>> import pickle, tempfile
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn_kd import SharedTeacher
    >>> X, y = load_iris(return_X_y=True)
    >>> forest = RandomForestClassifier(n_estimators=200, random_state=0).fit(X, y)
    >>> teacher = SharedTeacher(forest, tempfile.mkdtemp())
    >>> len(pickle.dumps(teacher)) < len(pickle.dumps(forest)) / 100
    True
    """

    def __init__(self, estimator, location):
        super().__init__(estimator)
        self.location = location

    def _file(self):
        """The teacher's file and the SHA-256 of its bytes, written now if needed."""
        stored = self.__dict__.get("_path")
        if stored is not None and os.path.exists(stored):
            return stored, self.__dict__["_sha256"]
        import joblib

        buffer = io.BytesIO()
        joblib.dump(self.estimator, buffer)
        data = buffer.getvalue()
        sha256 = hashlib.sha256(data).hexdigest()
        folder = Path(self.location)
        folder.mkdir(parents=True, exist_ok=True)
        # Named by its digest, and rewritten rather than trusted when already there:
        # a file planted under that name is replaced by the bytes the digest is of.
        path = str(folder / f"teacher-{sha256}.joblib")
        with atomic_file(path) as temporary, open(temporary, "wb") as file:
            file.write(data)
        self.__dict__.update(_path=path, _sha256=sha256)
        return path, sha256

    def __reduce__(self):
        path, sha256 = self._file()
        return _load_shared_teacher, (path, str(self.location), sha256)

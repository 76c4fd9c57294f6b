"""SharedTeacher: a fitted teacher that pickles as a reference to a file.

A grid search hands each of its tasks a fresh clone of the estimator, with the
teacher inside; a worker process (loky's, or a Dask cluster's) then unpickles the
whole teacher once per task, and a 90 MB forest costs more to ship than the
student costs to train. Wrapped in a :class:`SharedTeacher`, the teacher is
written once, under a content-addressed name, to a folder every worker can read
(a shared file system on a cluster), and pickles as that file's path: each worker
process loads it once and keeps it for every later task.
"""

import os
from pathlib import Path

from sklearn.frozen import FrozenEstimator

from ._files import atomic_file
from ._fingerprint import remembered_fingerprint

#: Teachers loaded in this process, by file: each is read once.
_LOADED = {}


def _load_shared_teacher(path, location):
    teacher = _LOADED.get(path)
    if teacher is None:
        import joblib

        if not os.path.exists(path):
            raise FileNotFoundError(
                f"The shared teacher's file {path} is gone: its folder ({location}) "
                "must stay readable wherever the estimator is unpickled."
            )
        teacher = SharedTeacher(joblib.load(path), location)
        teacher._path = path
        _LOADED[path] = teacher
    return teacher


class SharedTeacher(FrozenEstimator):
    """A fitted teacher that workers load once, from a shared folder.

    It behaves as the teacher itself (as a :class:`~sklearn.frozen.FrozenEstimator`
    does: never refitted, kept by ``clone``), but pickles as the path of a file
    in ``location`` holding the teacher, written the first time it is pickled.
    Each process that unpickles it reads the file once and keeps the teacher in
    memory, so a grid search on several processes (``n_jobs``, or joblib's Dask
    backend) ships the teacher to each worker once rather than once per task.

    Parameters
    ----------
    estimator : fitted estimator
        The teacher.
    location : str or path-like
        A folder every worker can read (on a cluster, a shared file system);
        created if needed. The ``memory`` folder of the distilling estimator
        serves well.

    See Also
    --------
    sklearn.frozen.FrozenEstimator : What it is, before pickling.

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
        """The teacher's file, written now if it is not there yet."""
        stored = self.__dict__.get("_path")
        if stored is not None and os.path.exists(stored):
            return stored
        folder = Path(self.location)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"teacher-{remembered_fingerprint(self.estimator)}.joblib"
        if not path.exists():
            import joblib

            with atomic_file(path) as temporary:
                joblib.dump(self.estimator, temporary)
        self.__dict__["_path"] = str(path)
        return str(path)

    def __reduce__(self):
        return _load_shared_teacher, (self._file(), str(self.location))

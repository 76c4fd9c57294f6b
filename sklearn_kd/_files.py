"""Writing a file all at once: a failure leaves neither a partial file nor a
damaged older one."""

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_file(path):
    """Yield a temporary path beside ``path``; move it into place on success.

    The file gets the permissions a new file would get (``mkstemp``'s are
    private); on an error it is removed and ``path`` is left as it was.
    """
    path = Path(path)
    with _named(path):
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    os.close(descriptor)
    try:
        with _named(path, temporary):
            yield temporary
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
            os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)


@contextlib.contextmanager
def _named(path, temporary=None):
    """Re-raise an OS error about the hidden temporary file (any file, without
    ``temporary``), or about no file (a full disk), as one about ``path``, the
    file the user asked for. An error about another file is left as it is."""
    try:
        yield
    except OSError as error:
        if error.errno is None or (
            temporary is not None and error.filename not in (None, temporary)
        ):
            raise
        raise type(error)(error.errno, error.strerror, str(path)) from error

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
        yield temporary
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        with _named(path):
            os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)


@contextlib.contextmanager
def _named(path):
    """Re-raise an OS error about the hidden temporary file as one about ``path``,
    the file the user asked for."""
    try:
        yield
    except OSError as error:
        raise type(error)(error.errno, error.strerror, str(path)) from error

"""What ``fit`` says while it works.

With ``verbose=1`` every stage that can take seconds prints one line when it
ends (what it did, on how many rows, in how long), and long loops show a tqdm
progress bar where tqdm is installed. ``verbose=0`` is silent.
"""

import sys
import time
from contextlib import contextmanager


class Progress:
    """Stage summaries and progress bars of one fit.

    Parameters
    ----------
    verbose : int
        The estimator's ``verbose``; stages are reported from 1 on.
    name : str
        The estimator's name, at the start of each line.
    """

    def __init__(self, verbose, name):
        self.verbose = verbose
        self.name = name

    @contextmanager
    def stage(self, title):
        """Time the block and print ``title`` with what the block adds.

        The block receives a list; the strings it appends follow the title.
        """
        details = []
        start = time.perf_counter()
        yield details
        if self.verbose >= 1:
            seconds = time.perf_counter() - start
            said = f": {', '.join(details)}" if details else ""
            print(f"[{self.name}] {title}{said} ({seconds:.1f} s)", flush=True)

    def bar(self, total, description, unit):
        """A tqdm bar (or a silent stand-in without tqdm or at verbose 0)."""
        if self.verbose >= 1:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                return tqdm(total=total, desc=description, unit=unit, file=sys.stderr)
        return _SilentBar()


class _SilentBar:
    def update(self, n=1):
        pass

    def set_postfix_str(self, text, refresh=True):
        pass

    def close(self):
        pass

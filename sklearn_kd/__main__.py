"""``python -m sklearn_kd``: the ``sklearn-kd`` command line."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())

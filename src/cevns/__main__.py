"""``python -m cevns``: the ``cevns`` command line."""

from cevns.cli import main

if __name__ == "__main__":
    main()

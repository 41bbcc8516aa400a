"""What saving the figures of a cevns command costs: CPU inside ``Figure.savefig`` and mathtext
parses (pyparsing runs), next to the CPU of the whole command.

Runs the ``cevns`` command line in this process with two counters wrapped around matplotlib (this
script only; the library never patches matplotlib)::

    python benchmarks/bench_savefig.py reproduce --quick --out /tmp/rs --executor serial

Run it with two interpreters (old and new code, alternating) to compare; it prints one line::

    total_cpu=19.49 savefig_cpu=4.52 n_save=29 mathtext_parses=466

``--executor serial`` keeps every figure in this process (with worker processes the counters
see only the figures drawn here).
"""

from __future__ import annotations

import functools
import sys
import time


def main(argv: list[str]) -> None:
    import matplotlib.figure
    import matplotlib.mathtext

    parses = [0]
    parse_uncached = matplotlib.mathtext.MathTextParser._parse_cached.__wrapped__

    @functools.lru_cache(50)  # matplotlib's own cache, unchanged in size and key
    def counted(self, *args):
        parses[0] += 1
        return parse_uncached(self, *args)

    matplotlib.mathtext.MathTextParser._parse_cached = counted
    saving = [0.0, 0]
    savefig = matplotlib.figure.Figure.savefig

    def timed_savefig(self, *args, **kwargs):
        t0 = time.process_time()
        try:
            return savefig(self, *args, **kwargs)
        finally:
            saving[0] += time.process_time() - t0
            saving[1] += 1

    matplotlib.figure.Figure.savefig = timed_savefig
    from cevns.cli import main as cevns_main

    t0 = time.process_time()
    try:
        cevns_main(argv)
    except SystemExit:
        pass
    print(f"total_cpu={time.process_time() - t0:.2f} savefig_cpu={saving[0]:.2f} "
          f"n_save={saving[1]} mathtext_parses={parses[0]}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])

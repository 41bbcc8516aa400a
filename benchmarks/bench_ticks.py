"""CPU time of the first save of a new figure: matplotlib's minor Tick objects against the marker
lines of ``cevns.analyses.style.minor_ticks_as_marks`` (what ``save_figure`` uses), same figures.

Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_ticks.py [--repeat 5]

Each figure is made anew and saved once to PNG at 200 dpi (a warm figure would already hold its
ticks): a six-panel log-log figure (~30 minor ticks per axis, as the exclusion figures of
``cevns reproduce``) and a one-panel linear figure. The two ways alternate, and the PNGs are
compared pixel for pixel. Times are process CPU seconds; min and median over ``--repeat``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import numpy as np


def _make(kind: str):
    from cevns.analyses.style import new_figure, styled

    with styled():
        if kind == "six-panel log-log":
            fig, axes = new_figure(2, 3, width="double", legend_rows=1, titles=True, sharey=True)
        else:
            fig, axes = new_figure(1, 1)
        x = np.logspace(-1, 3, 60)
        for ax in axes.flat:
            if kind == "six-panel log-log":
                ax.plot(x, 1e-3 * np.sqrt(x))
                ax.set(xscale="log", yscale="log", xlim=(1e-1, 1e3), ylim=(1e-6, 1e-1),
                       title="panel")
                ax.tick_params(labelleft=True)
            else:
                ax.plot(x, np.sin(x / 100))
                ax.set(xlim=(0, 1000))
            ax.set_xlabel(r"$m_X$ [MeV]")
            ax.set_ylabel(r"$g_X$")
    return fig


def _save(fig, marks: bool) -> bytes:
    from contextlib import nullcontext

    from cevns.analyses.style import minor_ticks_as_marks, styled

    buf = io.BytesIO()
    with styled(), (minor_ticks_as_marks(fig) if marks else nullcontext()):
        fig.savefig(buf, format="png", dpi=200)
    return buf.getvalue()


def main(argv=None) -> None:
    from PIL import Image

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"{'figure':20s} {'ticks [ms]':>16s} {'marks [ms]':>16s} {'ratio':>6s}  pixels")
    print(f"{'':20s} {'min / median':>16s} {'min / median':>16s}")
    for kind in ("six-panel log-log", "one-panel linear"):
        _save(_make(kind), False), _save(_make(kind), True)  # warm: fonts, mathtext cache
        times = {False: [], True: []}
        same = True
        for _ in range(args.repeat):
            pngs = {}
            for marks in (False, True):
                fig = _make(kind)
                t0 = time.process_time()
                pngs[marks] = _save(fig, marks)
                times[marks].append(time.process_time() - t0)
            a, b = (np.asarray(Image.open(io.BytesIO(pngs[m]))) for m in (False, True))
            same &= a.shape == b.shape and bool(np.array_equal(a, b))
        t, m = times[False], times[True]
        print(f"{kind:20s} {1e3 * min(t):7.0f} / {1e3 * statistics.median(t):6.0f} "
              f"{1e3 * min(m):7.0f} / {1e3 * statistics.median(m):6.0f} "
              f"{statistics.median(t) / statistics.median(m):6.2f}  "
              f"{'identical' if same else 'DIFFER'}")


if __name__ == "__main__":
    main()

"""Shared test set-up: make the independent reference implementations and the test helpers
(``_helpers``: the installed command) importable, and start the longest test files first."""

import shutil
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "_reference"))
sys.path.insert(0, str(Path(__file__).parent / "_helpers"))  # installed: the command under test

# A shell without job control starts a background command (``.ci/run &``) with SIGINT ignored, and
# an ignored signal stays ignored across exec: every `cevns` the Ctrl-C tests start would then
# ignore their SIGINT, and those tests would fail for a reason that is not the code's. The test
# process (each xdist worker runs this file) takes Python's own handler back, so the subprocesses
# it starts get the default disposition, as under a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

#: Test files that take longest (seconds in one worker of ``.ci/run`` on the slow 2-core host,
#: summed from ``--durations=0``), longest first. With ``--dist loadfile --no-loadscope-reorder``
#: (pyproject addopts) pytest-xdist hands out whole files in collection order; starting these
#: first keeps one of them from running alone at the end while the other worker idles (longest-
#: processing-time-first scheduling). Only the order changes: a file missing here runs after
#: these, a name that no longer exists is ignored.
LONGEST_FIRST = (
    "tests/docs/test_site.py",                    # 137 s (2026-12-01, .ci/run at 7c0cc94)
    "tests/cli/test_output_safety.py",            # 116 s
    "tests/analyses/test_figures.py",             # 119 s; -n 0: 99 → 80 s, each figure checked once
    "tests/cli/test_bad_inputs.py",               # 76 s
    "tests/fits/test_fit_release.py",             # 50 s
    "tests/analyses/test_reproduce_resume.py",    # 66 s; -n 0: 62 → 46 s with --no-figures
    "tests/fits/test_combined_grid.py",           # 44 s
    "tests/fits/test_fit_docs.py",                # 40 s
    "tests/rates/test_axial_isotopes_vs_quad.py",  # 38 s
    "tests/cli/test_cli_behaviour.py",            # 31 s
    "tests/fits/test_fit_combined.py",            # 30 s
    "tests/fits/test_coverage.py",                # 30 s
    "tests/cli/test_fit_scenarios_cli.py",        # 24 s
    "tests/rates/test_engine_vs_quad.py",         # 22 s
    "tests/rates/test_bsm_rates_vs_quad.py",      # 61 s; -n 0: 53 → 12 s, vectorised E integral
)


def pytest_collection_modifyitems(session, config, items):
    """Put the files of :data:`LONGEST_FIRST` first, in that order; the tests of every file keep
    their order (module fixtures are built once)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.fixture
def copy_release(tmp_path):
    """Copy a packaged COHERENT release folder to a writable tmp dir and return the new path."""
    from cevns.datasets.coherent._common import packaged_data_dir

    def _copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(packaged_data_dir(name), target)
        for path in target.iterdir():
            path.chmod(0o644)
        return target

    return _copy

"""cevns.forkserver: the early start of the worker forkserver and its stop at the script's exit.

Each check runs in a fresh interpreter: Python's forkserver is a process-wide singleton, and the
test process's own (started by other tests' process pools) must not be touched.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from installed import CEVNS  # the environment's installed command

from cevns import cli, forkserver

pytestmark = pytest.mark.skipif(not forkserver.available(), reason="no forkserver start method")


PROBE = "def loaded(name):\n    import sys\n    return name in sys.modules\n"


def _python(code: str, tmp_path) -> str:
    (tmp_path / "probe_mod.py").write_text(PROBE)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


POOL = """
import concurrent.futures as cf, multiprocessing as mp, sys
sys.path.insert(0, ".")
from cevns import forkserver
{start}
import probe_mod
with cf.ProcessPoolExecutor(1, mp_context=mp.get_context("forkserver")) as pool:
    print(pool.submit(probe_mod.loaded, "colorsys").result())
"""


def test_workers_forked_after_an_early_start_have_its_modules(tmp_path):
    """A worker forked from the server started early has the preloaded module (colorsys: a
    standard module nothing here imports); without the early start it has not (the control)."""
    started = """
before = forkserver.preload_list()
assert forkserver.start_early(("colorsys",)) is True
assert forkserver.started()
assert forkserver.preload_list() == before, "the preload list is put back"
assert forkserver.start_early(("colorsys",)) is False, "a second start is a no-op"
"""
    assert _python(POOL.format(start=started), tmp_path) == "True"
    assert _python(POOL.format(start="assert not forkserver.started()"), tmp_path) == "False"


def test_stop_at_exit_terminates_the_server(tmp_path):
    """stop_at_exit sends SIGTERM to the server (which would otherwise finalise its imports after
    the command ended); without a server it does nothing."""
    out = _python("""
import os, signal
from cevns import forkserver
forkserver.stop_at_exit()  # no server yet: nothing to do
forkserver.start_early(("json",))
pid = forkserver._server_pid()
forkserver.stop_at_exit()
_, status = os.waitpid(pid, 0)
print(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM)
""", tmp_path)
    assert out == "True"


@pytest.mark.parametrize(("spec", "auto", "cores", "expected"), [
    ({"name": "processes", "max_workers": 2}, False, 2, forkserver.WORKER_MODULES),
    ({"name": "processes"}, False, 1, forkserver.WORKER_MODULES),  # asked for: a pool
    ({"name": "dask", "n_workers": 2}, False, 2,
     (*forkserver.DASK_MODULES, *forkserver.WORKER_MODULES)),
    ({"name": "dask", "address": "tcp://host:8786"}, False, 2, None),  # remote workers
    ({"name": "serial"}, True, 2, None),
    ({"name": "auto"}, True, 2, forkserver.WORKER_MODULES),  # reproduce
    ({"name": "auto"}, True, 1, None),  # one core: auto runs serially
    ({"name": "auto"}, False, 2, None),  # run: auto decides once the analysis is parsed
])
def test_the_command_line_starts_the_server_early_only_for_local_workers(
        monkeypatch, spec, auto, cores, expected):
    calls = []
    monkeypatch.setattr(forkserver, "start_early", lambda modules: calls.append(tuple(modules)))
    monkeypatch.setattr(cli, "_cores", lambda: cores)
    cli._start_workers_early(spec, auto)
    assert calls == ([] if expected is None else [tuple(expected)])


def _forkserver_child(pid: int) -> int | None:
    """Process id of the forkserver child of process `pid` (Linux /proc), else None."""
    from pathlib import Path

    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"multiprocessing.forkserver" in cmdline:
            return int(stat.parent.name)
    return None


def _has_loaded_numpy(pid: int) -> bool:
    """Whether process `pid` has NumPy's core extension mapped (it is importing its modules)."""
    try:
        with open(f"/proc/{pid}/maps", "rb") as maps:
            return b"_multiarray_umath" in maps.read()
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_while_the_server_imports_prints_no_traceback(tmp_path):
    """Ctrl-C reaches the whole foreground process group, the forkserver included. Sent while the
    server (started by the command before anything else) is importing the worker modules (NumPy
    loaded, the rest, about a second of imports, to come),
    the command ends with its one-line message and status 130, and the server, started with
    Ctrl-C ignored, prints nothing (before the fix it printed a KeyboardInterrupt traceback)."""
    import os
    import signal
    import time

    proc = subprocess.Popen([*CEVNS, "reproduce", "--only", "table3", "--out", "out",
                             "--executor", "processes", "--workers", "2"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    server, importing = None, False
    deadline = time.monotonic() + 60
    while not importing and proc.poll() is None and time.monotonic() < deadline:
        server = server or _forkserver_child(proc.pid)
        importing = server is not None and _has_loaded_numpy(server)
    assert importing, "the command started no forkserver, or it never imported NumPy"
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().splitlines()[-1].startswith("interrupted"), err


@pytest.mark.parametrize("modules", ["numpy", ["numpy", 3], ["numpy", " "], [None]])
def test_start_early_rejects_what_is_not_a_list_of_module_names(modules):
    """A bare string would be read letter by letter (and the server silently skips modules it
    cannot import): a ConfigError instead, before anything is started."""
    from cevns.errors import ConfigError

    with pytest.raises(ConfigError, match="modules"):
        forkserver.start_early(modules)

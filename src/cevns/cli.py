"""The ``cevns`` command line: a thin front-end over the library.

Commands: ``spectra``, ``info``, ``run``, ``reproduce``, ``fit``. The command line behaves like a
Unix tool (see ``docs/errors.md``):

* exit status 0 on success, 2 for a usage or input error (a bad option, file or value), 1 for an
  internal error or an operating-system error cevns did not anticipate, 130 when interrupted
  (Ctrl-C or SIGTERM; the message says how to resume);
* every error is one plain line on stderr, ``error: <message>``; user text is never parsed as
  markup; a traceback is shown only with ``--debug`` or ``CEVNS_DEBUG=1``;
* ``--json`` (``spectra``, ``info``, ``fit``) prints pure JSON on stdout, messages go to stderr.

Importing this module is cheap: the physics, matplotlib, SciPy and xarray are imported inside the
commands that need them.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import shlex
import signal
import sys
import time
from contextlib import ExitStack, contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cevns.errors import CevnsError, ConfigError, OutputError
from cevns.forkserver import MAX_WORKERS  # standard library only: the bound of --workers

#: Exit statuses of the ``cevns`` command (documented in ``docs/errors.md`` and ``cevns --help``).
EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

_EPILOG = (
    "Examples:\n\n"
    "  cevns spectra -d CsI --run-years 1\n\n"
    "  cevns reproduce --only fig1 --out results\n\n"
    "  cevns run my_analysis.toml --out results/mine --executor processes\n\n"
    "Exit status: 0 success; 2 usage or input error (bad option, value, file or folder); "
    "1 internal error (a bug: please report it) or an unexpected operating-system error; "
    "130 interrupted (Ctrl-C, SIGTERM: rerun with --resume). "
    "CEVNS_DEBUG=1 or --debug shows tracebacks. See docs/errors.md."
)

app = typer.Typer(
    add_completion=True, no_args_is_help=True, epilog=_EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Coherent elastic neutrino-nucleus scattering at π-DAR sources: spectra, the paper's "
         "figures and tables, your own analysis files, fits of COHERENT data.",
)

#: The values of ``CEVNS_DEBUG`` (docs/errors.md): ``1`` shows tracebacks, ``0`` or empty does
#: not; any other value is an error of every command (:func:`_check_environment`).
DEBUG_ENV, DEBUG_VALUES = "CEVNS_DEBUG", ("", "0", "1")


def _debug_env() -> bool:
    """Whether ``CEVNS_DEBUG`` asks for tracebacks (``1``)."""
    return os.environ.get(DEBUG_ENV, "").strip() == "1"


_DEBUG = {"on": _debug_env()}


#: width of the console when stdout is not a terminal (a pipe, a file): wide enough that rich
#: never shortens a number to ``84714974…``; a table is only as wide as its content
PIPE_WIDTH = 10_000


def _stdout_console(wide: bool = False):
    """The console of stdout; ``wide``: when stdout is not a terminal, do not shrink tables to
    80 columns (rich would cut numbers off with an ellipsis)."""
    from rich.console import Console

    console = Console()
    if wide and not console.is_terminal:
        console = Console(width=PIPE_WIDTH)
    return console


def _number_table(*args, **kwargs):
    """A rich table whose cells are never cut off: in a narrow terminal a long number or
    header folds onto a second line instead of ending in '…'."""
    from rich.table import Table

    class NumberTable(Table):
        def add_column(self, *a, **k):
            k.setdefault("overflow", "fold")
            return super().add_column(*a, **k)

    return NumberTable(*args, **kwargs)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def _say(message: str) -> None:
    """A plain message on stderr (progress, 'wrote …'): never parsed as markup, never wrapped."""
    print(message, file=sys.stderr, flush=True)


def _add_row(table, *cells: Any) -> None:
    table.add_row(*(_text(c) for c in cells))


def _text(value: Any):
    """A rich ``Text`` of ``value``: table cells and titles holding user text are not markup."""
    from rich.text import Text

    return Text(str(value))


# -- errors and exit codes ---------------------------------------------------------------------


class Interrupted(Exception):
    """A long command was interrupted; ``resume`` is the command line that continues it."""

    def __init__(self, resume: str | None):
        super().__init__(resume)
        self.resume = resume


@contextmanager
def _resumable(resume: list[str] | None):
    """Turn Ctrl-C / SIGTERM inside the block into :class:`Interrupted` with a resume hint.

    (typer turns a bare ``KeyboardInterrupt`` into exit status 130 without a word; this keeps the
    hint.)
    """
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(shlex.join(resume) if resume else None) from None


def _usage_error_types() -> tuple[type[BaseException], ...]:
    """The usage-error classes of the installed typer (vendored click) and of click, if any."""
    types: list[type[BaseException]] = []
    if hasattr(typer, "TyperException"):  # typer ≥ 0.20 vendors click
        types.append(typer.TyperException)
    try:
        import click
    except ImportError:
        pass
    else:
        types.append(click.ClickException)
    return tuple(types)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _usage_message(exc: BaseException) -> str:
    message = _one_line(exc.format_message()) if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    where = getattr(ctx, "command_path", None) or "cevns"
    return f"error: {message} (see '{where} --help')"


def _sigterm(signum, frame):  # pragma: no cover - exercised by the subprocess tests
    if os.getpid() != _MAIN_PID[0]:  # a forked worker: die as usual
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    raise KeyboardInterrupt


_MAIN_PID = [os.getpid()]


class _LogFilter:
    """Drop the library's own interrupt notice: the command line prints the resume command."""

    @staticmethod
    def filter(record) -> bool:
        return not str(record.msg).startswith("scan interrupted")


@contextmanager
def _cli_logging():
    """Warnings of the ``cevns`` loggers as plain ``warning: …`` lines on stderr (this command only)."""
    import logging

    class Plain(logging.Formatter):
        def format(self, record):
            return f"{record.levelname.lower()}: {record.getMessage()}"

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Plain())
    handler.addFilter(_LogFilter())
    logger = logging.getLogger("cevns")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``cevns`` script: run the command, map every outcome to an exit status."""
    _MAIN_PID[0] = os.getpid()
    if argv is None:  # the ``cevns`` script itself: this process ends with the command
        from cevns.forkserver import stop_at_exit

        atexit.register(_skip_exit_collection)
        atexit.register(stop_at_exit)
    args = list(argv if argv is not None else sys.argv[1:])
    _DEBUG["on"] = _debug_env() or "--debug" in args
    try:
        previous = signal.signal(signal.SIGTERM, _sigterm)
    except ValueError:  # not the main thread
        previous = None
    usage_errors = _usage_error_types()
    try:
        with _cli_logging():
            code = app(args=args, prog_name="cevns", standalone_mode=False)
        if code == EXIT_INTERRUPTED:  # typer's own handling of a Ctrl-C outside a long command
            _say("interrupted")
    except Interrupted as exc:
        hint = f"; resume with: {exc.resume}" if exc.resume else ""
        _say(f"interrupted: completed work is saved{hint}")
        code = EXIT_INTERRUPTED
    except KeyboardInterrupt:
        _say("interrupted")
        code = EXIT_INTERRUPTED
    except usage_errors as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # ``cevns`` alone: the help, as usage error
            if exc.format_message().strip():  # (typer's rich help has been printed already)
                _say(exc.format_message())
        else:
            _say(_usage_message(exc))
        code = getattr(exc, "exit_code", EXIT_USAGE) or EXIT_USAGE
    except CevnsError as exc:
        _debug_traceback()
        _say(f"error: {exc}")
        code = EXIT_USAGE
    except BrokenPipeError:  # ``cevns info | head``: stop quietly (status 1, as typer does)
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        code = EXIT_INTERNAL
    except OSError as exc:
        _debug_traceback()
        where = f"{exc.filename}: " if exc.filename else ""
        if not exc.filename and _writing_stdout(exc):
            where = "cannot write the output to stdout: "
        blame = _plugin_failure(exc)
        _say(blame + _TRACEBACK_HINT * (not _DEBUG["on"]) if blame else
             f"error: {where}{exc.strerror or exc}")
        code = EXIT_INTERNAL
    except Exception as exc:
        import cevns

        _debug_traceback()
        blame = _plugin_failure(exc)  # a plug-in's own exception is not a bug in cevns
        _say((blame or f"internal error: {type(exc).__name__}: {_one_line(str(exc))} — this is a "
              f"bug in cevns {cevns.__version__}; please report it with the command you ran")
             + _TRACEBACK_HINT * (not _DEBUG["on"]))
        code = EXIT_INTERNAL
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if isinstance(code, int) and code:
        sys.exit(code)
    sys.exit(EXIT_OK)


_TRACEBACK_HINT = " (rerun with --debug or CEVNS_DEBUG=1 for the traceback)"


def _writing_stdout(exc: OSError) -> bool:
    """True if ``exc`` was raised while writing to standard output (``cevns info > /dev/full``, a
    full disk under a redirection): a frame of its traceback holds ``sys.stdout`` (or its buffer)
    itself, or an object writing to it (a rich ``Console``'s ``file``). The error then names
    stdout instead of a bare "No space left on device"."""
    targets = [t for t in (sys.stdout, getattr(sys.stdout, "buffer", None)) if t is not None]
    tb = exc.__traceback__
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            if any(value is t or getattr(value, "file", None) is t for t in targets):
                return True
        tb = tb.tb_next
    return False


def _plugin_failure(exc: BaseException) -> str | None:
    """The message naming the plug-in whose code raised ``exc``, or None (see
    :func:`cevns.plugins.plugin_failure`). Plug-in code can only have run if the plug-in module
    was loaded, so it is looked up, not imported; a failure here never hides the error itself."""
    plugins = sys.modules.get("cevns.plugins")
    if plugins is None:
        return None
    try:
        return plugins.plugin_failure(exc)
    except Exception:  # pragma: no cover - the original error is what matters
        return None


def _skip_exit_collection() -> None:
    """At the exit of the ``cevns`` script (an ``atexit`` handler, registered by :func:`main` only
    when it runs as the script): :func:`gc.freeze`, so that the interpreter's finalisation does
    not run the cyclic garbage collector over every object the command made — measured 0.34 s
    after two items of ``cevns reproduce``, 0.05 s with the freeze. Every output is written and
    closed before (files through context managers, the executor's workers stopped); Python does
    not promise to finalise the objects still alive at exit either way, and the other ``atexit``
    handlers (logging, multiprocessing, weakref finalizers) still run."""
    import gc

    gc.freeze()


def _debug_traceback() -> None:
    if _DEBUG["on"]:
        import traceback

        traceback.print_exc(file=sys.stderr)


def _version(value: bool) -> None:
    if value:
        import cevns

        print(f"cevns {cevns.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version and exit")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks of internal errors "
                                        "(also CEVNS_DEBUG=1)")] = False,
) -> None:
    """Coherent elastic neutrino-nucleus scattering at π-DAR sources."""
    if debug:
        _DEBUG["on"] = True
    _check_environment()


def _check_environment() -> None:
    """Refuse a bad ``CEVNS_DEBUG``, ``CEVNS_PROGRESS`` or ``CEVNS_MAX_GRID_BYTES``: an error of
    every command, once, before any work (docs/errors.md)."""
    raw = os.environ.get(DEBUG_ENV, "")
    if raw.strip() not in DEBUG_VALUES:
        raise ConfigError(f"{DEBUG_ENV}={raw!r}: valid values are 1 (show the traceback of an "
                          "internal error) and 0 or empty (do not); unset it or give one of them")
    from cevns.progress import forced_mode

    forced_mode()  # a bad CEVNS_PROGRESS
    if os.environ.get("CEVNS_MAX_GRID_BYTES", "").strip():  # read by the scan layer (heavy):
        from cevns.scan.grid import max_grid_bytes  # imported only when the variable is set

        max_grid_bytes()  # else reported later once per grid axis, as an error of the file


# -- option checks ------------------------------------------------------------------------------


def _number(option: str, *, gt: float | None = None, ge: float | None = None,
            lt: float | None = None, le: float | None = None):
    """A typer callback refusing NaN, ±inf and values outside the given bounds, naming ``option``."""

    def check(value):
        if value is None:
            return value
        bounds = []
        if gt is not None:
            bounds.append(f"> {gt:g}")
        if ge is not None:
            bounds.append(f">= {ge:g}")
        if lt is not None:
            bounds.append(f"< {lt:g}")
        if le is not None:
            bounds.append(f"<= {le:g}")
        valid = " and ".join(bounds)
        bad = (not math.isfinite(value) or (gt is not None and not value > gt)
               or (ge is not None and not value >= ge) or (lt is not None and not value < lt)
               or (le is not None and not value <= le))
        if bad:
            raise typer.BadParameter(f"must be a finite number{' ' + valid if valid else ''}, "
                                     f"got {value!r}", param_hint=f"'{option}'")
        return value

    return check


def _sin2_theta_w(option: str):
    """The typer callback of a sin²θ_W option: a finite number in
    ``cevns.physics.constants.SIN2_THETA_W_RANGE``, the package's one range, read only when a value
    is given (the constants module imports NumPy; ``--help`` stays light)."""

    def check(value):
        if value is None:
            return value
        from cevns.physics.constants import SIN2_THETA_W_RANGE

        lo, hi = SIN2_THETA_W_RANGE
        return _number(option, ge=lo, le=hi)(value)

    return check


def _path(option: str):
    """A typer parser of a path option that refuses an empty path ('' would mean the current
    folder)."""

    def parse(value):
        if isinstance(value, Path):
            return value
        if not str(value).strip():
            raise typer.BadParameter("empty path; give a folder or file name",
                                     param_hint=f"'{option}'")
        return Path(value)

    return parse


def _json_safe(value: Any) -> Any:
    """``value`` with NaN/±inf replaced by ``None`` (strict JSON), paths and numpy scalars plain."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(_json_safe(doc), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


# -- spectra ------------------------------------------------------------------------------------


def _preset_files(presets: list[Path] | None) -> list[Path]:
    """The preset files a command reads: ``$CEVNS_PRESETS`` and ``--presets``."""
    from cevns.experiment.catalogue import PRESETS_ENV

    env = [Path(p) for p in os.environ.get(PRESETS_ENV, "").split(os.pathsep) if p.strip()]
    return [*env, *(presets or [])]


def _input_files(analysis_file: Path | None, presets: list[Path] | None
                 ) -> dict[tuple[int, int], str]:
    """The regular files a ``run`` or ``reproduce`` reads for the user, by (device, inode): the
    analysis file, the preset files (``$CEVNS_PRESETS``, ``--presets`` and the analysis file's
    own ``presets``) and every ``spectrum_file`` they name (relative to their folder). Read again
    here, after they validated, so that no reader has to keep a record."""
    import stat

    from cevns.config import load_toml

    def spectrum_files(data, base: Path) -> list[Path]:
        if isinstance(data, dict):
            return [p for key, value in data.items()
                    for p in ([base / value] if key == "spectrum_file" and isinstance(value, str)
                              else spectrum_files(value, base))]
        if isinstance(data, list):
            return [p for value in data for p in spectrum_files(value, base)]
        return []

    todo = list(_preset_files(presets))
    if analysis_file is not None:
        # a config.json names no other file; a pipe cannot be read twice
        if analysis_file.suffix.lower() != ".json" and analysis_file.is_file():
            raw = load_toml(analysis_file)
            todo += [analysis_file.parent / p for p in raw.get("presets") or ()
                     if isinstance(p, str)]
            todo += spectrum_files(raw, analysis_file.parent)
        todo.insert(0, analysis_file)
    out: dict[tuple[int, int], str] = {}
    while todo:
        path = Path(todo.pop(0))
        try:
            st = os.stat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) in out:
            continue  # a pipe or a device (nothing an output could replace), or seen
        out[(st.st_dev, st.st_ino)] = str(path)
        if path != analysis_file and path.suffix.lower() == ".toml":  # a preset file
            try:
                todo += spectrum_files(load_toml(path), path.parent)
            except ConfigError:
                pass
    return out


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(os.path.abspath(a)) == Path(os.path.abspath(b))


def _refuse_input_as_output(path: Path, option: str, inputs) -> None:
    """Refuse to write an output onto a file the same command reads (before reading it)."""
    for given in inputs:
        if _same_file(path, Path(given)):
            raise OutputError(f"{option} {path}: is an input of this command ({given}); writing "
                              "the output there would replace it: give another file name")


def _refuse_outputs_over_inputs(folder: Path, stems, names, inputs: dict) -> None:
    """Refuse, even with ``--force``, to write results into ``folder`` where one of the files
    they would replace is an input of this command.

    ``inputs`` holds the files the command reads (:func:`_input_files`); the
    files it may write into ``folder`` are ``names`` and every name made of a stem of ``stems``
    followed by ``.`` or ``_`` (``p1.md``, ``p1_spectra.csv``). A link among them counts as
    the file it leads to (a write goes through it).
    """
    if not inputs or not folder.is_dir():
        return
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if name not in names and not any(name.startswith((f"{s}.", f"{s}_")) for s in stems):
            continue
        try:
            st = entry.stat()
        except OSError:
            continue
        given = inputs.get((st.st_dev, st.st_ino))
        if given is not None:
            read_as = "" if os.path.abspath(given) == os.path.abspath(entry) else f" ({given})"
            raise OutputError(f"{entry}: is an input of this command{read_as} and an output it "
                              "would write there, which would replace it (also with --force); "
                              "move the input elsewhere or choose another --out")


def _refuse_hepdata_over_inputs(hepdata: Path, inputs: dict) -> None:
    """Refuse a ``--hepdata`` folder where the submission would replace an input of the command:
    its marker, ``submission.tar.gz`` and every file of ``submission/`` (whose YAML files and
    figures are rewritten)."""
    from cevns.analyses.hepdata import SUBMISSION_MARKER

    _refuse_outputs_over_inputs(hepdata, ("submission",), (SUBMISSION_MARKER,), inputs)
    folder = hepdata / "submission"
    if folder.is_dir():
        _refuse_outputs_over_inputs(folder, (), {e.name for e in folder.iterdir()}, inputs)


def _is_stdout(path: Path) -> bool:
    """True if writing ``path`` writes to this process's stdout (``/dev/stdout``,
    ``/proc/self/fd/1``, the terminal or the file stdout is redirected to), unless that is
    ``/dev/null``."""
    try:
        here, there = os.fstat(sys.stdout.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):  # no such file yet, or stdout is no file
        return False
    same = (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
    return same and not _same_file(path, Path(os.devnull))


def _csv_target(text: str) -> Path | None:
    """Check a ``--csv`` target before computing; ``None`` means stdout (``-``)."""
    if text == "-":
        return None
    if not text:
        raise OutputError("--csv: empty file name")
    path = Path(text)
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise OutputError(f"--csv {text}: is a folder; give a file name, e.g. {path / 'spectra.csv'}")
    parent = path.parent
    if not parent.exists():
        raise OutputError(f"--csv {text}: folder {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(f"--csv {text}: {parent} is not a folder")
    from cevns import fsio

    fsio.write_target(path)  # a symbolic link is written through: it must lead somewhere
    return path


@app.command(epilog="Examples:\n\n"
                    "  cevns spectra\n\n"
                    "  cevns spectra -d CsI -d Xe --run-years 1 --per-bin\n\n"
                    "  cevns spectra -d CsI --csv csi.csv      (writes exactly csi.csv)\n\n"
                    "  cevns spectra --presets my_presets.toml -d MyDet --json")
def spectra(
    detector: Annotated[list[str] | None, typer.Option(
        "--detector", "-d", help="detector preset (repeatable; default: the six ESS detectors)")] = None,
    run_years: Annotated[float | None, typer.Option(
        "--run-years", "--years", help="run time in years (source key run_years)",
        callback=_number("--run-years", gt=0, le=1e3))] = None,
    baseline_m: Annotated[float | None, typer.Option(
        "--baseline-m", help="source-detector distance in m (source key baseline_m)",
        callback=_number("--baseline-m", gt=0, le=1e6))] = None,
    source: Annotated[str | None, typer.Option(
        help="source preset (default: the detectors' default_source; ess for the built-in "
        "detectors)")] = None,
    sin2_theta_w: Annotated[float | None, typer.Option(
        "--sin2-theta-w", help="sin²θ_W in [0, 1] (MS-bar, Q→0; default 0.23857)",
        callback=_sin2_theta_w("--sin2-theta-w"))] = None,
    sin2w: Annotated[float | None, typer.Option(
        "--sin2w", hidden=True, callback=_sin2_theta_w("--sin2w"))] = None,
    presets: PresetsOpt = None,
    per_bin: Annotated[bool, typer.Option("--per-bin", help="also print every bin")] = False,
    csv: Annotated[str | None, typer.Option(
        "--csv", metavar="FILE",
        help="write the per-bin table to exactly this CSV file, replacing it if it exists (as "
        "the shell's > does; an input file of the command is refused); '-' for stdout: then "
        "stdout holds only the CSV, without the table, as with --json")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON on stdout")] = False,
) -> None:
    """Print expected CEvNS counts per detector and flavour (and the background)."""
    if sin2w is not None:
        if sin2_theta_w is not None and sin2_theta_w != sin2w:  # neither may silently win
            raise typer.BadParameter(
                f"--sin2-theta-w {sin2_theta_w!r} and --sin2w {sin2w!r} (its deprecated alias) "
                "give two different values; give one, as --sin2-theta-w",
                param_hint="'--sin2-theta-w'/'--sin2w'")
        _say("warning: --sin2w is deprecated; use --sin2-theta-w")
        sin2_theta_w = sin2w
    if as_json and csv == "-":
        raise typer.BadParameter("--json and --csv - would both write to stdout and mix CSV "
                                 "into the JSON; write the CSV to a file (--csv FILE)",
                                 param_hint="'--json'/'--csv -'")
    csv_path = _csv_target(csv) if csv is not None else None
    if as_json and csv_path is not None and _is_stdout(csv_path):
        raise typer.BadParameter(f"--csv {csv} is this command's stdout, where --json writes: "
                                 "the CSV would be mixed into the JSON; write the CSV to a file",
                                 param_hint="'--json'/'--csv'")
    if csv_path is not None:
        _refuse_input_as_output(csv_path, "--csv", _preset_files(presets))
    for i, name in enumerate(detector or ()):
        if name in detector[:i]:
            raise typer.BadParameter(f"{name!r} given twice; give each detector once (it would "
                                     "be listed twice)", param_hint="'--detector' / '-d'")

    from cevns.config import validate
    from cevns.experiment import ESS_DETECTORS, Source, get_detector, get_source
    from cevns.physics.constants import SIN2_THETA_W
    from cevns.physics.flux import FLAVOURS
    from cevns.rates import sm_spectrum

    catalogue = _catalogue(presets)
    names = detector or list(ESS_DETECTORS)
    dets = [get_detector(n, catalogue) for n in names]
    if source is None:  # the source used when none is given (docs/catalogue.md)
        defaults = {d.name: d.default_source for d in dets}
        if len(set(defaults.values())) > 1:
            listed = ", ".join(f"{n}: {s}" for n, s in defaults.items())
            raise typer.BadParameter(f"the detectors have different default sources ({listed}); "
                                     "give one with --source", param_hint="'--source'")
        source = next(iter(defaults.values()), "ess")
    src = get_source(source, catalogue)
    if csv_path is not None:  # a tabulated source's spectrum file is an input too
        spectrum_file = getattr(src, "spectrum_file", None)
        if spectrum_file:
            _refuse_input_as_output(csv_path, "--csv", [
                Path(spectrum_file), *(f.parent / spectrum_file for f in _preset_files(presets))])
    if run_years is not None:  # a data period with a fixed exposure refuses (as the API does)
        src = src.with_run_years(run_years)
    if baseline_m is not None:  # a flux given at the detector refuses (it would not change)
        src.check_baseline_change()
        src = validate(Source, {**src.model_dump(), "baseline_m": baseline_m}, where="source")
    s2w = SIN2_THETA_W if sin2_theta_w is None else sin2_theta_w
    spectra_ = [sm_spectrum(d, src, sin2_theta_w=s2w) for d in dets]
    for spec in spectra_:  # a true 0, but almost always a threshold or a source not meant
        if not spec.total_signal > 0:
            _say(f"warning: detector {spec.detector} expects no CEvNS event from source "
                 f"{src.name}: no neutrino gives a recoil above its threshold and inside its "
                 "bins, or the detection efficiency is zero there")
    rows = [r for spec in spectra_ for r in spec.to_rows()]
    flavours = spectra_[0].flavours if spectra_ else FLAVOURS  # the source's flavours
    bin_cols = ("lower_keVnr", "upper_keVnr", *flavours, "signal", "background")

    from cevns.analyses.output import write_csv

    # A file first: if it cannot be written, nothing was printed. The CSV to this command's
    # stdout ('-', /dev/stdout) takes the place of the table, as --json does: stdout holds one
    # format.
    to_stdout = csv is not None and (csv_path is None or _is_stdout(csv_path))
    written = write_csv(rows, csv_path) if csv_path is not None and not to_stdout else None
    if to_stdout:
        write_csv(rows, csv_path)
    elif as_json:
        _print_json({
            "source": src.name, "run_years": src.run_years, "baseline_m": src.baseline_m,
            "sin2_theta_w": s2w,
            "detectors": [{"detector": spec.detector, "n_bins": len(spec.background),
                           "per_flavour": spec.per_flavour, "signal": spec.total_signal,
                           "background": spec.total_background, "bins": spec.to_rows()}
                          for spec in spectra_],
        })
    else:
        console = _stdout_console(wide=True)
        table = _number_table(title=_text(f"Expected events, {src.run_years:g} yr at {src.name} "
                                  f"(sin²θ_W = {s2w})"))
        table.add_column("detector")
        table.add_column("bins", justify="right")
        labels = spectra_[0].flavour_labels  # "prompt", "delayed" only for a π-DAR source
        for f in flavours:
            table.add_column(labels[f], justify="right")
        table.add_column("CEvNS", justify="right")
        table.add_column("background", justify="right")
        for spec in spectra_:
            _add_row(table, _text(spec.detector), str(len(spec.background)),
                          *(_count_cell(v) for v in spec.per_flavour.values()),
                          _count_cell(spec.total_signal), _count_cell(spec.total_background))
            if per_bin:
                bins = _number_table(title=_text(f"{spec.detector} per bin"))
                for col in bin_cols:
                    bins.add_column(col, justify="right")
                for r in spec.to_rows():
                    _add_row(bins, *(f"{r[c]:.4g}" for c in bin_cols))
                console.print(bins)
        console.print(table)
    if written is not None:
        _say(f"wrote {written}")


def _count_cell(value: float) -> str:
    """An event count for a table: one decimal from 0.05 up to 10⁹ events, else 3–4 significant
    digits with an exponent (a flux table of 10³⁰⁰ /cm²/s gave a 300-digit cell; 10⁻⁶ events
    showed as 0.0, like none)."""
    if value == 0 or 0.05 <= abs(value) < 1e9:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 0.05 else f"{value:.4g}"


# -- info ---------------------------------------------------------------------------------------


@app.command(epilog="Examples:\n\n  cevns info\n\n  cevns info --json | python -m json.tool")
def info(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON on stdout")] = False,
    presets: PresetsOpt = None,
) -> None:
    """List versions, presets (with citations), analysis kinds and reproduce items."""
    import numpy
    import scipy

    import cevns
    from cevns.analyses import item_names, kinds, shipped_analysis
    from cevns.experiment import detector_names, get_detector, get_source, source_names
    from cevns.physics.constants import SIN2_THETA_W

    catalogue = _catalogue(presets)
    sources = [get_source(n, catalogue) for n in source_names(catalogue)]
    detectors = [get_detector(n, catalogue) for n in detector_names(catalogue)]
    items = [shipped_analysis(n, catalogue) for n in item_names()]
    if as_json:
        _print_json({
            "version": cevns.__version__, "numpy": numpy.__version__, "scipy": scipy.__version__,
            "sin2_theta_w": SIN2_THETA_W,
            "sources": [s.model_dump(mode="json") for s in sources],
            # the definition as given, and the threshold and bins the text table shows (with a
            # response table threshold_keVnr is null: its keVnr-equivalent comes from the table)
            "detectors": [{**d.model_dump(mode="json"),
                           "threshold_keVnr_equivalent": d.threshold_keVnr_equivalent,
                           "n_bins": d.n_bins} for d in detectors],
            "items": [{"name": a.name, "paper": a.paper, "kind": a.kind, "title": a.title}
                      for a in items],
            "kinds": sorted(kinds()),
        })
        return
    from rich.table import Table

    console = _stdout_console()
    console.print(_text(f"cevns {cevns.__version__} (numpy {numpy.__version__}, "
                        f"scipy {scipy.__version__})"))
    console.print(_text(f"sin²θ_W = {SIN2_THETA_W} (MS-bar, Q → 0; PDG 2022)"))
    t = Table(title="sources")
    for col in ("name", "baseline [m]", "ν/flavour/POT", "POT/yr", "citation"):
        t.add_column(col)
    for s in sources:
        per_cm2_s = s.kind == "tabulated" and s.normalisation == "per-cm2-s"
        _add_row(t, _text(s.name), f"{s.baseline_m:g}",
                  "table" if s.nu_per_flavour_per_pot is None else f"{s.nu_per_flavour_per_pot:g}",
                  "—" if per_cm2_s else f"{s.protons_per_year:.3g}", _text(s.citation))
    console.print(t)
    t = Table(title="detectors")
    for col in ("name", "mass [kg]", "targets", "E_th [keVnr]", "σ₀", "ε", "SSB [ckkd]", "bins",
                "citation"):
        t.add_column(col)
    for d in detectors:
        _add_row(t, _text(d.name), f"{d.mass_kg:g}", _text("+".join(nuc.name for nuc, _ in d.nuclei)),
                  f"{d.threshold_keVnr_equivalent:.4g}", f"{d.resolution.sigma0:g}",
                  f"{d.efficiency:g}",
                  f"{d.background.rate_ckkd:g}", str(d.n_bins), _text(d.citation))
    console.print(t)
    t = Table(title="reproduce items")
    for col in ("item", "paper", "kind", "title"):
        t.add_column(col)
    for a in items:
        _add_row(t, _text(a.name), _text(a.paper), _text(a.kind), _text(a.title))
    console.print(t)
    console.print(_text("analysis kinds: " + ", ".join(sorted(kinds()))))


# -- output folders -----------------------------------------------------------------------------


def _read_json(path: Path, what: str) -> Any:
    """Read a JSON file cevns wrote; a corrupt one is an :class:`OutputError` suggesting --force."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise OutputError(f"{path}: corrupt {what} ({_one_line(str(exc))}); use --force to "
                          "overwrite the folder's results") from None
    except OSError as exc:
        raise OutputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _check_folder(out: Path, what: str = "output folder") -> None:
    """Refuse an output folder that is a file or lies under a file (before any computation)."""
    from cevns import fsio

    fsio.ensure_dir(out, what)


def _check_out_dir(out: Path, config: dict, resume: bool = False, force: bool = False,
                   outputs=(), resumable: bool = True) -> None:
    """Refuse to mix results of different configurations, or of different commands, in one
    folder, and to write into a folder of files cevns did not write; claim the folder.

    The one check of ``cevns run``, ``reproduce``, ``fit`` and of :func:`cevns.analyses.run_analysis`
    (:func:`cevns.provenance.claim_output_folder`): without ``--resume`` a different
    configuration needs ``--force``; with ``--resume`` it is always refused, naming what changed.
    A corrupt ``provenance.json`` or ``config.json`` is reported (``--force`` overwrites it).
    """
    from cevns.provenance import claim_output_folder

    _check_folder(out)
    claim_output_folder(out, config, resume=resume, force=force, outputs=outputs,
                        resumable=resumable)


def _check_reproduce_dir(out: Path, force: bool) -> None:
    """A ``cevns reproduce`` folder holds ``index.json`` and one result folder per item; refuse
    a folder holding the record of ``cevns run``/``fit`` or files cevns did not write
    (``--force`` writes anyway)."""
    from cevns.provenance import (
        CONFIG_FILE,
        INDEX_FILE,
        RECORD_FILE,
        SCANS_FOLDER,
        describe_config,
        only_claimed,
        read_record,
        refuse_foreign,
    )

    _check_folder(out)
    if force or (out / INDEX_FILE).is_file():
        return
    if only_claimed(out):  # the claim of a run or fit that failed before it wrote anything
        (out / CONFIG_FILE).unlink()
        return
    for name in (CONFIG_FILE, RECORD_FILE):
        if (out / name).is_file():
            held = describe_config(read_record(out / name, "record"))
            raise OutputError(f"{out} holds {held}, not the results of 'cevns reproduce': its "
                              f"record {out / name} would be mixed with them; choose another "
                              "--out or use --force to write there anyway")
    refuse_foreign(out, (INDEX_FILE, "index.md", "index.html", "contact_sheet", SCANS_FOLDER))


def _read_index(out: Path, force: bool) -> dict:
    """The existing ``index.json`` of a reproduce folder (empty with ``--force`` or if absent)."""
    path = out / "index.json"
    if force or not path.exists():
        return {}
    doc = _read_json(path, "index")
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise OutputError(f"{path}: corrupt index (not a table of items); use --force to rebuild it")
    return doc


def _write_index(out: Path, analyses: dict, records: dict, existing: dict, quick: bool) -> None:
    """Write ``index.json`` (atomically) and the report of a reproduce folder:
    ``index.md``, ``index.html`` and ``contact_sheet.png`` (:mod:`cevns.analyses.report`)."""
    from cevns import fsio
    from cevns.analyses.report import write_report

    index = {}
    for n, rec in existing.items():  # keep earlier items, but only entries cevns could have written
        try:
            fsio.check_slug(n, "item")
        except CevnsError:
            continue
        if isinstance(rec, dict) and all(isinstance(f, str) for f in rec.get("files", [])):
            index[n] = rec
    for n, an in analyses.items():
        index[n] = {"title": an.title, "paper": an.paper, "kind": an.kind,
                    "files": records[n]["files"], "wall_time_s": records[n]["wall_time_s"],
                    "quick": quick}
    fsio.atomic_write_text(fsio.inside(out, "index.json"), json.dumps(index, indent=2) + "\n")
    write_report(out, index)


@contextmanager
def _progress_display():
    """Per-scan progress on stderr: rich progress bars in a terminal, plain lines in a log file,
    nothing in CI (``CI`` set) — the rules of :mod:`cevns.progress`. ``CEVNS_PROGRESS=silent``
    shows nothing, ``terminal`` (or ``notebook``, which a command cannot show) the rich bars."""
    from cevns.progress import _in_ci, forced_mode

    console = _stderr_console()
    forced = forced_mode()
    if forced == "silent" or (forced is None and _in_ci() and not console.is_terminal):
        yield lambda label, done, total: None
        return
    if forced is None and not console.is_terminal:
        def plain(label: str, done: int, total: int) -> None:
            if done == total or done % max(1, total // 4) == 0:
                _say(f"  {label}: {done}/{total} tiles")

        yield plain
        return
    from cevns.progress import progress_display

    with progress_display(console, mode="terminal") as update:  # the library's rich bars
        yield update


# -- executor options (one definition, shared by ``run`` and ``reproduce``) --------------------


class ExecutorName(StrEnum):
    """Where the analyses and the tiles of their scans are computed."""

    auto = "auto"
    serial = "serial"
    processes = "processes"
    dask = "dask"


_PANEL = "Execution"
ExecutorOpt = Annotated[ExecutorName, typer.Option(
    "--executor", help="auto | serial | processes | dask. auto (default): a process pool with "
    "one worker per CPU core, fewer for small work, serial on one core. On processes and a "
    "local dask cluster whole items and the tiles of their scans share one queue, longest "
    "first; the results are the same as serial", rich_help_panel=_PANEL)]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", min=1, max=MAX_WORKERS, help="worker processes (auto, processes, dask)",
    rich_help_panel=_PANEL)]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", help="dask scheduler address, e.g. tcp://host:8786 (implies --executor dask)",
    rich_help_panel=_PANEL)]
ResumeOpt = Annotated[bool, typer.Option(
    "--resume", help="continue an interrupted run (same configuration)", rich_help_panel=_PANEL)]
ForceOpt = Annotated[bool, typer.Option(
    "--force", help="overwrite results of another configuration (or a corrupt record)",
    rich_help_panel=_PANEL)]
QuickOpt = Annotated[bool, typer.Option(
    "--quick", help="coarse grids for a fast preview", rich_help_panel=_PANEL)]
PdfOpt = Annotated[bool, typer.Option(
    "--pdf", help="also write every figure as PDF (PNG only by default)")]
NoFiguresOpt = Annotated[bool, typer.Option(
    "--no-figures", help="write tables, χ² grids and contours but no figures (scan-only runs)")]
PresetsOpt = Annotated[list[Path] | None, typer.Option(
    "--presets", metavar="FILE", parser=_path("--presets"),
    help="your preset TOML file (\\[source.NAME], \\[detector.NAME] tables; repeatable), added to the "
         "shipped presets and those of $CEVNS_PRESETS; a clashing name is an error unless the "
         "table says override = true (docs/catalogue.md)")]


def _catalogue(presets: list[Path] | None):
    """The catalogue of this command: shipped presets, $CEVNS_PRESETS, then --presets files."""
    from cevns.experiment import Catalogue

    catalogue = Catalogue.default()
    return catalogue.with_files(*presets) if presets else catalogue


def _executor_spec(executor: ExecutorName, workers: int | None, scheduler: str | None,
                   resume: bool, force: bool) -> dict:
    """The executor spec of the shared options (checked before any work starts)."""
    if resume and force:
        raise typer.BadParameter("--resume continues the results in the folder, --force "
                                 "replaces them: give one of them", param_hint="'--resume'/'--force'")
    chosen = ExecutorName(executor).value
    if scheduler is not None:
        _check_scheduler_address(scheduler)
        if chosen not in (ExecutorName.auto.value, ExecutorName.dask.value):
            raise typer.BadParameter(f"--scheduler runs the scan on that dask cluster; it "
                                     f"contradicts --executor {chosen}: give one of them",
                                     param_hint="'--scheduler'")
        if workers is not None:
            raise typer.BadParameter("the cluster behind --scheduler has its own workers; "
                                     "--workers applies to a local pool or cluster only",
                                     param_hint="'--workers'")
    if chosen == ExecutorName.serial.value and workers is not None:
        raise typer.BadParameter("--executor serial runs in this process; --workers applies to "
                                 "auto, processes and dask", param_hint="'--workers'")
    name = ExecutorName.dask.value if scheduler else chosen
    spec: dict = {"name": name}
    if name != "serial" and workers is not None:
        spec["n_workers" if name == "dask" else "max_workers"] = workers
    if scheduler:
        spec["address"] = scheduler
    return spec


def _check_scheduler_address(address: str) -> None:
    """A dask scheduler address is ``[scheme://]host:port`` with a port in 1–65535
    (:func:`cevns.forkserver.check_scheduler_address`, the executors' own rule); anything else is
    a usage error here, not a failure inside dask after the run has started."""
    from cevns.forkserver import check_scheduler_address

    try:
        check_scheduler_address(address)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--scheduler'") from None


def _check_figure_options(pdf: bool, no_figures: bool) -> None:
    if pdf and no_figures:
        raise typer.BadParameter("--pdf writes every figure also as PDF, --no-figures writes no "
                                 "figure: give one of them", param_hint="'--pdf'/'--no-figures'")


def _start_workers_early(spec: dict, auto: bool) -> None:
    """Start the forkserver the local workers will be forked from now, before this command
    imports the library (:func:`cevns.forkserver.start_early`): it then imports the worker
    modules on another core while this process imports and plans, and the workers are up as
    soon as the executor asks for them instead of about 1.2 s later (docs/cluster.md).

    Only when a local pool or cluster will run: ``processes``, ``dask`` without a scheduler
    address, and ``auto`` if `auto` (``cevns reproduce``: some thirty items, a pool) on more
    than one core. ``auto`` of ``cevns run`` decides from the analysis's expected cost, known
    only once it is parsed: its pool starts the server then, as the library does."""
    from cevns import forkserver

    name = spec["name"]
    if name == ExecutorName.processes.value or (name == ExecutorName.auto.value and auto
                                                 and _cores() > 1):
        forkserver.start_early(forkserver.WORKER_MODULES)
    elif name == ExecutorName.dask.value and "address" not in spec:
        forkserver.start_early((*forkserver.DASK_MODULES, *forkserver.WORKER_MODULES))


def _execution_args(executor: ExecutorName, workers: int | None, scheduler: str | None,
                    quick: bool, *, pdf: bool = False, no_figures: bool = False,
                    presets: list[Path] | None = None) -> list[str]:
    """The shared options as command-line words (for the resume hint)."""
    words = [w for p in presets or [] for w in ("--presets", str(p))]
    if scheduler:
        words += ["--scheduler", scheduler]
    elif ExecutorName(executor) is not ExecutorName.auto:
        words += ["--executor", ExecutorName(executor).value]
    if workers is not None:
        words += ["--workers", str(workers)]
    if quick:
        words.append("--quick")
    if pdf:
        words.append("--pdf")
    if no_figures:
        words.append("--no-figures")
    return words


@contextmanager
def _open_executor(spec: dict, analyses: dict, quick: bool):
    """The executor of the command, started (a dask scheduler reached) before any output folder
    is claimed: an unreachable ``--scheduler`` leaves no ``config.json`` behind. Yields
    ``(spec, executor)``; ``--executor auto`` is resolved here (:func:`_auto_spec`)."""
    from cevns.scan import make_executor

    if spec["name"] == ExecutorName.auto.value:
        spec = _auto_spec(analyses, quick, spec.get("max_workers"))
    with make_executor(spec) as executor_object:
        yield spec, executor_object


def _run_analyses(analyses: dict, folders: dict, opened: tuple, quick: bool, resume: bool,
                  scan_root: Path | None, figures: tuple[bool, bool] = (False, False),
                  force: bool = False) -> dict:
    """Run every analysis into its folder on the executor of :func:`_open_executor` (``opened``);
    return the provenance records. On a parallel executor whole analyses and the tiles of their
    scans share one queue (:mod:`cevns.analyses.schedule`).
    """
    from cevns.analyses import RunOptions
    from cevns.analyses.schedule import run_analyses

    spec, executor_object = opened
    with _progress_display() as progress:
        extra: dict = {}
        if scan_root is not None:
            extra["scan_root"] = scan_root
        pdf, no_figures = figures
        options = RunOptions(quick=quick, executor=spec["name"], resume=resume, force=force,
                             progress=progress, extra=extra, pdf=pdf, no_figures=no_figures)
        parallel = spec["name"] != "serial" and executor_object.local
        if parallel and len(analyses) > 1:
            _say(f"{len(analyses)} items on {executor_object.describe()}, longest first")

        def on_start(name: str) -> None:
            _say(f"{name} — {analyses[name].title}")

        def on_done(name: str, record: dict) -> None:
            if parallel:
                on_start(name)
            _say(f"  done in {record['wall_time_s']:.1f} s")

        return run_analyses(analyses, folders, options, executor_object, on_start=on_start,
                            on_done=on_done)


#: ``--executor auto`` starts a worker only for about this many expected CPU seconds of work:
#: a worker process costs about a second of start-up (spawn, imports).
AUTO_SECONDS_PER_WORKER = 2.0


def _cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _auto_spec(analyses: dict, quick: bool, workers: int | None) -> dict:
    """The executor of ``--executor auto``: a process pool of one worker per core (or
    ``--workers``), fewer when the expected work is small; serial on one core."""
    from cevns.analyses.schedule import expected_seconds

    if workers is None:
        total = sum(expected_seconds(an, quick) for an in analyses.values())
        workers = min(_cores(), max(1, int(total // AUTO_SECONDS_PER_WORKER)))
    return {"name": "processes", "max_workers": workers} if workers > 1 else {"name": "serial"}


# -- run ----------------------------------------------------------------------------------------


@app.command(epilog="Examples:\n\n"
                    "  cevns run my_analysis.toml\n\n"
                    "  cevns run my_analysis.toml --out results/mine --quick\n\n"
                    "  cevns run my_analysis.toml --executor processes --workers 2\n\n"
                    "  cevns run my_analysis.toml --resume      (after Ctrl-C)")
def run(
    analysis_file: Annotated[Path, typer.Argument(metavar="FILE", help="analysis TOML file (or "
                                                  "the config.json a run wrote)",
                                                  parser=_path("FILE"))],
    out: Annotated[Path | None, typer.Option(help="output folder (default results/NAME)",
                                             parser=_path("--out"), metavar="<path>")] = None,
    executor: ExecutorOpt = ExecutorName.auto,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    resume: ResumeOpt = False,
    force: ForceOpt = False,
    quick: QuickOpt = False,
    pdf: PdfOpt = False,
    no_figures: NoFiguresOpt = False,
    presets: PresetsOpt = None,
) -> None:
    """Run one analysis file (see docs for the schema of each kind)."""
    spec = _executor_spec(executor, workers, scheduler, resume, force)
    _check_figure_options(pdf, no_figures)
    _start_workers_early(spec, auto=False)
    from cevns.analyses import load_analysis
    from cevns.provenance import CONFIG_FILE, RECORD_FILE

    if analysis_file.is_dir():
        raise ConfigError(f"{analysis_file}: is a folder, not an analysis TOML file")
    an = load_analysis(analysis_file, catalogue=_catalogue(presets))
    if not no_figures:  # text its figures cannot draw: before a folder is claimed
        from cevns.analyses.mathtext import check_drawn_text

        check_drawn_text(an, analysis_file.name)
    inputs = _input_files(analysis_file, presets)
    given_out = out or Path("results") / an.name  # the resume hint repeats it as given
    out = given_out
    if quick:  # previews never overwrite full results: they go to OUT/quick, as in reproduce
        from cevns.analyses.report import quick_folder

        out = quick_folder(given_out)
    # the folder's own config.json may be run again: it is rewritten with the analysis it holds
    records = (RECORD_FILE,) if _same_file(analysis_file, out / CONFIG_FILE) else \
        (CONFIG_FILE, RECORD_FILE)
    _refuse_outputs_over_inputs(out, (an.name,), records, inputs)
    from cevns.provenance import output_lock

    # one writer per folder; the executor (a dask scheduler) is reached before the claim
    with output_lock(out), _open_executor(spec, {an.name: an}, quick) as opened:
        _check_out_dir(out, an.model_dump(mode="json"), resume, force, outputs=(an.name,))
        hint = ["cevns", "run", str(analysis_file), "--out", str(given_out),
                *_execution_args(executor, workers, scheduler, quick, pdf=pdf,
                                 no_figures=no_figures, presets=presets), "--resume"]
        with _resumable(hint):
            rec = _run_analyses({an.name: an}, {an.name: out}, opened, quick, resume, None,
                                (pdf, no_figures), force)[an.name]
    what = "quick preview (coarse grids), " if quick else ""
    apart = (f"; full results (without --quick) go to {given_out} and are never overwritten by "
             "a preview" if quick else "")
    _say(f"{an.name}: {what}{len(rec['files'])} files in {out} ({rec['wall_time_s']:.1f} s)"
         f"{apart}")


# -- reproduce ----------------------------------------------------------------------------------


@app.command(epilog="Examples:\n\n"
                    "  cevns reproduce --list\n\n"
                    "  cevns reproduce --only fig1 --only table3 --out results\n\n"
                    "  cevns reproduce --quick --workers 2\n\n"
                    "  cevns reproduce --executor serial      (one process, item after item)\n\n"
                    "  cevns reproduce --only fig6 --resume      (after Ctrl-C)")
def reproduce(
    only: Annotated[list[str] | None, typer.Option("--only", help="item name (repeatable)")] = None,
    out: Annotated[Path, typer.Option(help="output folder", parser=_path("--out"),
                                      metavar="<path>")] = Path("results"),
    list_items: Annotated[bool, typer.Option(
        "--list", help="list the items (those of --only, else all) and exit")] = False,
    executor: ExecutorOpt = ExecutorName.auto,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    resume: ResumeOpt = False,
    force: ForceOpt = False,
    quick: QuickOpt = False,
    pdf: PdfOpt = False,
    no_figures: NoFiguresOpt = False,
    presets: PresetsOpt = None,
    hepdata: Annotated[Path | None, typer.Option(
        "--hepdata", help="also write a validated HEPData submission of the items into this "
        "folder (needs: pip install 'cevns\\[hepdata]')", parser=_path("--hepdata"),
        metavar="<path>")] = None,
) -> None:
    """Regenerate the paper's figures and tables from the shipped analyses."""
    if list_items:  # a listing computes and writes nothing: options about a run change nothing
        ignored = [flag for flag, given in (
            ("--out", out != Path("results")), ("--executor", executor != ExecutorName.auto),
            ("--workers", workers is not None), ("--scheduler", scheduler is not None),
            ("--resume", resume), ("--force", force), ("--quick", quick), ("--pdf", pdf),
            ("--no-figures", no_figures), ("--hepdata", hepdata is not None)) if given]
        if ignored:
            raise typer.BadParameter(f"--list only lists the items (of --only, with --presets); "
                                     f"it runs nothing, so {', '.join(ignored)} would change "
                                     "nothing: drop them, or drop --list to run",
                                     param_hint="'--list'")
    spec = _executor_spec(executor, workers, scheduler, resume, force)
    _check_figure_options(pdf, no_figures)
    if not list_items:
        _start_workers_early(spec, auto=True)
    from cevns.analyses import item_names, shipped_analysis
    from cevns.errors import UnknownNameError

    names = item_names()
    selected = list(dict.fromkeys(only or names))
    for n in selected:
        if n not in names:
            raise UnknownNameError("reproduce item", n, names)
    catalogue = _catalogue(presets)  # a bad preset file before any folder is made
    inputs = _input_files(None, presets)
    if list_items:  # the items given with --only, else all
        for n in selected:
            a = shipped_analysis(n, catalogue)
            print(f"{n:10s} {a.paper:28s} {a.title}")
        return
    analyses = {n: shipped_analysis(n, catalogue) for n in selected}
    if hepdata is not None:  # refuse before computing anything
        from cevns.analyses.hepdata import check_convertible, check_hepdata_target, require_hepdata

        require_hepdata()
        check_hepdata_target(hepdata)  # a file in the way, a submission of your own, before the run
        _refuse_hepdata_over_inputs(hepdata, inputs)
        check_convertible([an.kind for an in analyses.values()])  # every item, before any work
        from cevns.fsio import os_errors

        with os_errors(hepdata / "submission", "create"):  # a place we cannot write (/proc,
            (hepdata / "submission").mkdir(parents=True, exist_ok=True)  # read-only): now
    given_out = out  # the resume hint repeats the option as given
    if quick:  # previews never overwrite full results: they go to OUT/quick
        from cevns.analyses.report import quick_folder

        out = quick_folder(out)
    from cevns.provenance import output_lock

    # one writer per folder, the report's and each item's (index.json is read and written under
    # it); the executor (a dask scheduler) is reached before any folder is claimed
    with ExitStack() as held:
        held.enter_context(output_lock(out))
        opened = held.enter_context(_open_executor(spec, analyses, quick))
        _check_reproduce_dir(out, force)
        existing = _read_index(out, force)
        from cevns import fsio
        from cevns.provenance import CONFIG_FILE, INDEX_FILE, RECORD_FILE

        folders = {n: fsio.inside(out, fsio.check_slug(n, "item")) for n in selected}
        # the report (index.*, contact_sheet.png) and each item's folder: never over an input
        _refuse_outputs_over_inputs(out, ("index", "contact_sheet"), (INDEX_FILE,), inputs)
        for n in selected:
            _refuse_outputs_over_inputs(out / n, (n,), (CONFIG_FILE, RECORD_FILE), inputs)
        for n, an in analyses.items():
            held.enter_context(output_lock(folders[n]))
            _check_out_dir(folders[n], an.model_dump(mode="json"), resume, force, outputs=(n,))
        hint = ["cevns", "reproduce", *[w for n in (only or []) for w in ("--only", n)],
                "--out", str(given_out),
                *_execution_args(executor, workers, scheduler, quick, pdf=pdf, no_figures=no_figures,
                                 presets=presets),
                *(["--hepdata", str(hepdata)] if hepdata is not None else []), "--resume"]
        start = time.perf_counter()
        # the index and the HEPData files too: interrupted there, a resume recomputes nothing and
        # writes them again, so the user gets the resume hint, not a bare "interrupted"
        with _resumable(hint):
            records = _run_analyses(analyses, folders, opened, quick, resume,
                                    fsio.inside(out, "scans"), (pdf, no_figures), force)
            _write_index(out, analyses, records, existing, quick)
            _say(f"{len(records)} items in {time.perf_counter() - start:.1f} s → {out / 'index.md'}")
            if hepdata is not None:
                from cevns.analyses import write_hepdata

                result = write_hepdata(out, hepdata, items=selected)
                _say(f"HEPData submission: {result.archive or result.directory} "
                     f"({len(result.tables)} tables, validated)")


# -- fit ----------------------------------------------------------------------------------------


def _typed_values(items: list[str] | None) -> dict[str, str]:
    """KEY → VALUE as typed of ``--option`` / ``--fix`` KEY=VALUE items (already read by
    :func:`cevns.fits.scenario_signal.parse_assignments`): messages quote the user's own text,
    ``true`` and ``"10"``, not the ``True`` and ``'10'`` they were read as."""
    return {key.strip(): value.strip()
            for key, _, value in (item.partition("=") for item in items or [])}


def _check_fit_names(release: str, parameters: list[str] | None, *,
                     mediator_mass: float | None = None, vector_charge: str | None = None,
                     typed_options: dict[str, str] | None = None, **request: Any) -> None:
    """Refuse an unknown release or parameter, scenario options, fixed values, a scan range or a
    vector charge the fit would refuse (``request``), and ``--mediator-mass-mev`` or
    ``--vector-charge`` that no fitted parameter takes, before anything is made (the output
    folder). ``typed_options``: the ``--option`` values as typed, quoted in the messages."""
    from cevns.datasets.coherent import release_names
    from cevns.errors import UnknownNameError
    from cevns.fits.combined import COMBINED_RELEASE
    from cevns.fits.fit import DEFAULT_PARAMETERS
    from cevns.fits.parameters import FIT_PARAMETERS, check_fit_request, check_parameter
    from cevns.fits.scenario_signal import resolve_parameter

    valid = [*release_names(), COMBINED_RELEASE]
    if release not in valid:
        raise UnknownNameError("COHERENT release", release, valid)
    for name in parameters or ():
        if release == COMBINED_RELEASE:
            if name not in FIT_PARAMETERS:
                resolve_parameter(name, list(FIT_PARAMETERS))
        else:
            check_parameter(name, release)
    names = tuple(parameters or (("sin2_theta_w",) if release == COMBINED_RELEASE
                                 else DEFAULT_PARAMETERS[release]))
    _check_scenario_options(names, request.get("options") or {}, typed_options)
    request["vector_charge"] = "B-L" if vector_charge is None else vector_charge
    if release == COMBINED_RELEASE:  # each parameter is a fit of its own
        check_fit_request(parameters or (), **request)  # a name given twice among them
        for name in names:
            check_fit_request((name,), **request)
    else:
        check_fit_request(names, **request)
    _check_ngi_options(names, parameters, mediator_mass, vector_charge)


def _check_ngi_options(names: tuple[str, ...], given: list[str] | None,
                       mediator_mass: float | None, vector_charge: str | None) -> None:
    """Refuse ``--mediator-mass-mev`` and ``--vector-charge`` when no fitted parameter takes
    them (only the ``ngi_*_coupling`` parameters do): they would change nothing, and the fit's
    config.json would record values the fit did not use (docs/errors.md: options that would
    change nothing are refused). A ``SCENARIO.PARAMETER`` takes them as ``--fix`` and
    ``--option``: the message says so."""
    from cevns.fits.fit import NGI_OPTION_USERS, unused_ngi_options
    from cevns.fits.parameters import FIT_PARAMETERS

    unused = unused_ngi_options(names, mediator_mass_MeV=mediator_mass,
                                vector_charge=vector_charge)
    if not unused:
        return
    key = unused[0]
    option, value = (("--mediator-mass-mev", f"{mediator_mass:g}") if key == "mediator_mass_MeV"
                     else ("--vector-charge", str(vector_charge)))
    users = NGI_OPTION_USERS[key]
    fitted = (f"-p {' -p '.join(names)}" if given
              else f"the release's default set: {', '.join(names)}")
    scenario = [n for n in names if n not in FIT_PARAMETERS]
    if scenario:
        how = (f"--fix mediator_mass_MeV={value}" if key == "mediator_mass_MeV"
               else f"--option vector_charge={value} (with --option interaction=vector)")
        hint = (f"; a scenario parameter ({', '.join(scenario)}) takes it as a scenario "
                f"setting instead: {how}")
    else:
        hint = f"; drop {option}, or fit one of them (e.g. -p ngi_vector_coupling)"
    one = "the parameter " + users[0] if len(users) == 1 else "the parameters " + ", ".join(users)
    raise ConfigError(f"{option} {value}: applies to {one} only, and none is fitted ({fitted}): "
                      f"it would change nothing{hint}")


def _check_scenario_options(names: tuple[str, ...], options: dict,
                            typed: dict[str, str] | None = None) -> None:
    """Check the ``--option`` values against every ``SCENARIO.PARAMETER`` of ``names`` (the
    options apply to each of them), with messages in the words of the command line: the ``-p``
    parameter, the scenario, ``--option KEY=VALUE`` as typed (``typed``: ``true``, not the
    ``True`` it was read as; an option called ``name`` is an unknown option like any other: the
    scenario is the SCENARIO of ``-p SCENARIO.PARAMETER``)."""
    from cevns.fits.parameters import FIT_PARAMETERS
    from cevns.fits.scenario_signal import ScenarioChoice, resolve_parameter

    pairs = [(n, resolve_parameter(n, list(FIT_PARAMETERS))[0]) for n in names
             if n not in FIT_PARAMETERS]
    scenarios = list(dict.fromkeys(s for _, s in pairs))
    every = ""
    if len(scenarios) > 1:
        listed = ", ".join(f"{n} of scenario {s!r}" for n, s in pairs)
        every = (f"; --option applies to every -p parameter (here {listed}): fit parameters of "
                 "scenarios that take different options in separate commands")
    for name, scenario in pairs:
        try:
            ScenarioChoice.build(scenario, options)
        except ConfigError as exc:
            problem, unknown = _scenario_option_problem(exc, scenario, options, typed)
            raise ConfigError(f"-p {name}: {problem}{every if unknown else ''}") from None


def _scenario_option_problem(exc: ConfigError, scenario: str, options: dict,
                             typed: dict[str, str] | None = None) -> tuple[str, bool]:
    """The scenario's refusal of the ``--option`` values in the words of the command line, on one
    line; and whether an option is unknown to the scenario. Read from the error's structured
    :attr:`~cevns.errors.ConfigError.problems` (a plug-in scenario that checks its options
    itself raises a plain message, which is passed on as it is). A value is quoted as typed
    (``typed``), not as read (``true`` was read as ``True``)."""
    if not exc.problems:
        return " ".join(str(exc).split()), False
    typed = {key: (typed or {}).get(key, str(value)) for key, value in options.items()}
    said, unknown = [], False
    for problem in exc.problems:
        key = problem.key
        line = f"{'.'.join(problem.path)}: {problem.text}"
        if problem.kind == "missing":
            said.append(f"scenario {scenario!r} needs the option {key}: give it with --option "
                        f"{key}=VALUE ({line})")
        elif problem.kind == "unknown":
            unknown = True
            said.append(f"--option {key}={typed.get(key, '…')}: scenario {scenario!r} has no "
                        f"option {key!r}" + (f" ({problem.hint})" if problem.hint else ""))
        else:
            given = f"--option {key}={typed[key]}: " if key in options else ""
            if key in options and problem.given:  # quoted as typed ("true"), not as read (True)
                line = f"{'.'.join(problem.path)}: {problem.message} (got {typed[key]!r})"
            said.append(f"{given}{line}")
    return "; ".join(said), unknown


@app.command(epilog="Examples:\n\n"
                    "  cevns fit coherent-csi-2017\n\n"
                    "  cevns fit coherent-csi-2021 -p sin2_theta_w --json\n\n"
                    "  cevns fit coherent-csi-2021 -p dipole_moment --fix sterile_mass_MeV=5\n\n"
                    "  cevns fit coherent-lar-2020 -p ngi.coupling --option interaction=vector "
                    "--fix mediator_mass_MeV=10\n\n"
                    "  cevns fit coherent-combined -p sin2_theta_w -p neutron_radius_fm\n\n"
                    "  cevns fit --table docs/coherent_fits.md --coverage docs/coherent_coverage.json\n\n"
                    "  cevns fit coherent-lar-2020 --data-dir ~/coherent/lar --out results/lar")
def fit(
    release: Annotated[str | None, typer.Argument(
        metavar="RELEASE", help="coherent-csi-2017 | coherent-csi-2021 | coherent-lar-2020 | "
        "coherent-combined (CsI-2021 + LAr-2020, shared flux nuisance)")] = None,
    parameter: Annotated[list[str] | None, typer.Option(
        "--parameter", "-p", help="n_cevns, n_cevns_release (LAr), sin2_theta_w, neutron_radius_fm "
        "(CsI), ngi_{scalar,vector,axial,tensor}_coupling, or any registered scenario's "
        "parameter as SCENARIO.PARAMETER (dipole.magnetic_moment, ngi.coupling, "
        "nonunitarity.alpha11, sterile-oscillation.sin2_2theta, upscattering.coupling …; "
        "aliases dipole_moment, alpha11, alpha22, sin2_2theta) (repeatable; default: the "
        "release's set)")] = None,
    option: Annotated[list[str] | None, typer.Option(
        "--option", help="scenario option KEY=VALUE for SCENARIO.PARAMETER fits, as in an "
        "analysis file's [scenario] options, e.g. interaction=vector, channel=e (repeatable)")
    ] = None,
    fix: Annotated[list[str] | None, typer.Option(
        "--fix", help="value of another scenario parameter NAME=VALUE, as in an analysis file's "
        "fixed table, e.g. mediator_mass_MeV=10, sterile_mass_MeV=5 (repeatable; default: the "
        "scenario's defaults)")] = None,
    scan_range: Annotated[str | None, typer.Option(
        "--range", help="starting scan range LO,HI of a SCENARIO.PARAMETER (needed for a mass)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="output folder (default results/RELEASE)",
                                             parser=_path("--out"), metavar="<path>")] = None,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="folder with your own copy of the release files",
        parser=_path("--data-dir"), metavar="<path>")] = None,
    mediator_mass: Annotated[float | None, typer.Option(
        "--mediator-mass-mev", "--mediator-mass", help="mediator mass in MeV of the "
        "ngi_*_coupling parameters (key mediator_mass_MeV; default 10); for ngi.coupling use "
        "--fix mediator_mass_MeV=…", callback=_number("--mediator-mass-mev", gt=0, le=1e6))
    ] = None,
    vector_charge: Annotated[str | None, typer.Option(
        "--vector-charge", help="ngi_vector_coupling quark couplings: B-L (default) | universal; "
        "for ngi.coupling use --option vector_charge=…")] = None,
    table: Annotated[Path | None, typer.Option(
        "--table", help="write the comparison table of every release and the combination with "
        "the published numbers to this Markdown file (between its '<!-- fit-table -->' markers "
        "if it has them) and exit", parser=_path("--table"), metavar="<path>")] = None,
    coverage: Annotated[Path | None, typer.Option(
        "--coverage", help="with --table: JSON file of toy coverage and bias per release and "
        "parameter (cevns.fits.report.comparison_table)", parser=_path("--coverage"),
        metavar="<path>")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON on stdout")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="overwrite results of another fit or command in --out (or a corrupt "
        "record)")] = False,
    pdf: PdfOpt = False,
    no_figures: Annotated[bool, typer.Option(
        "--no-figures", help="write tables and profiles but no figures")] = False,
) -> None:
    """Fit COHERENT data: profile χ² per parameter, tables and figures."""
    from cevns import fsio
    from cevns.fits.combined import COMBINED_RELEASE
    from cevns.fits.scenario_signal import parse_assignments

    _check_figure_options(pdf, no_figures)
    from cevns.experiment.catalogue import PRESETS_ENV

    if os.environ.get(PRESETS_ENV, "").strip():  # a broken preset file is an error of every
        _catalogue(None)  # command, as of spectra, info, run and reproduce (none used here)
    if table is not None:
        from cevns.fits.report import (
            check_table_target,
            load_coverage,
            table_command,
            write_comparison_table,
        )

        unused = [name for name, given in (
            ("RELEASE", release is not None), ("-p", parameter), ("--option", option),
            ("--fix", fix), ("--range", scan_range is not None), ("--out", out is not None),
            ("--data-dir", data_dir is not None), ("--mediator-mass-mev", mediator_mass is not None),
            ("--vector-charge", vector_charge is not None), ("--json", as_json),
            ("--force", force), ("--pdf", pdf), ("--no-figures", no_figures)) if given]
        if unused:  # each would be ignored: the table fits the packaged releases its own way
            raise ConfigError(f"--table fits every release of the comparison table itself "
                              f"(packaged data, the table's own parameters) and writes only that "
                              f"Markdown file: {', '.join(unused)} would be ignored; drop "
                              f"{'it' if len(unused) == 1 else 'them'} (--table goes only with "
                              "--coverage), or fit one RELEASE without --table")
        check_table_target(table)  # before the fits (about 10 s)
        command = table_command(table, coverage)  # named in the file, as given here
        if coverage is not None:  # read once, as given (a pipe too), before the fits
            _refuse_input_as_output(table, "--table", [coverage])
            coverage = load_coverage(coverage)
        path = write_comparison_table(table, coverage=coverage, command=command)
        _say(f"comparison table written to {path}")
        return
    if coverage is not None:
        raise ConfigError("--coverage goes with --table")
    if release is None:
        raise ConfigError("give a RELEASE (coherent-csi-2017, coherent-csi-2021, "
                          "coherent-lar-2020, coherent-combined) or --table FILE")
    options = parse_assignments(option, "--option")
    fixed = parse_assignments(fix, "--fix")
    typed_fix = _typed_values(fix)  # messages quote the user's text (true, not True)
    for key, value in fixed.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"--fix {key}={typed_fix[key]}: the value must be a number")
    rng = None
    if scan_range is not None:
        try:
            lo, hi = (float(v) for v in scan_range.split(","))
        except ValueError:
            raise ConfigError(f"--range {scan_range!r}: expected LO,HI, e.g. 0,1e-4") from None
        rng = (lo, hi)
    scenario_kw = {"options": options or None, "fixed": fixed or None, "scan_range": rng}
    if data_dir is not None and not data_dir.is_dir():
        raise ConfigError(f"--data-dir {data_dir}: " + ("exists but is not a folder"
                                                         if data_dir.exists() else "no such folder"))
    try:
        _check_fit_names(release, parameter, options=options, fixed=fixed, scan_range=rng,
                         mediator_mass=mediator_mass, vector_charge=vector_charge,
                         typed_options=_typed_values(option))  # before --out
    except ConfigError as exc:  # the API names a fixed value; here it is given as --fix
        refused = [p for p in exc.problems if p.path[:1] == ("fixed",) and p.key in fixed]
        if not refused:
            raise
        key = refused[0].key
        raise ConfigError(f"fixed value {key} = {fixed[key]!r} (--fix): "
                          f"{refused[0].text}") from None
    given_mass, given_charge = mediator_mass, vector_charge  # None: not given (the fit refuses
    mediator_mass = 10.0 if mediator_mass is None else mediator_mass  # them where unused); the
    vector_charge = "B-L" if vector_charge is None else vector_charge  # record keeps defaults
    if release == COMBINED_RELEASE and data_dir is not None:
        raise ConfigError("--data-dir: the combination uses the packaged releases")
    loaded = None  # your copy, read once: a missing or broken file before the folder is claimed
    if data_dir is not None:
        from cevns.datasets.coherent import load_release

        loaded = load_release(release, data_dir)
    out = out or Path("results") / fsio.check_slug(release, "release")
    from cevns.fits.report import fit_config, write_combined_outputs, write_outputs

    record = fit_config(release, parameter, options=options, fixed=fixed, scan_range=rng,
                        mediator_mass_MeV=mediator_mass, vector_charge=vector_charge,
                        data_dir=None if data_dir is None else str(data_dir.resolve()))
    from cevns.provenance import output_lock

    with output_lock(out):  # one writer per output folder (docs/errors.md)
        _check_out_dir(out, record, force=force, outputs=("fit", "prediction", "profile",
                                                          "data_vs_fit"), resumable=False)
        if release == COMBINED_RELEASE:
            from cevns.fits.combined import fit_combined_release

            combined = fit_combined_release(parameter or ("sin2_theta_w",),
                                            mediator_mass_MeV=given_mass,
                                            vector_charge=given_charge, **scenario_kw)
            combined.files = write_combined_outputs(combined, out, config=record, force=force,
                                                    pdf=pdf, no_figures=no_figures)
            if as_json:
                _print_json({"release": release, "releases": list(combined.releases),
                             "flux_sigma": combined.flux_sigma, "parameters": combined.rows(),
                             "files": [str(p) for p in combined.files],
                             "runtime_s": combined.runtime_s})
            else:
                tab = _number_table(title=_text(f"{release}: {' + '.join(combined.releases)}, shared flux "
                                        f"nuisance σ = {100 * combined.flux_sigma:.0f} %"))
                for col in ("parameter", "best", "1σ interval", "90% C.L.", "SM", "flux θ"):
                    tab.add_column(col)
                for f in combined.fits.values():
                    lim = f"{f.limit_90cl:.4g}" if f.limit_90cl is not None else ""
                    _add_row(tab, _text(f.name), f"{f.best:.4g}", f"[{f.lower:.4g}, {f.upper:.4g}]",
                             lim, f"{f.sm_value:.4g}", f"{f.flux_at_best:+.3f}")
                _stdout_console(wide=True).print(tab)
                for f in combined.fits.values():
                    for note in f.notes:
                        _say(f"  {f.name}: {note}")
            _say(f"{len(combined.files)} files in {out} ({combined.runtime_s:.1f} s)")
            return
        import warnings

        from cevns.fits import CrossCheckWarning, fit_release

        with warnings.catch_warnings():  # the fit's notes say it, printed below as "warning: …"
            warnings.simplefilter("ignore", CrossCheckWarning)
            result = fit_release(release if loaded is None else loaded, parameter or None,
                                 mediator_mass_MeV=given_mass, vector_charge=given_charge,
                                 **scenario_kw)
        result.files = write_outputs(result, out, config=record, force=force, pdf=pdf,
                                     no_figures=no_figures)
        if as_json:
            _print_json({"release": release, "sm_prediction": result.sm_prediction,
                         "parameters": [f.row() for f in result.fits.values()],
                         "files": [str(p) for p in result.files], "runtime_s": result.runtime_s})
        else:
            table_ = _number_table(title=_text(f"{release}: SM prediction {result.sm_prediction:.1f} CEvNS "
                                       "events"))
            for col in ("parameter", "best", "1σ interval", "90% C.L.", "SM", "published"):
                table_.add_column(col)
            for f in result.fits.values():
                pub = f"{f.published.value:g} ± {f.published.uncertainty:g}" if f.published else ""
                lim = f"{f.limit_90cl:.4g}" if f.limit_90cl is not None else ""
                _add_row(table_, _text(f.name), f"{f.best:.4g}", f"[{f.lower:.4g}, {f.upper:.4g}]",
                         lim, f"{f.signal_model.sm_value:.4g}", pub)
            _stdout_console(wide=True).print(table_)
            for f in result.fits.values():
                for note in f.notes:
                    _say(f"  {f.name}: {note}")
        _say(f"{len(result.files)} files in {out} ({result.runtime_s:.1f} s)")


if __name__ == "__main__":  # pragma: no cover
    main()

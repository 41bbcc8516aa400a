"""cevns.fsio: atomic writes keep the old file on failure, leave no temporary file, and create
files with the permissions of any file the user makes (0o666 less the umask), as ``open`` does."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

import pytest

from cevns import fsio
from cevns.errors import OutputError


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_files_get_the_permissions_of_a_plain_open(tmp_path):
    """Under umask 022 every atomic writer makes 0644 files (tempfile.mkstemp would give 0600:
    figures and provenance unreadable to the group on a shared machine). Run in a subprocess, so
    that this test sets no umask of its own process."""
    script = textwrap.dedent(f"""
        import os, pathlib
        os.umask(0o022)
        from cevns import fsio
        from cevns.analyses.output import _atomic_savefig
        from cevns.analyses.report import write_contact_sheet
        from matplotlib.figure import Figure
        out = pathlib.Path({str(tmp_path)!r})
        fsio.atomic_write_text(out / "a.json", "{{}}")
        with fsio.atomic_open(out / "b.bin", "wb", fsync=False) as fh:
            fh.write(b"x")
        fig = Figure(figsize=(2, 2))
        fig.add_subplot().plot([0, 1])
        _atomic_savefig(fig, out / "c.png")
        write_contact_sheet([("c", out / "c.png")], out / "sheet.png")
        (out / "plain.txt").write_text("x")
    """)
    subprocess.run([sys.executable, "-c", script], check=True)
    modes = {p.name: _mode(p) for p in tmp_path.iterdir()}
    assert modes == dict.fromkeys(["a.json", "b.bin", "c.png", "sheet.png", "plain.txt"], 0o644)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "x.txt"
    fsio.atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), fsio.atomic_open(target) as fh:
        fh.write("half of the new")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_an_os_error_names_the_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    with pytest.raises(OutputError, match="file/x.txt"):
        fsio.atomic_write_text(blocker / "x.txt", "x")


def test_only_write_modes(tmp_path):
    with pytest.raises(ValueError, match="mode"), fsio.atomic_open(tmp_path / "x", "a"):
        pass


def test_an_atomic_write_through_a_link_writes_its_target(tmp_path):
    """A link (also a chain of links) stays a link and its final target gets the content, with
    no temporary file left beside the link or the target; a dangling link creates its target."""
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "t.txt"
    target.write_text("old")
    (tmp_path / "hop").symlink_to("data/t.txt")
    (tmp_path / "link").symlink_to("hop")
    fsio.atomic_write_text(tmp_path / "link", "new")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "hop").is_symlink()
    assert target.read_text() == "new"
    (tmp_path / "dangling").symlink_to("data/born.txt")
    fsio.atomic_write_text(tmp_path / "dangling", "x")
    assert (tmp_path / "dangling").is_symlink() and (tmp_path / "data" / "born.txt").read_text() == "x"
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["born.txt", "t.txt"]


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: (d / "x").symlink_to("nodir/x"), "nodir does not exist"),
    (lambda d: ((d / "y").symlink_to("x"), (d / "x").symlink_to("y")), "symbolic link loop"),
    (lambda d: ((d / "sub").mkdir(), (d / "x").symlink_to("sub")), "link to the folder"),
])
def test_a_link_that_leads_nowhere_writable_is_an_output_error(tmp_path, make, message):
    make(tmp_path)
    with pytest.raises(OutputError, match=message):
        fsio.atomic_write_text(tmp_path / "x", "x")
    assert (tmp_path / "x").is_symlink()


def test_write_file_text_writes_files_atomically_and_devices_in_place(tmp_path):
    path = fsio.write_file_text(tmp_path / "a.csv", "x\n1\n")
    assert path.read_text() == "x\n1\n"
    (tmp_path / "link.csv").symlink_to(tmp_path / "a.csv")
    fsio.write_file_text(tmp_path / "link.csv", "x\n2\n")  # through the link, the link stays
    assert (tmp_path / "link.csv").is_symlink() and (tmp_path / "a.csv").read_text() == "x\n2\n"
    fsio.write_file_text(os.devnull, "x\n")  # a device is written, never replaced
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)
    with pytest.raises(OutputError, match="it is a folder"):
        fsio.write_file_text(tmp_path, "x\n")
    with pytest.raises(OutputError, match=r"cannot write .*missing/b\.csv: No such file"):
        fsio.write_file_text(tmp_path / "missing" / "b.csv", "x\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "link.csv"]


def test_folder_lock_is_reentrant_and_leaves_nothing_behind(tmp_path):
    folder = tmp_path / "new" / "out"
    with fsio.folder_lock(folder):
        assert (folder / fsio.LOCK_FILE).read_text() == str(os.getpid())
        with fsio.folder_lock(folder):  # the same process again: a no-op
            pass
        assert (folder / fsio.LOCK_FILE).exists()  # the inner block did not let go
    assert not (tmp_path / "new").exists()  # the lock file and the folders made for it are gone


def test_folder_lock_not_reentrant_refuses_a_second_holder_and_can_keep_its_file(tmp_path):
    class Refused(Exception):
        pass

    def refuse(folder, pid):
        return Refused(f"{folder} held by {pid}")

    with fsio.folder_lock(tmp_path, refuse, reentrant=False, keep_file=True):
        with pytest.raises(Refused, match=f"held by {os.getpid()}"):
            with fsio.folder_lock(tmp_path, refuse, reentrant=False):
                pass
        with pytest.raises(Refused):  # a re-entrant taker is refused too: the holder is not it
            with fsio.folder_lock(tmp_path, refuse):
                pass
    assert (tmp_path / fsio.LOCK_FILE).read_text() == str(os.getpid())  # kept
    with fsio.folder_lock(tmp_path, refuse, reentrant=False):  # released: taken again
        pass
    assert not (tmp_path / fsio.LOCK_FILE).exists()

"""Audit 11, B: files that a writer opens by name (netCDF/HDF5) are written atomically too.

:func:`cevns.fsio.atomic_path` hands such a writer a temporary name beside the target and renames
the finished file onto it (as :func:`cevns.fsio.atomic_open` does for a file handle): a writer
that fails or is interrupted leaves the earlier file whole and no temporary behind. A rename
that the system refuses (a file held open by another program on Windows) is an OutputError that
names the file and says it may be open elsewhere, never a bare "Permission denied".
"""

from __future__ import annotations

import errno
import os

import pytest

from cevns import fsio
from cevns.errors import OutputError


def _write(path, data: bytes) -> None:
    with open(path, "wb") as fh:  # a writer that opens its file by name, as netCDF-C does
        fh.write(data)


def test_atomic_path_replaces_the_file_and_keeps_it_on_failure(tmp_path):
    # guards: a failed or interrupted writer leaves the earlier file whole, and no temporary
    # (atomic_path did not exist; the netCDF writers truncated the final file first)
    target = tmp_path / "r.nc"
    with fsio.atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".r.nc.") and tmp.is_file()
        _write(tmp, b"first")
    assert target.read_bytes() == b"first"
    for exc in (RuntimeError("disk on fire"), KeyboardInterrupt()):
        with pytest.raises(type(exc)), fsio.atomic_path(target) as tmp:
            _write(tmp, b"half of the sec")
            raise exc
        assert target.read_bytes() == b"first"
        assert [p.name for p in tmp_path.iterdir()] == ["r.nc"]
    with fsio.atomic_path(target, fsync=True) as tmp:
        _write(tmp, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc"]


def test_atomic_path_names_a_missing_folder_a_folder_in_the_way_and_writes_through_links(tmp_path):
    # guards: the causes netCDF-C reports as "Permission denied" are named (OutputError naming
    # the path, no temporary made), and a link stays a link with its target written
    with pytest.raises(OutputError, match=r"missing/x\.nc: no such folder"):
        with fsio.atomic_path(tmp_path / "missing" / "x.nc"):
            pytest.fail("no temporary is made in a missing folder")
    (tmp_path / "d.nc").mkdir()
    with pytest.raises(OutputError, match=r"d\.nc: a folder is in the way"):
        with fsio.atomic_path(tmp_path / "d.nc"):
            pytest.fail("no temporary is made beside a folder in the way")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.nc").write_bytes(b"old")
    (tmp_path / "link.nc").symlink_to("data/t.nc")
    with fsio.atomic_path(tmp_path / "link.nc") as tmp:
        assert tmp.parent == tmp_path / "data"
        _write(tmp, b"new")
    assert (tmp_path / "link.nc").is_symlink() and (tmp_path / "data" / "t.nc").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.nc", "data", "link.nc"]
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["t.nc"]


@pytest.mark.parametrize("refusal", [PermissionError(errno.EACCES, "Permission denied"),
                                     OSError(errno.EBUSY, "Device or resource busy")],
                         ids=["permission", "busy"])
def test_a_refused_replace_says_the_file_may_be_open_elsewhere(tmp_path, monkeypatch, refusal):
    # guards: a target that cannot be replaced (open in another program, as Windows refuses it)
    # is named with that likely cause, for atomic_open (figures, records) and atomic_path
    # (netCDF) alike; the old file stays and the temporary is removed. atomic_open said only
    # "cannot write PATH: Permission denied".
    target = tmp_path / "fig.png"
    target.write_bytes(b"old")

    def refuse(src, dst):
        raise refusal

    monkeypatch.setattr(fsio.os, "replace", refuse)
    with pytest.raises(OutputError, match=r"fig\.png: .*may be open in another program"):
        with fsio.atomic_open(target, "wb", fsync=False) as fh:
            fh.write(b"new")
    with pytest.raises(OutputError, match=r"fig\.png: .*may be open in another program"):
        with fsio.atomic_path(target) as tmp:
            _write(tmp, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]


def test_another_replace_error_keeps_its_own_words(tmp_path, monkeypatch):
    # guards: only a refusal to replace gets the "open in another program" hint; any other error
    # of the rename is reported as before (cannot write PATH: reason)
    def fail(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fsio.os, "replace", fail)
    with pytest.raises(OutputError, match=r"cannot write .*x\.nc: No space left") as info:
        with fsio.atomic_path(tmp_path / "x.nc") as tmp:
            _write(tmp, b"x")
    assert "another program" not in str(info.value)
    assert list(tmp_path.iterdir()) == []

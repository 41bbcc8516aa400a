"""Command-line follow-ups of the sixth bad-input audit: messages that name the real problem."""

from __future__ import annotations

from test_output_safety import _refused, cevns


def test_a_data_dir_that_is_not_a_folder_says_so(tmp_path):
    """--data-dir /dev/null exists: it is not a folder, not a missing one."""
    _refused(cevns("fit", "coherent-csi-2017", "-p", "n_cevns", "--data-dir", "/dev/null",
                   "--out", "o", cwd=tmp_path), "--data-dir /dev/null: exists but is not a folder")
    _refused(cevns("fit", "coherent-csi-2017", "-p", "n_cevns", "--data-dir", "nope",
                   "--out", "o", cwd=tmp_path), "--data-dir nope: no such folder")
    assert not (tmp_path / "o").exists()


def test_a_scheduler_port_above_65535_is_a_usage_error(tmp_path):
    """Refused when the options are read (it failed after the analyses loaded, at the 5 s
    connect timeout), with the --workers bound shared with the executors."""
    res = cevns("run", "nothing.toml", "--scheduler", "127.0.0.1:99999", cwd=tmp_path)
    assert res.returncode == 2 and "the port must be from 1 to 65535, got 99999" in res.stderr
    from cevns.cli import MAX_WORKERS
    from cevns.scan.executors import MAX_WORKERS as EXECUTOR_MAX

    assert MAX_WORKERS == EXECUTOR_MAX == 4096

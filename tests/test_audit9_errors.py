"""Input audit #9: every exception of cevns survives pickle (finding 10: an UnknownNameError raised
in a pool worker could not be unpickled and was reported as "a worker process of the pool died"),
and a NumPy complex number where a configuration's number is meant is refused, naming the field
(finding 6: pydantic kept its real part)."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest

from cevns import errors
from cevns.config import _FieldTypeError
from cevns.experiment import get_detector

PROBLEM = errors.Problem(("scenario", "interaction"), "invalid", "must be 'vector'", "")

#: One instance of every exception class (their constructors differ).
INSTANCES = {
    errors.CevnsError: lambda: errors.CevnsError("something"),
    errors.ConfigError: lambda: errors.ConfigError("invalid configuration (x)",
                                                   problems=[PROBLEM]),
    errors.UnknownNameError: lambda: errors.UnknownNameError("detector", "csi", ["Xe", "CsI"]),
    errors.KinematicsError: lambda: errors.KinematicsError("threshold above T_max"),
    errors.DataError: lambda: errors.DataError("release.csv: truncated"),
    errors.FitError: lambda: errors.FitError("did not converge"),
    errors.ScanError: lambda: errors.ScanError("store of another configuration"),
    errors.MissingDependencyError: lambda: errors.MissingDependencyError(
        "install cevns[dask]", name="dask"),
    errors.OutputError: lambda: errors.OutputError(28, "No space left on device", "out/a.csv"),
    errors.CevnsWarning: lambda: errors.CevnsWarning("a warning, raised as an error"),
    _FieldTypeError: lambda: _FieldTypeError("mass_kg", "must be a number, got true"),
}


def test_every_exception_class_is_listed():
    classes = {c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, BaseException) and c.__module__ == errors.__name__}
    assert classes == set(INSTANCES) - {_FieldTypeError}


@pytest.mark.parametrize("cls", list(INSTANCES), ids=lambda c: c.__name__)
def test_an_exception_survives_pickle(cls):
    err = INSTANCES[cls]()
    err.add_note("while running tile 3")
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is cls
    assert str(copy) == str(err) and copy.args == err.args
    assert copy.__dict__ == err.__dict__  # kind/name/valid, field, problems, notes
    if isinstance(err, errors.ConfigError):
        assert copy.problems == err.problems
    if isinstance(err, OSError):
        assert (copy.errno, copy.strerror, copy.filename) == (err.errno, err.strerror,
                                                              err.filename)
    if isinstance(err, ImportError):
        assert copy.name == err.name


def test_unknown_name_error_keeps_its_attributes():
    err = errors.UnknownNameError("detector", "csi", ["Xe", "CsI"])
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.kind, copy.name, copy.valid) == ("detector", "csi", ["CsI", "Xe"])
    assert str(copy) == "unknown detector 'csi' (did you mean 'CsI'?); valid choices: CsI, Xe"


@pytest.mark.parametrize("value", [np.complex128(10 + 5j), np.complex64(10), 10 + 5j])
def test_a_complex_number_in_a_number_field_is_refused(value):
    detector = get_detector("CsI")
    with pytest.raises(errors.ConfigError, match=r"mass_kg: must be a real number, got "):
        detector.replace(mass_kg=value)  # was 10.0, the imaginary part dropped
    with pytest.raises(errors.ConfigError, match=r"binning\.edges_keVnr: item 1: must be a real "
                                                 r"number"):
        detector.replace(binning={"rule": "edges", "edges_keVnr": [5.0, value, 30.0]})
    assert detector.replace(mass_kg=np.float64(10.0)).mass_kg == 10.0


def test_a_nested_validation_error_is_listed_once_under_the_file(tmp_path):
    # finding 17: "m.toml: invalid configuration (source):\n  source.run_years: …", the message
    # of the source's own validation inside the file's
    from cevns.analyses import load_analysis

    path = tmp_path / "m.toml"
    path.write_text('schema_version = 1\nname = "sp"\ntitle = "t"\nkind = "spectra"\n'
                    'detectors = ["CsI"]\n[source]\nrun_years = 1e9\n', encoding="utf-8")
    with pytest.raises(errors.ConfigError) as info:
        load_analysis(path)
    message = str(info.value)
    assert message.startswith("invalid configuration (m.toml):\n  m.toml.source.run_years: ")
    assert message.count("invalid configuration") == 1, message
    assert [p.path for p in info.value.problems] == [("m.toml", "source", "run_years")]

"""``cevns fit`` defects of audit 5 (#2, #3, #10 of its report), through the command line:
one ``error:`` line and exit 2 before any output exists, no numpy RuntimeWarning."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from test_output_safety import _refused, cevns  # the same subprocess helpers

SHIPPED_COVERAGE = Path(__file__).resolve().parents[2] / "docs" / "coherent_coverage.json"


@pytest.mark.parametrize(("args", "words"), [
    (("coherent-lar-2020", "-p", "ngi.coupling", "--option", "interaction=vector",
      "--range", "0,1e300"),
     ("ngi.coupling: scan range (--range) 0,1e+300", "values must be ≤ 12.5664",
      "4π", "MAX_COUPLING")),
    (("coherent-csi-2021", "-p", "dipole.magnetic_moment", "--range", "0,1e300"),
     ("dipole.magnetic_moment: scan range (--range) 0,1e+300", "values must be ≤ 1 μ_B",
      "MAX_MAGNETIC_MOMENT_MUB")),
    (("coherent-combined", "-p", "upscattering.coupling", "--option", "interaction=V",
      "--range", "0,20"),
     ("upscattering.coupling: scan range (--range) 0,20", "values must be ≤ 12.5664")),
    (("coherent-csi-2021", "-p", "ngi.mediator_mass_MeV", "--option", "interaction=vector",
      "--fix", "coupling=1e300", "--range", "1,100"),
     ("fixed value coupling = 1e+300 (--fix)", "values must be ≤ 12.5664")),
])
def test_a_range_above_the_parameter_cap_is_refused_before_the_output_folder(tmp_path, args,
                                                                            words):
    """These printed "RuntimeWarning: overflow encountered in multiply" and "error: component
    'cevns': expected must be finite", leaving d/ behind with its config.json (audit 5 #10)."""
    res = cevns("fit", *args, "--out", "d", "--no-figures", cwd=tmp_path)
    _refused(res, *words)
    assert "RuntimeWarning" not in res.stderr and "Warning" not in res.stderr, res.stderr
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(("change", "words"), [
    (lambda d: d["coherent-csi-2017"]["n_cevns"].__setitem__("covrage", 0.6),
     ("unknown key in --coverage.coherent-csi-2017.n_cevns 'covrage'", "did you mean 'coverage'",
      "valid choices: bias_sigma")),
    (lambda d: d.__setitem__("coherent-bogus", d["coherent-csi-2017"]),
     ("unknown release in --coverage 'coherent-bogus'",
      "valid choices: coherent-csi-2017, coherent-csi-2021, coherent-lar-2020")),
    (lambda d: d["coherent-csi-2017"].__setitem__("bogus_param", d["coherent-csi-2017"]["n_cevns"]),
     ("unknown fit parameter in --coverage.coherent-csi-2017 'bogus_param'", "n_cevns")),
])
def test_unknown_names_in_the_coverage_file_are_refused(tmp_path, change, words):
    """``cevns fit --table T --coverage C`` wrote the table and ignored them (audit 5 #3); the
    refusal comes before the fits, and the table file is left as it was."""
    doc = json.loads(SHIPPED_COVERAGE.read_text(encoding="utf-8"))
    doc = copy.deepcopy(doc)
    change(doc)
    (tmp_path / "c.json").write_text(json.dumps(doc), encoding="utf-8")
    table = "# t\n<!-- fit-table:begin -->\n<!-- fit-table:end -->\n"
    (tmp_path / "tab.md").write_text(table, encoding="utf-8")
    res = cevns("fit", "--table", "tab.md", "--coverage", "c.json", cwd=tmp_path)
    _refused(res, *words)
    assert (tmp_path / "tab.md").read_text(encoding="utf-8") == table


def test_a_wide_range_gives_the_default_numbers(tmp_path):
    """``--range 0,10`` gave best 0, 1σ [0, 6.3e-4] and 90 % C.L. 1.04e-3 with exit 0 (audit 5
    #2; 0,1e10: [0, 2.2e5], 3.6e5). Expected: the default-range fit of the same parameter,
    best 7.508e-4, [0, 1.152e-3], 1.354e-3 (audit report; tests/fits/test_fit_scan.py computes
    it), to 0.1 % of the 1σ width."""
    res = cevns("fit", "coherent-lar-2020", "-p", "ngi.coupling", "--option", "interaction=vector",
                "--range", "0,10", "--out", "d", "--no-figures", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    row = json.loads(res.stdout)["parameters"][0]
    tol = 1.2e-6
    assert row["best"] == pytest.approx(7.508e-4, abs=tol)
    assert row["upper"] == pytest.approx(1.1523e-3, abs=tol)
    assert row["limit_90cl"] == pytest.approx(1.3539e-3, abs=tol)
    assert "Warning" not in res.stderr and "iminuit" not in res.stderr, res.stderr


def test_a_disagreement_with_iminuit_is_one_warning_line(tmp_path, capsys, monkeypatch):
    """With the zoom switched off (the scan grid of before audit 5 #2), the fit above disagrees
    with iminuit: the command prints it once as a ``warning:`` note (and fit.md holds it), not as
    a Python warning with a source line, and not silently."""
    import cevns.fits.fit as fit_module
    from cevns import cli

    monkeypatch.setattr(fit_module, "_MIN_REGION_STEPS", 0)
    out = tmp_path / "d"
    with pytest.raises(SystemExit) as exc:
        cli.main(["fit", "coherent-lar-2020", "-p", "ngi.coupling", "--option",
                  "interaction=vector", "--range", "0,10", "--out", str(out), "--no-figures"])
    err = capsys.readouterr().err
    assert exc.value.code == 0, err
    line = ("  ngi.coupling: warning: the profile scan and the iminuit cross-check disagree: "
            "best fit 0 (iminuit 0.000749)")
    assert err.count(line) == 1 and "CrossCheckWarning" not in err, err
    assert "ngi.coupling: warning: the profile scan and the iminuit" in (out / "fit.md").read_text()

"""Fits: closure on Asimov data, profile against iminuit, outputs, CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from cevns.cli import app
from cevns.errors import ConfigError
from cevns.fits import fit_parameter, fit_release, make_signal_model, sm_signal
from cevns.stats import PoissonModel

CLOSURE = [
    ("coherent-csi-2017", "n_cevns", 1.2),  # × the SM count
    ("coherent-lar-2020", "n_cevns", 0.8),
    ("coherent-csi-2021", "sin2_theta_w", 0.25),
    ("coherent-lar-2020", "sin2_theta_w", 0.21),
    ("coherent-csi-2017", "neutron_radius_fm", 5.6),
    ("coherent-csi-2021", "neutron_radius_fm", 5.0),
    ("coherent-csi-2021", "ngi_vector_coupling", 3e-5),
]


@pytest.mark.parametrize("release, name, truth", CLOSURE)
def test_closure_on_asimov_data(models, release, name, truth):
    """Asimov data built from the model at an injected value: the fit gives it back."""
    model = models[release]
    signal_model = make_signal_model(model, name)
    if name == "n_cevns":
        truth = truth * signal_model.sm_value
    asimov = model.asimov(signal_model.signal([truth])[0])
    fit = fit_parameter(asimov, name, cross_check=False)
    width = fit.upper - fit.lower
    assert fit.best == pytest.approx(truth, abs=0.01 * width)
    assert fit.profile.chi2_min == pytest.approx(0.0, abs=1e-4)
    assert all(abs(v) < 1e-3 for v in fit.nuisances.values())
    assert fit.lower < truth < fit.upper


def test_asimov_interval_of_n_cevns_has_the_published_size(models):
    """The expected (Asimov) 1σ half-width of N for LAr is of the size of the published ±43."""
    model = models["coherent-lar-2020"]
    sm = make_signal_model(model, "n_cevns")
    fit = fit_parameter(model.asimov(sm.signal([sm.sm_value])[0]), "n_cevns", cross_check=False)
    assert 25 < 0.5 * (fit.upper - fit.lower) < 60  # 128 ± 17 predicted, 159 ± 43 fitted (YAML)


@pytest.mark.parametrize("release, name", [("coherent-csi-2017", "sin2_theta_w"),
                                           ("coherent-lar-2020", "n_cevns"),
                                           ("coherent-csi-2021", "neutron_radius_fm")])
def test_profiled_chi2_agrees_with_iminuit(models, release, name):
    """The batched Newton profile and iminuit's MIGRAD give the same χ² at fixed parameter."""
    model = models[release]
    signal_model = make_signal_model(model, name)
    lo, hi = signal_model.initial_range
    points = np.linspace(lo + 0.2 * (hi - lo), hi - 0.3 * (hi - lo), 3)
    stats_model = PoissonModel(model.channels(signal_model.signal(points),
                                              signal_sigma=signal_model.signal_sigma))
    profiled = stats_model.profile()
    for i in range(points.size):
        m = stats_model.minuit(i)
        m.migrad()
        assert m.valid
        assert m.fval == pytest.approx(profiled.chi2[i], rel=1e-7, abs=1e-6)
        for j, nuisance in enumerate(stats_model.nuisances):
            assert m.values[j] == pytest.approx(profiled.nuisances[nuisance][i], abs=2e-3)


@pytest.mark.parametrize("release", ["coherent-csi-2017", "coherent-csi-2021",
                                     "coherent-lar-2020"])
def test_global_minuit_fit_agrees_with_the_profile(models, release):
    fit = fit_parameter(models[release], "n_cevns")
    m = fit.minuit
    assert m.valid
    assert m.best == pytest.approx(fit.best, abs=0.002 * fit.best)
    assert m.chi2_min == pytest.approx(fit.profile.chi2_min, abs=1e-3)
    assert m.lower == pytest.approx(fit.lower, abs=0.3)
    assert m.upper == pytest.approx(fit.upper, abs=0.3)


def test_coupling_limit_at_the_physical_bound(models):
    fit = fit_parameter(models["coherent-csi-2017"], "ngi_vector_coupling")
    assert fit.best == 0.0 and fit.lower == 0.0
    assert fit.upper < fit.limit_90cl
    assert any("physical bound" in note for note in fit.notes)
    assert fit.minuit.valid and fit.minuit.best == pytest.approx(0.0, abs=1e-6)


def test_outputs(tmp_path):
    result = fit_release("coherent-csi-2017", ["n_cevns", "sin2_theta_w"], out=tmp_path)
    with (tmp_path / "fit.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["parameter"] for r in rows] == ["n_cevns", "sin2_theta_w"]
    assert list(rows[0])[:5] == ["parameter", "unit", "best", "lower", "upper"]
    n = rows[0]
    assert float(n["lower"]) < float(n["best"]) < float(n["upper"])
    assert float(n["sm"]) == pytest.approx(sm_signal(result.model).sum())
    assert float(n["published"]) == 134 and float(n["published_lower"]) == 112
    assert float(rows[1]["sm_cevns"]) == pytest.approx(166.6, abs=0.05)
    assert float(rows[1]["published_sm_cevns"]) == 173
    with (tmp_path / "prediction.csv").open() as fh:
        pred = next(csv.DictReader(fh))
    assert float(pred["published"]) == 173
    stems = ("data_vs_fit", "profile_n_cevns", "profile_sin2_theta_w")
    for stem in stems:  # PNG by default, PDF only when asked (as `cevns run`)
        assert (tmp_path / f"{stem}.png").stat().st_size > 5000
        assert not (tmp_path / f"{stem}.pdf").exists()
    assert "| n_cevns events |" in (tmp_path / "fit.md").read_text()
    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert prov["release"] == "coherent-csi-2017" and "fit.csv" in prov["files"]
    assert {p.name for p in result.files} >= {"fit.csv", "fit.md", "data_vs_fit.png"}
    # the same result written again with PDFs, then without figures: the folder holds exactly
    # the files its record lists (the figures of the earlier write are removed)
    result.write(tmp_path, pdf=True)
    for stem in stems:
        assert (tmp_path / f"{stem}.pdf").stat().st_size > 5000
    result.write(tmp_path, no_figures=True)
    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob("*.pdf"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(prov["files"] + ["config.json"])
    with pytest.raises(ConfigError, match="give one of them"):
        result.write(tmp_path, pdf=True, no_figures=True)
    with pytest.raises(ConfigError, match="pdf must be True or False"):
        result.write(tmp_path, pdf="yes")


def test_cli_fit(tmp_path):
    res = CliRunner().invoke(app, ["fit", "coherent-lar-2020", "-p", "n_cevns", "--out",
                                   str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "n_cevns" in res.output and "159 ± 43" in res.output
    assert (tmp_path / "fit.csv").exists() and (tmp_path / "data_vs_fit.png").exists()
    assert not (tmp_path / "data_vs_fit.pdf").exists()  # PDF with --pdf only
    res = CliRunner().invoke(app, ["fit", "coherent-lar-2020", "-p", "n_cevns", "--out",
                                   str(tmp_path), "--pdf", "--no-figures"])
    assert res.exit_code == 2 and "give one of them" in res.output


@pytest.mark.parametrize("release", ["coherent-lar-2020", "coherent-csi-2021"])
def test_profiling_the_pulse_mean_moves_n_cevns_little(simple_models, release):
    """docs/coherent.md (simple likelihood): a POT-pulse-mean nuisance (±0.2 µs) profiled on a
    grid changes N_CEvNS by < 2 events."""
    from cevns.stats import Profile1D, profile_chi2

    model = simple_models[release]
    mean = model.release.timing_model.pot_mean
    nominal = fit_parameter(model, "n_cevns", cross_check=False)
    grid = np.linspace(nominal.best - 60, nominal.best + 60, 121)
    chi2 = []
    for mu in np.linspace(mean - 0.4, mean + 0.4, 17):
        moved = model.with_pot_mean(mu)
        signal = make_signal_model(moved, "n_cevns").signal(grid)
        res = profile_chi2(moved.channels(signal, signal_sigma=None))
        chi2.append(res.chi2 + ((mu - mean) / 0.2) ** 2)
    profiled = Profile1D(grid, np.min(chi2, axis=0))
    assert profiled.best == pytest.approx(nominal.best, abs=2.0)


def test_fit_release_out_refuses_a_user_folder_unless_forced(tmp_path):
    """fit_release(out=...) follows the folder rule of `cevns fit`: a folder of the user's own
    files is refused (OutputError), force=True writes beside them and keeps them."""
    from cevns.errors import OutputError

    (tmp_path / "mine.txt").write_text("notes")
    with pytest.raises(OutputError, match="mine.txt could be overwritten"):
        fit_release("coherent-lar-2020", ["n_cevns"], out=tmp_path, cross_check=False)
    fit_release("coherent-lar-2020", ["n_cevns"], out=tmp_path, cross_check=False, force=True)
    assert (tmp_path / "mine.txt").read_text() == "notes" and (tmp_path / "fit.csv").exists()

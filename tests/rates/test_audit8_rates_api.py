"""Audit 8: the rate engine's public functions refuse bad quadrature options, objects of the wrong
type and text where numbers are meant with a ConfigError naming the value (before: numpy's
ValueError, MemoryError, AttributeError or TypeError, or a silent fallback to the default), and
accept detector, source and nucleus names where the catalogue resolves them."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from cevns.errors import ConfigError, UnknownNameError
from cevns.experiment import get_detector, get_source
from cevns.physics.basis import SMBasis
from cevns.physics.nuclei import get_nucleus
from cevns.physics.units import MeV
from cevns.rates import (
    basis_spectra,
    compute_basis_spectra,
    differential_rate_per_target,
    kinematic_breakpoints,
    sm_spectrum,
)

matplotlib.use("Agg")

DET, SRC = get_detector("Xe"), get_source("ess")
RATIO = r"panel_ratio must be a finite number > 1 \(the largest ratio T_hi/T_lo"


@pytest.mark.parametrize("ratio", [1.0, 0.5, float("nan"), float("inf"), "2", True])
def test_panel_ratio_must_exceed_one(ratio):
    with pytest.raises(ConfigError, match=rf"{RATIO}.*got {ratio!r}"):
        compute_basis_spectra(DET, SRC, SMBasis(), panel_ratio=ratio)


@pytest.mark.parametrize("name", ["nodes_per_panel", "energy_nodes"])
@pytest.mark.parametrize("value", [0, -2, 2.0, True])
def test_orders_must_be_whole_numbers(name, value):
    with pytest.raises(ConfigError, match=rf"{name} must be a whole number ≥ 1.*got {value!r}"):
        compute_basis_spectra(DET, SRC, SMBasis(), **{name: value})


def test_energy_nodes_zero_no_longer_falls_back():
    with pytest.raises(ConfigError, match=r"energy_nodes must be a whole number ≥ 1 or None "
                                          r"\(the default\), got 0"):
        basis_spectra(DET, SRC, SMBasis(), energy_nodes=0)


@pytest.mark.parametrize("name", ["energy_nodes", "nodes_per_panel"])
def test_huge_order_refused_by_memory_limit(name, monkeypatch):
    monkeypatch.delenv("CEVNS_MAX_GRID_BYTES", raising=False)
    with pytest.raises(ConfigError, match=rf"{name} = 1000000000: its Gauss–Legendre rule solves "
                                          r"a 1000000000 × 1000000000 eigenproblem, which would "
                                          r"need .* GiB, above the limit 2 GiB "
                                          r"\(CEVNS_MAX_GRID_BYTES\)"):
        basis_spectra(DET, SRC, SMBasis(), **{name: 10**9})


def test_panel_ratio_near_one_refused_by_memory_limit(monkeypatch):
    monkeypatch.delenv("CEVNS_MAX_GRID_BYTES", raising=False)
    with pytest.raises(ConfigError, match=r"detector Xe: nodes_per_panel = 10 and panel_ratio = "
                                          r"1\.000000000001 give about .* true-recoil nodes.*"
                                          r"above the limit 2 GiB \(CEVNS_MAX_GRID_BYTES\)"):
        compute_basis_spectra(DET, SRC, SMBasis(), panel_ratio=1 + 1e-12)


def test_memory_limit_follows_environment(monkeypatch):
    monkeypatch.setenv("CEVNS_MAX_GRID_BYTES", "1000")
    with pytest.raises(ConfigError, match=r"energy_nodes = 12: .* above the limit"):
        compute_basis_spectra(DET, SRC, SMBasis(), energy_nodes=12)


def test_valid_options_unchanged():
    with pytest.raises(ConfigError, match="nodes_per_panel must be a whole number"):
        compute_basis_spectra(DET, SRC, SMBasis(), nodes_per_panel=None)
    a = compute_basis_spectra(DET, SRC, SMBasis(), energy_nodes=12, nodes_per_panel=12,
                              panel_ratio=1.2)
    b = compute_basis_spectra(DET, SRC, SMBasis(), energy_nodes=np.int64(12),
                              nodes_per_panel=12, panel_ratio=np.float64(1.2))
    np.testing.assert_array_equal(a.counts, b.counts)


def test_keyword_typo_suggests_the_name():
    with pytest.raises(UnknownNameError, match=r"unknown basis_spectra keyword argument "
                                               r"'energy_node' \(did you mean 'energy_nodes'\?\)"):
        basis_spectra(DET, SRC, SMBasis(), energy_node=5)


def test_detector_and_source_names_are_resolved():
    by_name = basis_spectra("Xe", "ess", SMBasis())
    np.testing.assert_array_equal(by_name.counts, basis_spectra(DET, SRC, SMBasis()).counts)
    with pytest.raises(UnknownNameError, match=r"unknown detector 'Xenon'"):
        basis_spectra("Xenon", SRC, SMBasis())


@pytest.mark.parametrize("args, match", [
    ((5, SRC, SMBasis()), r"basis_spectra: detector must be a cevns.experiment.Detector or a "
                          r"detector preset name such as 'CsI', got int 5"),
    ((DET, None, SMBasis()), r"basis_spectra: source must be a cevns.experiment.Source or a "
                             r"source preset name such as 'ess', got NoneType None"),
    ((DET, SRC, "sm"), r"basis_spectra: basis must be a cross-section basis object such as "
                       r"cevns.physics.basis.SMBasis\(\).*got str 'sm'"),
])
def test_wrong_object_types_refused(args, match):
    with pytest.raises(ConfigError, match=match):
        basis_spectra(*args)


def test_compute_basis_spectra_wrong_basis_refused():
    with pytest.raises(ConfigError, match=r"compute_basis_spectra: basis must be a cross-section "
                                          r"basis object"):
        compute_basis_spectra(DET, SRC, object())


def test_sm_spectrum_basis_must_be_smbasis():
    with pytest.raises(ConfigError, match=r"basis must be an SMBasis .* got str 'sm'"):
        sm_spectrum("CsI", basis="sm")


@pytest.mark.parametrize("years", ["3", b"3", ["3"]])
def test_sm_spectrum_run_years_text_refused(years):
    with pytest.raises(ConfigError, match=rf"run_years must be a number of years, got the text "
                                          rf"{years!r}".replace("[", r"\[").replace("]", r"\]")):
        sm_spectrum("CsI", run_years=years)


def test_kinematic_breakpoints_refuses_names_with_a_pointer():
    xe = get_nucleus("Xe131")
    assert kinematic_breakpoints([xe]).size == 4  # valid input unchanged
    with pytest.raises(ConfigError, match=r"kinematic_breakpoints: nuclei\[0\] must be a Nucleus, "
                                          r"got the name 'Xe131'; pass get_nucleus\('Xe131'\)"):
        kinematic_breakpoints(["Xe131"])
    with pytest.raises(ConfigError, match=r"kinematic_breakpoints: nuclei must be a list of "
                                          r"Nucleus objects .* got str 'Xe131'"):
        kinematic_breakpoints("Xe131")
    with pytest.raises(ConfigError, match=r"nuclei\[1\] must be a Nucleus \(e.g. "
                                          r"get_nucleus\('Cs133'\)\), got 5"):
        kinematic_breakpoints([xe, 5])


def test_differential_rate_per_target_checks():
    t = np.array([1e-3, 1e-2]) * MeV
    xe = get_nucleus("Xe131")
    assert differential_rate_per_target(SMBasis(), xe, "numu", t).shape == (4, 2)
    with pytest.raises(ConfigError, match=r"differential_rate_per_target: nucleus must be a "
                                          r"Nucleus, got the name 'Xe131'; pass "
                                          r"get_nucleus\('Xe131'\)"):
        differential_rate_per_target(SMBasis(), "Xe131", "numu", t)
    with pytest.raises(ConfigError, match=r"differential_rate_per_target: basis must be a "
                                          r"cross-section basis object.*got str 'sm'"):
        differential_rate_per_target("sm", xe, "numu", t)
    with pytest.raises(ConfigError, match=r"e_min must be finite and ≥ 0, got -1 MeV"):
        differential_rate_per_target(SMBasis(), xe, "numu", t, e_min=np.array([-1.0, 1.0]) * MeV)
    with pytest.raises(ConfigError, match=r"e_min has shape \(3,\); it must be E_min\(T\) at "
                                          r"each recoil_energy, shape \(2,\)"):
        differential_rate_per_target(SMBasis(), xe, "numu", t, e_min=np.ones(3) * MeV)
    with pytest.raises(ConfigError, match="energy_nodes must be a whole number ≥ 1"):
        differential_rate_per_target(SMBasis(), xe, "nue", t, energy_nodes=0)


@pytest.fixture(scope="module")
def spectrum():
    return sm_spectrum("CsI")


@pytest.mark.parametrize("path", [5, None, 2.5])
def test_to_csv_path_type(spectrum, path):
    with pytest.raises(ConfigError, match=r"Spectrum.to_csv: path must be a file path \(str or "
                                          rf"pathlib.Path\), got {type(path).__name__}"):
        spectrum.to_csv(path)


def test_to_csv_empty_path(spectrum, tmp_path):
    with pytest.raises(ConfigError, match=r"Spectrum.to_csv: path: empty path '' \(it would mean the "
                                          r"working folder\)"):
        spectrum.to_csv("")
    assert spectrum.to_csv(tmp_path / "s.csv").read_text().startswith("detector,")


@pytest.mark.parametrize("ax", ["x", 3])
def test_plot_ax_type(spectrum, ax):
    import matplotlib.pyplot as plt

    with pytest.raises(ConfigError, match=rf"Spectrum.plot: ax must be a matplotlib Axes \(e.g. "
                                          rf"from plt.subplots\(\)\) or None, got "
                                          rf"{type(ax).__name__} {ax!r}"):
        spectrum.plot(ax=ax)
    fig, real = plt.subplots()
    try:
        assert spectrum.plot(ax=real) is real
    finally:
        plt.close(fig)


def test_unhashable_arguments_named():
    with pytest.raises(ConfigError, match=r"basis_spectra: basis must be a cross-section basis "
                                          r"object.*got list \['sm'\]"):
        basis_spectra(DET, SRC, ["sm"])
    with pytest.raises(ConfigError, match=r"energy_nodes must be a whole number ≥ 1 or None "
                                          r"\(the default\), got \[8\]"):
        basis_spectra(DET, SRC, SMBasis(), energy_nodes=[8])

"""Every fit number docs/coherent.md ("Fits") shows is recomputed here (docs/contributing.md)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cevns.fits import ReleaseModel, fit_parameter, fit_release, make_signal_model, summary_table
from cevns.stats import Profile1D, profile_chi2

DOCS = Path(__file__).resolve().parents[2] / "docs" / "coherent.md"
RELEASES = ("coherent-csi-2017", "coherent-csi-2021", "coherent-lar-2020")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _block(tag: str) -> str:
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {tag}:begin -->\n(.*?)<!-- {tag}:end -->", text, re.S)
    assert match, f"docs/coherent.md has no {tag} block"
    return match.group(1)


def _numbers(table: str) -> list[list[float]]:
    rows = []
    for line in table.splitlines()[2:]:
        cells = line.split("|")[3:]  # drop release and quantity (they may contain digits)
        rows.append([float(x) for x in NUMBER.findall("|".join(cells))])
    return rows


def _assert_tables_agree(documented: str, regenerated: str) -> None:
    assert [line.split("|")[1:3] for line in documented.splitlines()] == [
        line.split("|")[1:3] for line in regenerated.splitlines()]
    for doc_row, new_row in zip(_numbers(documented), _numbers(regenerated), strict=True):
        assert doc_row == pytest.approx(new_row, rel=2e-3, abs=1e-12)


@pytest.fixture(scope="module")
def default_results():
    return [fit_release(r) for r in RELEASES]


def test_results_table_is_current(default_results):
    _assert_tables_agree(_block("fit-results"), summary_table(default_results))


def test_iminuit_agrees_with_the_profile_on_every_documented_row(default_results):
    for result in default_results:
        for fit in result.fits.values():
            m = fit.minuit
            assert m.valid
            assert m.best == pytest.approx(fit.best, rel=1e-4)
            scale = 0.3 if fit.spec.unit == "events" else 1e-4
            assert m.lower == pytest.approx(fit.lower, abs=scale)
            assert m.upper == pytest.approx(fit.upper, abs=scale)


def test_ngi_table_is_current():
    results = [fit_release(r, ["ngi_vector_coupling", "ngi_scalar_coupling"], cross_check=False)
               for r in RELEASES]
    _assert_tables_agree(_block("fit-ngi"), summary_table(results))


def test_lar_brn_with_the_release_pdf(default_results):
    fit = default_results[2]["n_cevns_release"]
    # docs: prompt BRN at 497 × 1.030 = 512 with the release's shape nuisances profiled
    # shape-only (521 with the plain code-4 interpolation, 552 without them; YAML best fit
    # 553 ± 34). Regression check.
    assert 497 * (1 + fit.nuisances["bkg_brn"]) == pytest.approx(512, abs=1)


def _n(model: ReleaseModel) -> tuple[float, float, float]:
    fit = fit_parameter(model, "n_cevns", cross_check=False)
    return fit.best, fit.lower, fit.upper


def test_documented_checks(simple_models):
    """The checks of the simple likelihood (docs/coherent.md, CsI-2021 in 4 PE × 0.5 µs bins)."""
    csi17 = simple_models["coherent-csi-2017"]
    raw = ReleaseModel(csi17.release, factorise_steady_state=False, likelihood="simple")
    assert _n(raw) == pytest.approx((207.6, 186.6, 229.5), abs=0.1)
    assert _n(ReleaseModel(csi17.release, steady_state="prior"))[0] == pytest.approx(129.8, abs=0.1)

    csi21 = simple_models["coherent-csi-2021"]
    rel = csi21.release
    fine = ReleaseModel(rel.rebin(np.arange(0, 60.001, 1.0), np.arange(0, 6.0001, 0.125)),
                        likelihood="simple")
    assert _n(fine) == pytest.approx((334.1, 302.2, 366.8), abs=0.1)
    flat = ReleaseModel(rel.rebin(np.arange(0, 60.001, 4.0), [0.0, 6.0]), likelihood="simple")
    assert _n(flat) == pytest.approx((307.5, 269.2, 346.4), abs=0.1)
    assert _n(csi21) == pytest.approx((327.9, 295.1, 361.5), abs=0.1)
    known = ReleaseModel(rel, steady_state="prior")
    known.backgrounds["steady_state"] = replace(known.backgrounds["steady_state"], sigma=1e-4)
    assert _n(known) == pytest.approx((313.0, 282.9, 343.8), abs=0.1)


def test_lar_with_the_release_time_distribution(models):
    """docs: our energy × F90 with the release's CEvNS time distribution gives N = 152.8 (the
    step-by-step study of docs/coherent.md, without the release's shape nuisances)."""
    lar = ReleaseModel(models["coherent-lar-2020"].release, template="physics",
                       shape_nuisances=False)
    ours = lar.unflatten(make_signal_model(lar, "n_cevns").signal([1.0])[0])
    release_time = lar.release.cevns_templates["nominal"].project("time")
    hybrid = (ours.sum(axis=2)[:, :, None] * release_time / release_time.sum()).ravel()
    grid = np.linspace(60, 260, 401)
    res = profile_chi2(lar.channels(grid[:, None] * hybrid, signal_sigma=None))
    assert Profile1D(grid, res.chi2).best == pytest.approx(152.8, abs=0.1)
    # docs: 9.6 % of our CEvNS in the first time bin, 8.7 % in the release's PDF.
    assert ours.sum(axis=(0, 1))[0] == pytest.approx(0.096, abs=0.0005)
    assert release_time[0] / release_time.sum() == pytest.approx(0.087, abs=0.0005)

"""The "coherent" overlay: the combined COHERENT Δχ² on an ESS exclusion item's grid."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.analyses import shipped_analysis
from cevns.analyses.coherent_overlay import LABEL, SOURCE
from cevns.analyses.overlays import OverlayRequest, get_overlay, overlay_names
from cevns.fits.combined import combined_grid


def test_registered_under_its_name():
    assert "coherent" in overlay_names()


def test_fig10_quick_panel_matches_the_direct_grid():
    """The interpolated overlay of fig10 (dipole, μ_νμ variant, quick grid) against
    combined_grid evaluated directly at three of the item's sterile masses: the 90 % C.L. (2 dof)
    crossing in μ agrees to 5 % (the overlay interpolates a 12 × 16 grid in log μ)."""
    an = shipped_analysis("fig10")
    variant = an.variants[1]
    x, y = an.x.grid(True), an.y.grid(True)
    (overlay,) = get_overlay("coherent")(OverlayRequest(an, variant, x, y, quick=True))
    assert overlay.label == LABEL and overlay.source == SOURCE
    assert overlay.delta_chi2.shape == (x.size, y.size)
    assert np.all(np.isfinite(overlay.delta_chi2)) and overlay.delta_chi2.min() >= 0.0
    cols = [2, 8, 14]
    direct = combined_grid("dipole", "sterile_mass_MeV", x[cols], "magnetic_moment", y,
                           options=dict(variant.options), level=None)
    level = 4.605
    for k, col in enumerate(cols):
        a = np.interp(level, overlay.delta_chi2[col], np.log(y))
        b = np.interp(level, direct[k], np.log(y))
        assert np.exp(a) == pytest.approx(np.exp(b), rel=0.05)

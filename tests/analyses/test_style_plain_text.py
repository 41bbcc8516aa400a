"""``cevns.analyses.style.plain_text``: mathtext labels as plain Unicode for captions.

Expected strings are written out by hand from the mathtext they render (the figure's glyphs)."""

from __future__ import annotations

import pytest

from cevns.analyses.style import plain_text


@pytest.mark.parametrize(("mathtext", "plain"), [
    (r"light vector ($B-L$): $g = 2\times10^{-5}$, $m_V = 10$ MeV",
     "light vector (B−L): g = 2×10⁻⁵, m_V = 10 MeV"),
    (r"dipole portal: $\mu_{\nu_\mu} = 2\times10^{-9}\,\mu_B$, $m_4 = 10$ MeV",
     "dipole portal: μ_νμ = 2×10⁻⁹ μ_B, m₄ = 10 MeV"),
    (r"non-unitarity: $\alpha_{11} = 0.9$", "non-unitarity: α₁₁ = 0.9"),
    (r"$\bar\nu_\mu$ disappearance ($\theta_{24}$)", "ν̄_μ disappearance (θ₂₄)"),
    (r"$\sin^2\theta_W$", "sin²θ_W"),
    (r"C$_3$F$_8$", "C₃F₈"),
    (r"$^{132}$Xe", "¹³²Xe"),
    (r"keV$_\mathrm{nr}$", "keV_nr"),
    ("no math here: 5 - 3", "no math here: 5 - 3"),  # text outside $ is left alone
])
def test_mathtext_becomes_unicode(mathtext, plain):
    assert plain_text(mathtext) == plain


def test_every_shipped_benchmark_label_loses_its_markup():
    from cevns.analyses import shipped_analysis

    for curve in shipped_analysis("fig1").new_physics:
        text = plain_text(curve.label)
        assert "$" not in text and "\\" not in text and "{" not in text, text

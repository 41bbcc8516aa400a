"""The Helm skin is an explicit value carried by the nucleus, never a process-wide setting."""

from __future__ import annotations

import numpy as np
import pytest

from cevns.experiment import get_detector
from cevns.physics.cross_sections import sm_basis_terms
from cevns.physics.form_factors import DEFAULT_HELM_SKIN, LEWIN_SMITH_HELM_SKIN, helm_form_factor
from cevns.physics.kinematics import momentum_transfer
from cevns.physics.nuclei import get_nucleus
from cevns.physics.units import MeV, fm, keV


def test_nucleus_default_radius_uses_its_own_skin():
    cs = get_nucleus("Cs133")
    assert cs.helm_skin == DEFAULT_HELM_SKIN
    thin = cs.with_helm_skin(LEWIN_SMITH_HELM_SKIN)
    # R² = (3/5) R0² + 3 s², R0 = 1.2 A^(1/3) fm (Lewin & Smith 1996)
    r0 = 1.2 * fm * cs.A ** (1 / 3)
    for nuc, s in ((cs, 1.0 * fm), (thin, 0.9 * fm)):
        assert nuc.default_helm_rms_radius() == pytest.approx(np.sqrt(0.6 * r0**2 + 3 * s**2),
                                                               rel=1e-14)
    assert thin != cs and hash(thin) != hash(cs)  # part of the value: caches keep them apart
    assert cs.with_helm_skin(cs.helm_skin) is cs


def test_cross_section_follows_the_nucleus_skin():
    cs = get_nucleus("Cs133")
    thin = cs.with_helm_skin(0.9 * fm)
    t = np.array([2.0, 8.0]) * keV  # below T_max = 14.5 keV at E = 30 MeV
    e = 30.0 * MeV
    a, b = sm_basis_terms(cs, e, t), sm_basis_terms(thin, e, t)
    # the ZZ term is K_V Z² F²: same kinematics, so the ratio is (F_thin / F_default)², each
    # Helm factor evaluated explicitly at its nucleus's own radius and skin
    q = momentum_transfer(t, cs.mass)  # |q| = sqrt(2 m_A T + T²)
    f_cs = helm_form_factor(q, cs.default_helm_rms_radius(), 1.0 * fm)
    f_thin = helm_form_factor(q, thin.default_helm_rms_radius(), 0.9 * fm)
    np.testing.assert_allclose(b[0] / a[0], (f_thin / f_cs) ** 2, rtol=1e-12)
    assert np.all(np.abs(b[0] / a[0] - 1) > 1e-4)  # the skin matters at these recoils


def test_detector_field_sets_the_skin_of_every_target():
    det = get_detector("CsI")
    assert {n.helm_skin for n, _ in det.nuclei} == {1.0 * fm}  # ESS presets: 1.0 fm
    thin = det.replace(helm_skin_fm=0.9)
    assert [n.helm_skin for n, _ in thin.nuclei] == pytest.approx([0.9 * fm] * len(thin.nuclei))
    assert det.model_dump()["helm_skin_fm"] == 1.0

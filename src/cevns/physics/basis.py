"""Cross sections as sums of basis terms: the interface between physics and the rate engine.

A model of dσ/dT whose dependence on its *strength* parameters θ is polynomial is written as

    dσ/dT(E, T; θ, φ) = Σ_j c_j(θ) · b_j(E, T; φ),

where the basis terms b_j depend only on *shape* parameters φ (mediator mass, sterile mass, Δm²,
neutron radius) and the coefficients c_j only on strength parameters (sin²θ_W, couplings, magnetic
moments, mixing). The rate engine integrates each b_j once over flux, recoil energy and detector
response; any number of θ points then costs a small matrix product (docs/architecture.md).

A :class:`CrossSectionBasis` (defined with the rest of the physics ↔ engine interface in
:mod:`cevns.physics.protocol`, re-exported here) is anything with

``names``
    tuple of basis-term names;
``sterile_mass``
    mass m₄ of the outgoing neutral lepton (0 for elastic scattering) — it fixes the kinematics
    E_min(T, m₄) and the recoil range used by the engine;
``terms(nucleus, flavour, neutrino_energy, recoil_energy)``
    an array of shape ``(len(names), *broadcast shape)`` with each b_j in internal units
    (area/energy), zero outside the kinematically allowed region.

Optionally ``energy_nodes``: the Gauss–Legendre order in E the basis needs (rapidly oscillating
integrands). Flux modifications per flavour and energy (oscillations) are part of the terms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cevns.errors import ConfigError, UnknownNameError
from cevns.physics.cross_sections import SM_BASIS, sm_basis_terms
from cevns.physics.protocol import CrossSectionBasis  # noqa: F401  (re-exported, documented there)
from cevns.physics.spin_structure import DEFAULT_SPIN_STRUCTURE, SpinStructure


@dataclass(frozen=True)
class SMBasis:
    """The SM cross section as four sin²θ_W-independent terms ("ZZ", "ZN", "NN", "axial").

    Coefficients: :func:`cevns.physics.cross_sections.sm_basis_coefficients`.

    Parameters
    ----------
    neutron_radius : float or None
        rms neutron radius (internal length) used for every nucleus; ``None`` = default Helm radius
        of each nucleus. For compounds the same R_n is used for all species (an average radius).
    proton_radius : {"default", "charge"}
        ``"default"``: F_p at the default Helm radius (one form factor for p and n unless R_n is
        given); ``"charge"``: F_p at the nucleus's proton (charge) rms radius R_p of Table 1, as in
        the paper's neutron-radius analysis.
    unit_neutron_form_factor : bool
        F_n ≡ 1 (the reference basis of the recoil re-weighting fast path for R_n scans).
    """

    neutron_radius: float | None = None
    proton_radius: str = "default"
    unit_neutron_form_factor: bool = False
    spin_structure: SpinStructure = DEFAULT_SPIN_STRUCTURE  # part of the cache key
    names: tuple[str, ...] = SM_BASIS
    sterile_mass: float = 0.0

    def __post_init__(self) -> None:
        # a basis is part of cache keys: it must not exist with an invalid value
        if self.proton_radius not in ("default", "charge"):
            raise UnknownNameError("proton_radius option", self.proton_radius, ["default", "charge"])
        rn = self.neutron_radius
        if rn is not None and not (math.isfinite(rn) and rn > 0):
            raise ConfigError(f"SMBasis.neutron_radius must be a finite length > 0 or None, got {rn!r}")
        if not (math.isfinite(self.sterile_mass) and self.sterile_mass >= 0):
            raise ConfigError(f"SMBasis.sterile_mass must be finite and ≥ 0, got {self.sterile_mass!r}")

    def terms(self, nucleus, flavour, neutrino_energy, recoil_energy):
        """SM basis terms for ``nucleus`` (flavour blind)."""
        rp = nucleus.proton_rms_radius if self.proton_radius == "charge" else None
        return sm_basis_terms(
            nucleus, neutrino_energy, recoil_energy, proton_radius=rp,
            neutron_radius=self.neutron_radius, spin_structure=self.spin_structure,
            unit_neutron_form_factor=self.unit_neutron_form_factor,
        )


"""Physical constants: the one place where numbers of nature are typed in.

Every constant is given with its source. Values are in the internal unit system of
:mod:`cevns.physics.units` (natural units ħ = c = 1 for particle quantities). PDG 2022 is
R. L. Workman et al. (Particle Data Group), Prog. Theor. Exp. Phys. 2022, 083C01, the edition
the paper cites as Ref. [80]; CODATA 2018 is Tiesinga et al., Rev. Mod. Phys. 93, 025010 (2021).

Weak mixing angle: :data:`SIN2_THETA_W` is the **low-energy MS-bar** value sin²θ_W(Q → 0) = 0.23857
(PDG 2022, "Electroweak model and constraints on new physics", RGE extrapolation of the Z-pole MS-bar
value), which is the Standard-Model reference of the paper. It is *not* the on-shell value
(1 − m_W²/m_Z² ≈ 0.2234) nor the Z-pole MS-bar value :data:`SIN2_THETA_W_MZ` = 0.23121.
"""

from __future__ import annotations

import math

from cevns.physics.units import GeV, MeV, cm, fm, g, mol

# --- electroweak -----------------------------------------------------------------------------
#: Fermi constant from the muon lifetime, G_F/(ħc)³ = 1.1663788(6)e-5 GeV⁻² (PDG 2022).
G_FERMI = 1.1663788e-5 / GeV**2
#: sin²θ_W in the MS-bar scheme at Q → 0 (PDG 2022 RGE running): the SM reference of the paper.
SIN2_THETA_W = 0.23857
#: sin²θ_W in the MS-bar scheme at the Z pole (PDG 2022); quoted only, not used in rates.
SIN2_THETA_W_MZ = 0.23121
#: The values sin²θ_W may take everywhere (coefficient functions, ``sm_spectrum``, the scenario
#: parameter, fits, the command line): the closed interval [0, 1] of a squared sine. Both ends are
#: legal, degenerate but finite: the weak charge is linear in sin²θ_W (g_V^p = 1/2 − 2 sin²θ_W) and
#: no formula divides by sin²θ_W or cos²θ_W. Checked by
#: :func:`cevns.physics.cross_sections.check_sin2_theta_w`.
SIN2_THETA_W_RANGE = (0.0, 1.0)
#: Fine-structure constant α = 1/137.035999084 (CODATA 2018).
ALPHA_EM = 1.0 / 137.035999084

# --- masses (PDG 2022) ---------------------------------------------------------------------------
#: Electron mass 0.51099895000 MeV.
M_ELECTRON = 0.51099895 * MeV
#: Muon mass 105.6583755 MeV.
M_MUON = 105.6583755 * MeV
#: Charged-pion mass 139.57039 MeV.
M_PION = 139.57039 * MeV
#: Proton mass 938.27208816 MeV.
M_PROTON = 938.27208816 * MeV
#: Neutron mass 939.56542052 MeV.
M_NEUTRON = 939.56542052 * MeV
#: Up-quark MS-bar mass at 2 GeV, 2.16 MeV (PDG 2022 central value).
M_UP = 2.16 * MeV
#: Down-quark MS-bar mass at 2 GeV, 4.67 MeV (PDG 2022 central value).
M_DOWN = 4.67 * MeV
#: Atomic mass unit 931.49410242 MeV (CODATA 2018).
AMU = 931.49410242 * MeV

# --- conversion constants (CODATA 2018, exact or near-exact) -----------------------------------
#: ħc = 197.3269804 MeV fm: converts natural-unit cross sections (energy⁻²) to areas.
HBARC = 197.3269804 * MeV * fm
#: Avogadro constant 6.02214076e23 mol⁻¹ (exact, SI 2019).
N_AVOGADRO = 6.02214076e23 / mol
#: Elementary charge 1.602176634e-19 C (exact, SI 2019); converts beam power to protons per second.
ELEMENTARY_CHARGE_COULOMB = 1.602176634e-19
#: Bohr magneton μ_B = e/(2 m_e) in natural units (e = √(4πα)); units of energy⁻¹.
MU_BOHR = math.sqrt(4.0 * math.pi * ALPHA_EM) / (2.0 * M_ELECTRON)

# --- derived pion-decay-at-rest kinematics ------------------------------------------------------
#: Energy of the prompt ν_μ from π⁺ → μ⁺ ν_μ at rest, (m_π² − m_μ²)/(2 m_π) = 29.792 MeV.
E_PROMPT = (M_PION**2 - M_MUON**2) / (2.0 * M_PION)
#: End point of the Michel spectra of μ⁺ → e⁺ ν_e ν̄_μ at rest, m_μ/2 = 52.829 MeV.
E_MICHEL_MAX = M_MUON / 2.0

# --- nucleon-level hadronic inputs (used from the NGI work on) -----------------------------------
#: Axial charges of the nucleon from lattice QCD, Δu = 0.777, Δd = −0.438
#: (H.-W. Lin et al., Prog. Part. Nucl. Phys. 100, 107 (2018), paper Ref. [88]).
DELTA_U = 0.777
DELTA_D = -0.438
#: Isovector axial coupling g_A = Δu − Δd = 1.215 (lattice; neutron decay gives 1.2754, PDG 2022).
G_AXIAL = DELTA_U - DELTA_D
#: Measured g_A from neutron β decay, 1.2754 (PDG 2022), the alternative.
G_AXIAL_NEUTRON_DECAY = 1.2754

#: 1 cm² in internal units (a convenience for cross-section output).
CM2 = cm**2
#: grams per mole, the unit of molar masses.
G_PER_MOL = g / mol

#: π⁺ mean lifetime in µs (PDG 2022: 2.6033 × 10⁻⁸ s): arrival times of prompt neutrinos.
PION_LIFETIME_US = 0.026033
#: μ⁺ mean lifetime in µs (PDG 2022: 2.1969811 × 10⁻⁶ s): arrival times of delayed neutrinos.
MUON_LIFETIME_US = 2.1969811

# --- validity bounds of model parameters ---------------------------------------------------
#: Largest coupling g accepted (4π ≈ 12.57), for the NGI and up-scattering couplings
#: g = √|g^ν g^q| (also g_B−L): the strong-coupling limit of naive dimensional analysis, above
#: which no perturbative cross section means anything (perturbativity already ends near
#: √(4π) ≈ 3.5, g²/4π = 1). CEvNS limits are g ≲ 10⁻⁵–10⁻³ for mediators up to 1 GeV and grow
#: ∝ m_X above (a contact interaction), reaching 4π only for m_X of order 10 TeV; the paper's scans
#: stop at g = 0.1. Without a bound g ≈ 1e77 makes g⁴ overflow (inf counts, numpy warnings).
MAX_COUPLING = 4.0 * math.pi

#: Largest (transition) neutrino magnetic moment accepted, in units of the Bohr magneton μ_B:
#: a neutral lepton with the moment of the electron itself. Laboratory limits on light-neutrino
#: moments are ≲ 10⁻¹⁰ μ_B and the dipole-portal scans of the paper stop at 10⁻⁶ μ_B; at 1 μ_B the
#: dipole coupling at π-DAR energies, μ_eff e E/(2 m_e) ≈ 15 μ_eff at E = 50 MeV, is already beyond
#: any perturbative meaning. Without a bound μ ≈ 1e154 makes μ² overflow.
MAX_MAGNETIC_MOMENT_MUB = 1.0

__all__ = [name for name in dir() if name.isupper()]

#: Largest sterile-lepton or mediator mass accepted, in MeV (1 PeV): far beyond the reach of any
#: π-DAR neutrino (≈ 50 MeV) and of any mediator still distinct from a contact interaction (its
#: effect falls as 1/m_X² long before); near 1e154 MeV the squared masses overflow.
MAX_MASS_MEV = 1e9

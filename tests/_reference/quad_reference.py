"""Brute-force reference for binned CEvNS counts, written independently of cevns.

Everything physical is re-typed here from docs/physics.md (SM cross section #sm-cevns, Helm form factor,
π-DAR spectra #flux, Gaussian smearing #event-rates) in plain MeV/cm units; only the nucleus data and the
detector settings are taken from the package. Integrals use scipy.integrate.quad over E and T,
with tolerances far below the 1e-6 the tests ask for. It is slow by design: it is the reference.
"""

from __future__ import annotations

import math

from scipy.integrate import quad

GF = 1.1663788e-11  # MeV^-2
HBARC_MEV_CM = 197.3269804e-13
M_MU = 105.6583755
M_PI = 139.57039
E_PI = (M_PI**2 - M_MU**2) / (2 * M_PI)
E_MAX = M_MU / 2
AMU = 931.49410242
SKIN_FM = 1.0  # the package default Helm skin (cevns.physics.form_factors)
SW2 = 0.23857


def helm(q_mev: float, rms_fm: float) -> float:
    k = q_mev / 197.3269804  # fm^-1
    r0 = math.sqrt(5.0 / 3.0 * rms_fm**2 - 5.0 * SKIN_FM**2)
    x = k * r0
    j = 1.0 - x * x / 10.0 if x < 1e-4 else 3.0 * (math.sin(x) - x * math.cos(x)) / x**3
    return j * math.exp(-0.5 * (k * SKIN_FM) ** 2)


def default_rms_fm(a: float) -> float:
    return math.sqrt(0.6 * (1.2 * a ** (1 / 3)) ** 2 + 3 * SKIN_FM**2)


def dsigma_dt_cm2_per_mev(e: float, t: float, z: int, n: float, mass_u: float, spin: float,
                          sp: float, sn: float, sw2: float = SW2, g_a: float = 0.777 + 0.438) -> float:
    ma = mass_u * AMU
    if t > 2 * e * e / (ma + 2 * e):
        return 0.0
    q = math.sqrt(t * t + 2 * ma * t)
    f = helm(q, default_rms_fm(z + n))
    qv = ((0.5 - 2 * sw2) * z - 0.5 * n) * f
    kv = max(1 - ma * t / (2 * e * e) - t / e, 0.0)
    vec = GF**2 * ma / math.pi * kv * qv * qv
    ax = 0.0
    if spin > 0 and (sp or sn):
        s11 = (2 * spin + 1) * (spin + 1) / (6 * math.pi * spin) * (sp - sn) ** 2 * f * f
        fa = 8 * math.pi / (2 * spin + 1) * g_a**2 * s11
        ax = GF**2 * ma / (4 * math.pi) * (1 + ma * t / (2 * e * e) - t / e) * fa
    return (vec + ax) * HBARC_MEV_CM**2


def michel(flavour: str, e: float) -> float:
    x = e / M_MU
    if not 0 <= x <= 0.5:
        return 0.0
    if flavour == "nue":
        return 192.0 / M_MU * x * x * (0.5 - x)
    return 64.0 / M_MU * x * x * (0.75 - x)


def dn_dt_per_target(flavour: str, t: float, nuc: dict) -> float:
    """∫ dE φ(E) dσ/dT for unit fluence [cm² / MeV]."""
    ma = nuc["mass_u"] * AMU
    e_min = 0.5 * (t + math.sqrt(t * t + 2 * ma * t))
    args = (nuc["Z"], nuc["N"], nuc["mass_u"], nuc["spin"], nuc["sp"], nuc["sn"])
    if flavour == "numu":
        return dsigma_dt_cm2_per_mev(E_PI, t, *args) if e_min <= E_PI else 0.0
    if e_min >= E_MAX:
        return 0.0
    val, _ = quad(lambda e: michel(flavour, e) * dsigma_dt_cm2_per_mev(e, t, *args), e_min, E_MAX,
                  epsabs=0, epsrel=1e-11, limit=200)
    return val


def bin_probability(t: float, lo: float, hi: float, sigma0: float, eth: float, law: str) -> float:
    if law == "none":
        return 1.0 if lo <= t < hi else 0.0
    s = sigma0 * math.sqrt(eth * t) if law == "sqrt-threshold" else sigma0 * t
    return 0.5 * (math.erf((hi - t) / (math.sqrt(2) * s)) - math.erf((lo - t) / (math.sqrt(2) * s)))


def binned_counts(flavour: str, nuc: dict, n_targets: float, fluence_cm2: float, efficiency: float,
                  lo: float, hi: float, t_max: float, smearing: dict | None) -> float:
    """Counts in reconstructed bin [lo, hi] (MeV) from one nucleus and flavour."""
    ma = nuc["mass_u"] * AMU
    breaks = [2 * E_PI**2 / (ma + 2 * E_PI)]
    if smearing is None:
        a, b = lo, min(hi, t_max)
        integrand = lambda t: dn_dt_per_target(flavour, t, nuc)  # noqa: E731
    else:
        eth, s0, law = smearing["eth"], smearing["sigma0"], smearing["law"]
        width = s0 * math.sqrt(eth * hi) if law == "sqrt-threshold" else s0 * hi
        a = max(0.05 * eth, lo - 14 * width)
        b = min(t_max, hi + 14 * width)
        breaks += [lo, hi]

        def integrand(t):
            return bin_probability(t, lo, hi, s0, eth, law) * dn_dt_per_target(flavour, t, nuc)
    pts = sorted(p for p in breaks if a < p < b)
    val, _ = quad(integrand, a, b, points=pts or None, epsabs=1e-52, epsrel=1e-9, limit=400)
    return n_targets * fluence_cm2 * efficiency * val

"""The Standard-Model spectrum of one detector as a result object."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cevns.errors import ConfigError
from cevns.experiment import Catalogue, Detector, Source, get_detector, get_source
from cevns.physics.basis import SMBasis
from cevns.physics.constants import SIN2_THETA_W
from cevns.physics.cross_sections import check_sin2_theta_w, sm_basis_coefficients
from cevns.physics.flux import FLAVOUR_LABELS, FLAVOURS
from cevns.physics.units import keV
from cevns.rates.engine import basis_spectra


@dataclass(frozen=True)
class Spectrum:
    """Expected counts of one detector over a run.

    Attributes
    ----------
    detector : str
        Detector name.
    edges_keVnr : ndarray
        Reconstructed-energy bin edges in keVnr.
    signal : ndarray, shape (n_flavours, n_nuclei, n_bins)
        CEvNS counts per flavour (``FLAVOURS`` order) and target nucleus.
    background : ndarray, shape (n_bins,)
        Steady-state background counts.
    nuclei : tuple of str
        Target nuclei.
    run_years : float
        Run time the counts refer to.
    """

    detector: str
    edges_keVnr: np.ndarray
    signal: np.ndarray
    background: np.ndarray
    nuclei: tuple[str, ...]
    run_years: float
    flavours: tuple[str, ...] = FLAVOURS

    @property
    def per_flavour(self) -> dict[str, float]:
        """Total counts per flavour."""
        return {f: float(self.signal[i].sum()) for i, f in enumerate(self.flavours)}

    @property
    def total_signal(self) -> float:
        """Total CEvNS counts."""
        return float(self.signal.sum())

    @property
    def total_background(self) -> float:
        """Total background counts."""
        return float(self.background.sum())

    @property
    def signal_per_bin(self) -> np.ndarray:
        """CEvNS counts per bin summed over flavours and nuclei."""
        return self.signal.sum(axis=(0, 1))

    def to_rows(self) -> list[dict]:
        """One row per bin: edges, counts per flavour, total signal, background."""
        rows = []
        for i in range(len(self.background)):
            row = {"detector": self.detector, "lower_keVnr": self.edges_keVnr[i],
                   "upper_keVnr": self.edges_keVnr[i + 1]}
            for a, f in enumerate(self.flavours):
                row[f] = float(self.signal[a, :, i].sum())
            row["signal"] = float(self.signal[:, :, i].sum())
            row["background"] = float(self.background[i])
            rows.append(row)
        return rows

    def to_csv(self, path: str | Path) -> Path:
        """Write the per-bin table as CSV; returns the path."""
        path = Path(path)
        rows = self.to_rows()
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return path

    def plot(self, ax=None, *, sqrt_background: bool = True, **kwargs):
        """Step plot of counts per bin (and √background, as the paper's Fig. 1)."""
        import matplotlib.pyplot as plt

        ax = ax or plt.gca()
        ax.stairs(self.signal_per_bin, self.edges_keVnr, label=f"{self.detector} CEvNS", **kwargs)
        if sqrt_background:
            ax.stairs(np.sqrt(self.background), self.edges_keVnr, linestyle="--",
                      label=f"{self.detector} √SSB")
        ax.set_xlabel("reconstructed recoil energy [keVnr]")
        ax.set_ylabel("events / bin")
        return ax

    def __repr__(self) -> str:
        flav = ", ".join(f"{FLAVOUR_LABELS[f]}: {v:.1f}" for f, v in self.per_flavour.items())
        return (f"Spectrum({self.detector}, {len(self.background)} bins, {self.run_years:g} yr; "
                f"signal {self.total_signal:.1f} ({flav}); background {self.total_background:.1f})")

    def _repr_html_(self) -> str:
        cells = "".join(f"<td>{v:.1f}</td>" for v in self.per_flavour.values())
        heads = "".join(f"<th>{FLAVOUR_LABELS[f]}</th>" for f in self.flavours)
        return (f"<table><tr><th>detector</th>{heads}<th>signal</th><th>background</th></tr>"
                f"<tr><td>{self.detector}</td>{cells}<td>{self.total_signal:.1f}</td>"
                f"<td>{self.total_background:.1f}</td></tr></table>")


def sm_spectrum(
    detector: Detector | str,
    source: Source | str | None = None,
    *,
    sin2_theta_w: float = SIN2_THETA_W,
    run_years: float | None = None,
    basis: SMBasis | None = None,
    catalogue: Catalogue | None = None,
) -> Spectrum:
    """Standard-Model spectrum of a detector.

    Parameters
    ----------
    detector : Detector or str
        A detector or the name of a preset (``"CsI"``, ``"Xe"``, …).
    source : Source or str, optional
        Defaults to the detector's ``default_source`` preset (the ESS).
    sin2_theta_w : float
        Weak mixing angle (MS-bar, low energy), default 0.23857.
    run_years : float, optional
        Override the source's run time.
    basis : SMBasis, optional
        Form-factor choices (e.g. a neutron radius); default one Helm form factor per nucleus.
    catalogue : Catalogue, optional
        Where preset names are looked up (default: built-ins + ``CEVNS_PRESETS``;
        docs/catalogue.md).
    """
    det = get_detector(detector, catalogue) if isinstance(detector, str) else detector
    if not isinstance(det, Detector):
        raise ConfigError(f"detector must be a Detector or a preset name, got {type(det).__name__}")
    if source is not None and not isinstance(source, (Source, str)):
        raise ConfigError(f"source must be a Source or a preset name, got {type(source).__name__}")
    src = source if isinstance(source, Source) else get_source(source or det.default_source,
                                                                  catalogue)
    if np.ndim(check_sin2_theta_w(sin2_theta_w, closed=False)) != 0:
        raise ConfigError(f"sin2_theta_w must be one number here, got shape {np.shape(sin2_theta_w)}")
    if run_years is not None:
        src = src.with_run_years(run_years)
    bs = basis_spectra(det, src, basis or SMBasis())
    coeff = sm_basis_coefficients(sin2_theta_w)
    signal = np.einsum("j,jfkb->fkb", coeff, bs.counts)
    return Spectrum(detector=det.name, edges_keVnr=bs.edges / keV, signal=signal,
                    background=det.background_counts(src), nuclei=bs.nuclei,
                    run_years=src.run_years)

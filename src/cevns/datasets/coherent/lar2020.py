"""Reader for the COHERENT CENNS-10 liquid-argon release (first detection, Analysis A).

Release: arXiv:2006.12659, Zenodo 10.5281/zenodo.3903810, for D. Akimov et al. (COHERENT), Phys.
Rev. Lett. 126, 012002 (2021), arXiv:2003.10630. See ``data/lar-2020/README.md``.

What is read
------------
- 3-D histograms (12 energy bins of 10 keVee from 0 to 120 × 8 F90 bins of 0.05 from 0.5 to 0.9 ×
  10 time bins of 0.5 µs from −0.1 to 4.9 µs): observed beam-on data, the SM CEvNS prediction and
  its three shape variants, prompt BRN and its five shape variants, delayed BRN, steady state;
- 1-D projections (steady-state-subtracted data, best-fit CEvNS and BRN, systematic band) and
  the 1-D systematic-band ratios;
- the acceptance table (keVee, keVnr, efficiency);
- ``LArParametersAnlA.yaml``.

Backgrounds
-----------
``steady_state`` (``bkgpdf.txt``), ``brn`` (prompt, ``brnpdf.txt`` with variants), ``delayed_brn``
(``delbrnpdf.txt``), each with the predicted normalisation and uncertainty of the YAML as the prior
and the YAML's best fit as :attr:`BackgroundComponent.fitted_normalisation`.

Response and timing
-------------------
T → E_ee = (0.246 + 0.00078 T) T (YAML larQF) → Normal(E_ee, 0.58 √E_ee) (YAML energyResolution)
→ acceptance from ``CENNS10AnlAEfficiency.txt`` → 10-keVee bins. The acceptance is applied as a
function of the true electron-equivalent energy by default (the table pairs each keVee value with
its keVnr through the QF, i.e. it is usable as a function of the true recoil energy); set
``efficiency_variable="reconstructed"`` on the response to apply it to the smeared energy.
F90: the CEvNS F90 distribution of each energy bin is taken from ``cevnspdf.txt``
(:attr:`Release.psd_fractions`). Timing: analytic SNS model with the YAML POT trace (440 ns,
150 ns) convolved with the π and μ lifetimes, as the YAML describes; the release's own CEvNS
arrival-time distribution is :attr:`LAr2020Release.cevns_time_pdf` (its PDF factorises as
energy × F90(energy) × time).

Shape systematics
-----------------
The released ±1σ variants paired as nuisances (:data:`SHAPE_SYSTEMATICS`,
:attr:`LAr2020Release.shape_systematics`): CEvNS F90 (±1σ) and timing mean (one file: one-sided),
prompt-BRN energy (±1σ), timing mean (±1σ) and timing width (one-sided). How the fit uses them:
docs/coherent_lar.md. :func:`f90_window_acceptance` estimates the CEvNS fraction inside the F90
window per energy bin (the cause of the energy-spectrum difference to our prediction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from cevns.datasets.coherent._common import (
    check_baseline,
    data_field,
    release_folder,
    require_counts,
    require_non_negative,
    require_prior,
    require_template,
    require_value,
    supplementary_parameter,
    validate_experiment,
    yaml_entry,
    yaml_parameter,
    yaml_subparameters,
)
from cevns.datasets.coherent._io import check_grid, read_flat_yaml, read_table, require_file
from cevns.datasets.coherent.containers import (
    Axis,
    BackgroundComponent,
    ExperimentSetup,
    Histogram,
    NeutrinoTiming,
    Parameter,
    Release,
)
from cevns.datasets.coherent.response import (
    EnergyResponse,
    GaussianResolution,
    LinearQuenchingFactor,
    TabulatedEfficiency,
)
from cevns.datasets.coherent.timing import SNSTimingModel
from cevns.errors import DataError

__all__ = [
    "SHAPE_SYSTEMATICS",
    "LAr2020Release",
    "Projection1D",
    "ShapeSystematic",
    "f90_window_acceptance",
    "load_lar_2020",
]

NAME = "coherent-lar-2020"
FOLDER = "lar-2020"
ENERGY_EDGES = np.arange(0.0, 120.0 + 1e-9, 10.0)
F90_EDGES = np.round(np.arange(0.5, 0.9 + 1e-9, 0.05), 10)
TIME_EDGES = np.round(np.arange(-0.1, 4.9 + 1e-9, 0.5), 10)
N_ROWS_3D = 960

CEVNS_FILES = {
    "nominal": "cevnspdf.txt",
    "f90_plus_1sigma": "cevnspdf+1sigF90.txt",
    "f90_minus_1sigma": "cevnspdf-1sigF90.txt",
    "timing_mean_syst": "cevnspdfCEvNSTimingMeanSyst.txt",
}
BRN_VARIANT_FILES = {
    "energy_plus_1sigma": "brnpdf+1sigEnergy.txt",
    "energy_minus_1sigma": "brnpdf-1sigEnergy.txt",
    "timing_mean_plus_1sigma": "brnpdf+1sigBRNTimingMean.txt",
    "timing_mean_minus_1sigma": "brnpdf-1sigBRNTimingMean.txt",
    "timing_width_syst": "brnpdfBRNTimingWidthSyst.txt",
}
PROJECTION_FILES = {"energy": "energydata1d.txt", "f90": "f90data1d.txt",
                    "time": "timingdata1d.txt"}
SYST_FILES = {"energy": "systerrors1denergy.txt", "f90": "systerrors1dpsd.txt",
              "time": "systerrors1dtime.txt"}
#: The release's shape systematics as nuisances: name → (component, −1σ variant, +1σ variant).
#: ``None`` as the −1σ variant: the release ships one variant only (one-sided systematic); the
#: nuisance then moves the template towards it for α > 0 and leaves it at the nominal for α < 0
#: (the −1σ template is the nominal one). Variant keys: :data:`CEVNS_FILES`,
#: :data:`BRN_VARIANT_FILES`.
SHAPE_SYSTEMATICS: dict[str, tuple[str, str | None, str]] = {
    "cevns_f90": ("cevns", "f90_minus_1sigma", "f90_plus_1sigma"),
    "cevns_timing_mean": ("cevns", None, "timing_mean_syst"),
    "brn_energy": ("brn", "energy_minus_1sigma", "energy_plus_1sigma"),
    "brn_timing_mean": ("brn", "timing_mean_minus_1sigma", "timing_mean_plus_1sigma"),
    "brn_timing_width": ("brn", None, "timing_width_syst"),
}
EFFICIENCY_FILE = "CENNS10AnlAEfficiency.txt"
PARAMETER_FILE = "LArParametersAnlA.yaml"


@dataclass(frozen=True)
class Projection1D:
    """One of the release's 1-D projections (columns of ``*data1d.txt``)."""

    bin_centers: NDArray[np.float64]
    ss_subtracted_data: NDArray[np.float64]
    stat_error: NDArray[np.float64]
    cevns_bestfit: NDArray[np.float64]
    brn_bestfit: NDArray[np.float64]
    total_bestfit: NDArray[np.float64]
    syst_low: NDArray[np.float64]
    syst_high: NDArray[np.float64]
    source: str


@dataclass(frozen=True)
class ShapeSystematic:
    """One shape systematic of the release: the −1σ and +1σ templates of one component.

    Attributes
    ----------
    name : str
        Nuisance name (a key of :data:`SHAPE_SYSTEMATICS`), e.g. ``"brn_energy"``.
    component : str
        ``"cevns"`` or ``"brn"`` (prompt beam-related neutrons).
    nominal, down, up : Histogram
        The release's nominal template and its −1σ and +1σ variants, on the release's 3-D bins.
        ``down`` is ``nominal`` for a one-sided systematic. Every variant has the nominal total
        (the released +1σ BRN timing-mean file, which sums to 523.7 instead of 497, is rescaled
        to 497: the BRN normalisation has its own nuisance).
    one_sided : bool
        Only a +1σ variant is released.
    source : str
        File names.
    """

    name: str
    component: str
    nominal: Histogram
    down: Histogram
    up: Histogram
    one_sided: bool
    source: str

    def ratios(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Per-bin ratios (down/nominal, up/nominal), flattened in C order; 1 where nominal = 0.

        Applied to another template of the same component (e.g. our CEvNS prediction), they
        move it as the release's variant moves the release's template. Bins where the nominal
        is empty but a variant is not (three bins of the +1σ BRN energy variant, 0.014 events in
        all) are dropped this way.
        """
        nom = self.nominal.counts.ravel()
        out = []
        for var in (self.down, self.up):
            c = var.counts.ravel()
            r = np.ones_like(nom)
            np.divide(c, nom, out=r, where=nom > 0)
            r.setflags(write=False)
            out.append(r)
        return out[0], out[1]


@dataclass(frozen=True, kw_only=True, repr=False)
class LAr2020Release(Release):
    """The LAr-2020 release (see the module docstring).

    Extra attributes
    ----------------
    cevns_templates : mapping of str to Histogram
        SM CEvNS prediction (``"nominal"``, 128 events) and its shape variants.
    cevns_normalisation, cevns_fitted_normalisation : Parameter
        Predicted 128 ± 17 and best-fit 159 ± 43 CEvNS events (YAML).
    projections : mapping of str to Projection1D
        ``"energy"``, ``"f90"``, ``"time"``.
    systematic_bands : mapping of str to ndarray, shape (n, 3)
        Bin centre, lower and upper band as ratios to the nominal prediction.
    efficiency_table : ndarray, shape (80, 3)
        keVee bin centre, keVnr, acceptance.
    timing_model : SNSTimingModel
        The arrival-time model used for :attr:`timing`.
    cevns_time_pdf : ndarray, shape (10,)
        The release's CEvNS arrival-time distribution: the time projection of ``cevnspdf.txt``,
        normalised to 1. The release's CEvNS PDF factorises as energy × F90(energy) × this
        (the released one is the same in every energy and F90 bin to 5e-6 events; a copy that
        is not gets a note in :attr:`notes`).
    shape_systematics : mapping of str to ShapeSystematic
        The release's shape variants paired as nuisances (:data:`SHAPE_SYSTEMATICS`).
    """

    cevns_templates: dict[str, Histogram] = field(default_factory=dict)
    cevns_normalisation: Parameter
    cevns_fitted_normalisation: Parameter
    projections: dict[str, Projection1D] = field(default_factory=dict)
    systematic_bands: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    efficiency_table: NDArray[np.float64]
    timing_model: SNSTimingModel
    cevns_time_pdf: NDArray[np.float64]
    shape_systematics: dict[str, ShapeSystematic] = field(default_factory=dict)


def f90_window_acceptance(template: Histogram) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Fraction of each energy bin's CEvNS inside the F90 window 0.5–0.9, by extrapolation.

    The release gives the CEvNS F90 distribution inside the window only. Here each energy bin's
    F90 distribution (8 bins) is fitted with a Gaussian (least squares on the in-window fractions,
    :func:`scipy.optimize.least_squares`) and the Gaussian's probability inside [0.5, 0.9] is
    returned. Energy bins without CEvNS reuse the last populated bin's value. This is a model
    (Gaussian tails), used to explain the energy-spectrum difference between the release's CEvNS
    PDF and ours (docs/coherent_lar.md), not on the default fit path.

    Parameters
    ----------
    template : Histogram
        A CEvNS template on the release's (energy, F90, time) bins, e.g.
        ``release.cevns_templates["nominal"]``.

    Returns
    -------
    (acceptance, parameters) : ndarray (n_energy,), ndarray (n_energy, 2)
        Acceptance per energy bin and the fitted (mean, σ) of F90 (NaN where reused).
    """
    from scipy.optimize import least_squares
    from scipy.special import ndtr

    edges = template.axes[1].edges
    lo, hi = float(edges[0]), float(edges[-1])
    by_energy = template.counts.sum(axis=2)
    acceptance = np.ones(by_energy.shape[0])
    params = np.full((by_energy.shape[0], 2), np.nan)
    last = None
    for i, row in enumerate(by_energy):
        if row.sum() <= 0 or np.count_nonzero(row) < 3:
            if last is not None:
                acceptance[i] = last
            continue
        y = row / row.sum()

        def resid(p, y=y):
            prob = ndtr((edges[1:] - p[0]) / p[1]) - ndtr((edges[:-1] - p[0]) / p[1])
            return prob / prob.sum() - y

        fit = least_squares(resid, [float(np.dot(y, template.axes[1].centers)), 0.08],
                            bounds=([0.0, 0.005], [1.0, 0.5]))
        mu, sigma = fit.x
        params[i] = (mu, sigma)
        acceptance[i] = last = float(ndtr((hi - mu) / sigma) - ndtr((lo - mu) / sigma))
    return acceptance, params


def _axes() -> tuple[Axis, Axis, Axis]:
    return (Axis("energy", ENERGY_EDGES, "keVee"), Axis("f90", F90_EDGES, ""),
            Axis("time", TIME_EDGES, "us"))


def _read_3d(path: Path, template: bool = True) -> Histogram:
    """A 3-D histogram file; ``template``: expected counts (a prediction or a shape variant),
    which must also be ≤ 2⁵³ each and not all 0 (:func:`require_template`)."""
    table, lines = read_table(path, 4, n_rows=N_ROWS_3D, with_lines=True)
    axes = _axes()
    grid = np.meshgrid(*(ax.centers for ax in axes), indexing="ij")
    for column, (ax, g) in enumerate(zip(axes, grid, strict=True)):
        check_grid(path, f"{ax.name} bin centres (column {column + 1})", table[:, column],
                   g.ravel(), atol=1e-4)
    counts = table[:, 3].reshape(tuple(ax.size for ax in axes))
    require_non_negative(path, counts, "histogram")
    if template:
        require_template(path, counts, "PDF", lines)
    return Histogram(axes, counts)


def _read_projection(path: Path, axis: Axis) -> Projection1D:
    table = read_table(path, 8, n_rows=axis.size, header_lines=1)
    check_grid(path, "bin centres", table[:, 0], axis.centers, atol=1e-4)
    return Projection1D(*(table[:, i] for i in range(8)), source=path.name)


def load_lar_2020(data_dir: str | Path | None = None) -> LAr2020Release:
    """Read and validate the LAr-2020 (CENNS-10 Analysis A) release.

    Parameters
    ----------
    data_dir : path, optional
        Folder holding the release's files; default: the packaged copy.

    Raises
    ------
    DataError
        If a file is missing, truncated, of another release or unparsable, or holds a number
        that cannot be right (a zero, negative or non-finite exposure, distance, normalisation
        or uncertainty, an all-zero template or PDF, an expected count above 2⁵³); the message
        names the file and the field or line.
    """
    folder = release_folder(data_dir, NAME)
    names = ["datanobkgsub.txt", "bkgpdf.txt", "brnpdf.txt", "delbrnpdf.txt",
             *CEVNS_FILES.values(), *BRN_VARIANT_FILES.values(), *PROJECTION_FILES.values(),
             *SYST_FILES.values(), EFFICIENCY_FILE, PARAMETER_FILE]
    for name in names:
        require_file(folder / name, NAME)

    observed = _read_3d(folder / "datanobkgsub.txt", template=False)
    require_counts(folder / "datanobkgsub.txt", observed.counts)
    cevns = {key: _read_3d(folder / name) for key, name in CEVNS_FILES.items()}
    brn_variants = {key: _read_3d(folder / name) for key, name in BRN_VARIANT_FILES.items()}
    axes = observed.axes
    projections = {key: _read_projection(folder / name, axes[["energy", "f90", "time"].index(key)])
                   for key, name in PROJECTION_FILES.items()}
    syst = {}
    for key, name in SYST_FILES.items():
        axis = axes[["energy", "f90", "time"].index(key)]
        table = read_table(folder / name, 3, n_rows=axis.size)
        check_grid(folder / name, "bin centres", table[:, 0], axis.centers, atol=1e-4)
        if np.any(table[:, 1:] <= 0):
            raise DataError(f"{folder / name}: the −1σ/+1σ factors must be > 0 (they multiply "
                            f"the prediction), found {float(np.min(table[:, 1:])):g}")
        table.setflags(write=False)
        syst[key] = table

    eff_path = folder / EFFICIENCY_FILE
    eff = read_table(eff_path, 3, n_rows=80)
    check_grid(eff_path, "keVee bin centres", eff[:, 0], np.arange(0.25, 40.0, 0.5))
    if np.any(eff[:, 2] < 0) or np.any(eff[:, 2] > 1):
        raise DataError(f"{eff_path}: acceptance outside [0, 1]")
    eff.setflags(write=False)

    ypath = folder / PARAMETER_FILE
    y = read_flat_yaml(ypath)
    pot = yaml_parameter(y, ypath, "beamExposure", "protons_on_target", unit="")
    from cevns.experiment.source import MAX_POT

    max_pot = MAX_POT["pot_total"] / 1e22  # the largest exposure a Source accepts
    require_value(ypath, "beamExposure.value", pot.value,
                  f"in (0, {max_pot:g}] (protons on target in units of 1e22)",
                  0 < pot.value <= max_pot)
    pot = Parameter(pot.name, pot.value * 1e22, "", pot.uncertainty, source=pot.source +
                    " (13.8 in units of 1e22 POT)")
    distance = yaml_parameter(y, ypath, "distanceToTarget", "distance", unit="m")
    mass = yaml_parameter(y, ypath, "fiducialMass", "detector_mass", unit="kg")
    qf = yaml_subparameters(y, ypath, "larQF", ("a", "b"))
    nu_yield = yaml_parameter(y, ypath, "neutrinosPerProton", "neutrinos_per_proton",
                              unit="nu/flavour/proton")
    resolution = yaml_subparameters(y, ypath, "energyResolution", ("a",))["a"]
    pot_trace = yaml_subparameters(y, ypath, "snsPOTTraceTiming", ("a", "b"))
    norms = {}
    for key, name in (
        ("cevnsBestfitNormalization", "cevns_fitted"),
        ("promptBeamRelatedNeutronBestfitNormalization", "brn_fitted"),
        ("delayedBeamRelatedNeutronBestfitNormalization", "delayed_brn_fitted"),
        ("ssBackgroundBestfitNormalization", "steady_state_fitted"),
        ("cevnsPredictionNormalization", "cevns_predicted"),
        ("promptBeamRelatedNeutronPredictionNormalization", "brn_predicted"),
        ("delayedBeamRelatedNeutronPredictionNormalization", "delayed_brn_predicted"),
        ("ssBackgroundPredictionNormalization", "steady_state_predicted"),
    ):
        norms[name] = yaml_parameter(y, ypath, key, name, unit="events")
    yaml_entry(y, ypath, "acceptanceEfficiency")
    # Numbers whose sign matters downstream (a silent NaN, a negative background or a division
    # by zero otherwise): refused here, naming the file and the field.
    check_baseline(ypath, "distanceToTarget.value", distance.value)
    require_value(ypath, "fiducialMass.value", mass.value, "> 0 (kg)", mass.value > 0)
    require_value(ypath, "larQF.a.value", qf["a"].value,
                  "in [0, 1] (the quenching factor at zero recoil energy)", 0 <= qf["a"].value <= 1)
    require_value(ypath, "neutrinosPerProton.value", nu_yield.value,
                  "> 0 (neutrinos per flavour per proton)", nu_yield.value > 0)
    require_value(ypath, "energyResolution.a.value", resolution.value,
                  "> 0 (the resolution coefficient, keVee^0.5)", resolution.value > 0)
    require_value(ypath, "snsPOTTraceTiming.b.value", pot_trace["b"].value,
                  "> 0 (the width of the proton pulse, ns)", pot_trace["b"].value > 0)
    for key, name, what in (
        ("cevnsPredictionNormalization", "cevns_predicted", "the CEvNS count"),
        ("promptBeamRelatedNeutronPredictionNormalization", "brn_predicted",
         "the prompt beam-related-neutron count"),
        ("delayedBeamRelatedNeutronPredictionNormalization", "delayed_brn_predicted",
         "the delayed beam-related-neutron count"),
        ("ssBackgroundPredictionNormalization", "steady_state_predicted",
         "the steady-state background count"),
    ):
        require_prior(ypath, key, norms[name], what)
    for key, name in (
        ("cevnsBestfitNormalization", "cevns_fitted"),
        ("promptBeamRelatedNeutronBestfitNormalization", "brn_fitted"),
        ("delayedBeamRelatedNeutronBestfitNormalization", "delayed_brn_fitted"),
        ("ssBackgroundBestfitNormalization", "steady_state_fitted"),
    ):
        require_value(ypath, f"{key}.value", norms[name].value,
                      "≥ 0 (a best-fit number of events)", norms[name].value >= 0)

    parameters: dict[str, Parameter] = {
        "exposure": supplementary_parameter(FOLDER, "exposure"),
        "protons_on_target": pot,
        "distance": distance,
        "detector_mass": mass,
        "molar_mass": supplementary_parameter(FOLDER, "molar_mass"),
        "quenching_a": Parameter("quenching_a", qf["a"].value, "", qf["a"].uncertainty,
                                 source=qf["a"].source),
        "quenching_b": Parameter("quenching_b", qf["b"].value, "1/keVnr", qf["b"].uncertainty,
                                 source=qf["b"].source),
        "neutrinos_per_proton": nu_yield,
        "energy_resolution_a": Parameter("energy_resolution_a", resolution.value, "keVee^0.5",
                                         source=resolution.source),
        "pot_mean": Parameter("pot_mean", pot_trace["a"].value * 1e-3, "us",
                              pot_trace["a"].uncertainty * 1e-3
                              if pot_trace["a"].uncertainty is not None else None,
                              source=pot_trace["a"].source + " (440 ns)"),
        "pot_sigma": Parameter("pot_sigma", pot_trace["b"].value * 1e-3, "us",
                               source=pot_trace["b"].source + " (150 ns)"),
        **norms,
    }

    with data_field(ypath, "larQF (a, b)"):
        quenching = LinearQuenchingFactor(qf["a"].value, qf["b"].value)
    with data_field(ypath, "energyResolution.a"):
        smearing = GaussianResolution(resolution.value)
    with data_field(eff_path, "acceptance (column 3)"):
        efficiency = TabulatedEfficiency(tuple(eff[:, 0]), tuple(eff[:, 2]))
    response = EnergyResponse(
        axis=axes[0],
        quenching=quenching,
        smearing=smearing,
        efficiency=efficiency,
        efficiency_variable="true",
        description=(
            "LAr-2020: QF = 0.246 + 0.00078 T (larQF), σ = 0.58 √E (energyResolution), "
            "acceptance CENNS10AnlAEfficiency.txt at the true keVee"
        ),
    )
    with data_field(ypath, "snsPOTTraceTiming (a, b)"):
        timing_model = SNSTimingModel(
            pot_mean=parameters["pot_mean"].value, pot_sigma=parameters["pot_sigma"].value,
            source="LArParametersAnlA.yaml snsPOTTraceTiming",
        )
        prompt, delayed = timing_model.fractions(TIME_EDGES)
    if not (prompt.sum() > 0 and delayed.sum() > 0):
        raise DataError(
            f"{ypath}: snsPOTTraceTiming (a = {pot_trace['a'].value:g} ns, b = "
            f"{pot_trace['b'].value:g} ns) puts no neutrino inside the release's time bins "
            f"({TIME_EDGES[0]:g} to {TIME_EDGES[-1]:g} µs)")
    timing = NeutrinoTiming(
        axes[2], prompt, delayed,
        source="analytic SNS model: Gaussian POT trace (440 ns, 150 ns) ⊗ π and μ decay",
    )

    # Conditional F90 distribution per energy bin from the SM CEvNS prediction; energy bins
    # without predicted CEvNS borrow the last populated bin's distribution.
    by_energy = cevns["nominal"].counts.sum(axis=2)
    psd = np.zeros_like(by_energy)
    last = None
    for i, row in enumerate(by_energy):
        if row.sum() > 0:
            last = row / row.sum()
        if last is None:
            raise DataError(f"{folder / CEVNS_FILES['nominal']}: first energy bin is empty")
        psd[i] = last
    psd.setflags(write=False)

    def component(
        name: str, file: str, description: str, variants: dict[str, Histogram] | None = None
    ) -> BackgroundComponent:
        pred, fit = norms[f"{name}_predicted"], norms[f"{name}_fitted"]
        return BackgroundComponent(
            name=name,
            description=description,
            template=_read_3d(folder / file),
            normalisation=Parameter(name, pred.value, "events", pred.uncertainty,
                                    source=pred.source),
            fitted_normalisation=Parameter(name, fit.value, "events", fit.uncertainty,
                                           source=fit.source),
            shape_variants=variants or {},
        )

    backgrounds = {
        "steady_state": component(
            "steady_state", "bkgpdf.txt",
            "steady-state background from beam-off data (bkgpdf.txt); prior 3154 ± 25"),
        "brn": component(
            "brn", "brnpdf.txt", "prompt beam-related neutrons (brnpdf.txt); prior 497 ± 160",
            brn_variants),
        "delayed_brn": component(
            "delayed_brn", "delbrnpdf.txt",
            "delayed beam-related neutrons (delbrnpdf.txt); prior 33 ± 33"),
    }
    # The released CEvNS PDF is energy × F90 × time: one time distribution everywhere. A user's
    # copy may not be; its time projection is then what the factorised template uses (noted).
    nominal = cevns["nominal"].counts
    time_pdf = nominal.sum(axis=(0, 1)) / nominal.sum()
    factorised = nominal.sum(axis=2)[:, :, None] * time_pdf
    extra_notes: tuple[str, ...] = ()
    if np.max(np.abs(factorised - nominal)) > 1e-4:
        extra_notes = (f"{CEVNS_FILES['nominal']} does not factorise into energy × F90 × time "
                       "(the released one does); cevns_time_pdf is its time projection",)
    time_pdf.setflags(write=False)
    shape_systematics = {}
    for key, (comp, down_key, up_key) in SHAPE_SYSTEMATICS.items():
        if comp == "cevns":
            nom_hist, variants, files = cevns["nominal"], cevns, CEVNS_FILES
            nom_file = CEVNS_FILES["nominal"]
        else:
            nom_hist = backgrounds["brn"].template
            variants, files, nom_file = brn_variants, BRN_VARIANT_FILES, "brnpdf.txt"
        total = nom_hist.counts.sum()
        up, down = variants[up_key], variants[down_key] if down_key else nom_hist
        up, down = (h.with_counts(h.counts * (total / h.counts.sum())) for h in (up, down))
        shape_systematics[key] = ShapeSystematic(
            key, comp, nom_hist, down, up, one_sided=down_key is None,
            source=(f"{files[down_key] if down_key else nom_file} (−1σ), {files[up_key]} (+1σ), "
                    f"nominal {nom_file}"))
    cevns_norm = norms["cevns_predicted"]
    setup = ExperimentSetup(
        exposure=parameters["exposure"],
        protons_on_target=pot,
        neutrinos_per_flavour_per_proton=nu_yield,
        distance=distance,
        detector_mass=mass,
        targets=(("Ar_nat", 1),),
        molar_mass=parameters["molar_mass"],
    )
    release = LAr2020Release(
        name=NAME,
        title="COHERENT CENNS-10 liquid argon, Analysis A (2020): 3-D binned data and PDFs",
        reference=(
            "D. Akimov et al. (COHERENT), Phys. Rev. Lett. 126, 012002 (2021), arXiv:2003.10630; "
            "data release arXiv:2006.12659, doi:10.5281/zenodo.3903810"
        ),
        data_dir=folder,
        parameters=parameters,
        setup=setup,
        observed=observed,
        backgrounds=backgrounds,
        response=response,
        timing=timing,
        psd_fractions=psd,
        analysis_region={"energy": (0.0, 120.0), "f90": (0.5, 0.9), "time": (-0.1, 4.9)},
        notes=(
            "the +1σ BRN timing-mean variant sums to 523.7, not 497 (as released)",
            "the steady-state template sums to 3152 while the YAML prediction is 3154 ± 25",
            "neutrino timing uses the analytic SNS model with the YAML POT trace; the release's "
            "own CEvNS timing is inside cevnspdf.txt",
        ) + extra_notes,
        cevns_templates=cevns,
        cevns_normalisation=Parameter("cevns", cevns_norm.value, "events",
                                      cevns_norm.uncertainty, source=cevns_norm.source),
        cevns_fitted_normalisation=norms["cevns_fitted"],
        projections=projections,
        systematic_bands=syst,
        efficiency_table=eff,
        timing_model=timing_model,
        cevns_time_pdf=time_pdf,
        shape_systematics=shape_systematics,
    )
    validate_experiment(release, ypath,
                        detector=f"fiducialMass, larQF, energyResolution and {EFFICIENCY_FILE}",
                        source="distanceToTarget, beamExposure and neutrinosPerProton")
    return release

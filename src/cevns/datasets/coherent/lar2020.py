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
150 ns) convolved with the π and μ lifetimes, as the YAML describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from cevns.datasets.coherent._common import (
    packaged_data_dir,
    require_counts,
    require_non_negative,
    supplementary_parameter,
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

__all__ = ["LAr2020Release", "Projection1D", "load_lar_2020"]

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
    """

    cevns_templates: dict[str, Histogram] = field(default_factory=dict)
    cevns_normalisation: Parameter
    cevns_fitted_normalisation: Parameter
    projections: dict[str, Projection1D] = field(default_factory=dict)
    systematic_bands: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    efficiency_table: NDArray[np.float64]
    timing_model: SNSTimingModel


def _axes() -> tuple[Axis, Axis, Axis]:
    return (Axis("energy", ENERGY_EDGES, "keVee"), Axis("f90", F90_EDGES, ""),
            Axis("time", TIME_EDGES, "us"))


def _read_3d(path: Path) -> Histogram:
    table = read_table(path, 4, n_rows=N_ROWS_3D)
    axes = _axes()
    grid = np.meshgrid(*(ax.centers for ax in axes), indexing="ij")
    for column, (ax, g) in enumerate(zip(axes, grid, strict=True)):
        check_grid(path, f"{ax.name} bin centres (column {column + 1})", table[:, column],
                   g.ravel(), atol=1e-4)
    counts = table[:, 3].reshape(tuple(ax.size for ax in axes))
    require_non_negative(path, counts, "histogram")
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
        If a file is missing, truncated, of another release or unparsable (message names it).
    """
    folder = Path(data_dir) if data_dir is not None else packaged_data_dir(NAME)
    if not folder.is_dir():
        raise DataError(f"{folder}: directory not found (release {NAME!r})")
    names = ["datanobkgsub.txt", "bkgpdf.txt", "brnpdf.txt", "delbrnpdf.txt",
             *CEVNS_FILES.values(), *BRN_VARIANT_FILES.values(), *PROJECTION_FILES.values(),
             *SYST_FILES.values(), EFFICIENCY_FILE, PARAMETER_FILE]
    for name in names:
        require_file(folder / name, NAME)

    observed = _read_3d(folder / "datanobkgsub.txt")
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

    response = EnergyResponse(
        axis=axes[0],
        quenching=LinearQuenchingFactor(qf["a"].value, qf["b"].value),
        smearing=GaussianResolution(resolution.value),
        efficiency=TabulatedEfficiency(tuple(eff[:, 0]), tuple(eff[:, 2])),
        efficiency_variable="true",
        description=(
            "LAr-2020: QF = 0.246 + 0.00078 T (larQF), σ = 0.58 √E (energyResolution), "
            "acceptance CENNS10AnlAEfficiency.txt at the true keVee"
        ),
    )
    timing_model = SNSTimingModel(
        pot_mean=parameters["pot_mean"].value, pot_sigma=parameters["pot_sigma"].value,
        source="LArParametersAnlA.yaml snsPOTTraceTiming",
    )
    prompt, delayed = timing_model.fractions(TIME_EDGES)
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
    return LAr2020Release(
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
        ),
        cevns_templates=cevns,
        cevns_normalisation=Parameter("cevns", cevns_norm.value, "events",
                                      cevns_norm.uncertainty, source=cevns_norm.source),
        cevns_fitted_normalisation=norms["cevns_fitted"],
        projections=projections,
        systematic_bands=syst,
        efficiency_table=eff,
        timing_model=timing_model,
    )

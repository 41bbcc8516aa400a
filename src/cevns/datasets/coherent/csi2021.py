"""Reader for the COHERENT CsI[Na] full-dataset release (2021/2022).

Release: ancillary files of arXiv:2110.07730, for D. Akimov et al. (COHERENT), Phys. Rev. Lett.
129, 081801 (2022). See ``data/csi-2021/README.md`` for provenance and caveats.

What is read
------------
- unbinned beam-on events of the coincidence (signal) and anti-coincidence (steady-state)
  windows: reconstructed PE and t_rec (µs);
- BRN and NIN energy PDFs (1-PE bins, 0–250 PE, normalised to 1 over PE < 60) and timing PDFs
  (10-ns bins from −0.25 to 6.25 µs, arbitrary normalisation);
- efficiency coefficients (nominal and two ±1σ variants) and scintillation-response coefficients
  (nominal and two pairs of ±1σ variants).

The release has no parameter file: exposure, distance, mass, light yield, gamma smearing, time
efficiency, BRN/NIN normalisation priors and the ν yield come from ``supplementary.toml`` (third-
party transcriptions of the supplementary material, each cited there).

Binning
-------
The README does not state the fit binning. The default is the collaboration's binning of the
PRL (PE edges 0, 8, 12, 16, 20, 24, 32, 40, 50, 60; t_rec edges 0, 0.125, …, 1, 2, 4, 6 µs: 9 × 11
bins over the CEvNS region 0 ≤ PE < 60, 0 ≤ t < 6 µs), :data:`COLLABORATION_PE_EDGES` ×
:data:`COLLABORATION_TIME_EDGES`, transcribed from a third-party reproduction that labels them
"paper binning" (docs/coherent_csi.md). The uniform 4 PE × 0.5 µs binning of earlier versions is
:data:`UNIFORM_PE_EDGES` × :data:`UNIFORM_TIME_EDGES`. :meth:`CsI2021Release.rebin` re-bins the
events and rebuilds every template for any other edges.

Backgrounds
-----------
``steady_state``: anti-coincidence events in the same bins, normalised to their count in the CEvNS
region with a Poisson uncertainty (our choice; the README states none).
``brn`` and ``nin``: energy PDF (re-binned assuming a flat density within 1-PE bins) ⊗ timing PDF
× time efficiency (normalised to 1 over 0–6 µs), scaled to the priors 18.4 ± 4.6 and 5.6 ± 2.0
events in the CEvNS region. That the priors count events after the time efficiency is our reading.

Response and timing
-------------------
T → E_ee by the scintillation polynomial (MeV) → PE ~ Gamma(shape 1 + 9.56 E_ee, mean 13.35 E_ee)
→ efficiency a/(1+exp(−b(x−c))) + d at the reconstructed PE (clipped at 0) → bins. Neutrino
timing: the analytic SNS model of :mod:`cevns.datasets.coherent.timing` (POT pulse 0.44 µs,
0.15 µs, from the LAr-2020 release; the flux file with the collaboration's timing is not in the
copy) times the time efficiency.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.datasets.coherent._common import (
    edges_from_centres,
    rebin_flat,
    release_folder,
    require_non_negative,
    supplementary_parameter,
)
from cevns.datasets.coherent._io import check_grid, read_table, require_file
from cevns.datasets.coherent.containers import (
    Axis,
    BackgroundComponent,
    EventList,
    ExperimentSetup,
    Histogram,
    NeutrinoTiming,
    Parameter,
    Release,
    edges_argument,
)
from cevns.datasets.coherent.response import (
    EnergyResponse,
    GammaPhotoelectrons,
    LogisticEfficiency,
    PolynomialScintillation,
)
from cevns.datasets.coherent.timing import ExponentialTimeEfficiency, SNSTimingModel
from cevns.errors import ConfigError, DataError

__all__ = ["CsI2021Release", "load_csi_2021", "DEFAULT_PE_EDGES", "DEFAULT_TIME_EDGES",
           "COLLABORATION_PE_EDGES", "COLLABORATION_TIME_EDGES", "UNIFORM_PE_EDGES",
           "UNIFORM_TIME_EDGES"]

NAME = "coherent-csi-2021"
FOLDER = "csi-2021"
#: The collaboration's fit binning (PRL 129, 081801 (2022), the PE × t_rec binning of its
#: likelihood and figures, as transcribed by a third-party reproduction; docs/coherent_csi.md):
#: 9 PE bins × 11 t_rec bins over the CEvNS region.
COLLABORATION_PE_EDGES = np.array([0.0, 8.0, 12.0, 16.0, 20.0, 24.0, 32.0, 40.0, 50.0, 60.0])
COLLABORATION_TIME_EDGES = np.array([0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0, 2.0,
                                     4.0, 6.0])
#: The uniform binning of earlier versions (4 PE × 0.5 µs), still available via ``rebin``.
UNIFORM_PE_EDGES = np.arange(0.0, 60.0 + 1e-9, 4.0)
UNIFORM_TIME_EDGES = np.arange(0.0, 6.0 + 1e-9, 0.5)
DEFAULT_PE_EDGES = COLLABORATION_PE_EDGES
DEFAULT_TIME_EDGES = COLLABORATION_TIME_EDGES
#: The CEvNS region of the release text (PE, µs), half-open.
CEVNS_REGION = {"energy": (0.0, 60.0), "time": (0.0, 6.0)}
#: Event counts of the copied files (README table).
N_EVENTS = {"dataBeamOnC.txt": 5142, "dataBeamOnAC.txt": 4890}
EVENT_RANGE = {"energy": (0.0, 250.0), "time": (0.0, 12.0)}
PE_PDF_CENTRES = np.arange(0.5, 250.0, 1.0)
TREC_CENTRES = np.round(np.arange(-0.245, 6.2451, 0.01), 6)

EFFICIENCY_NAMES = ("nominal", "plus_1sigma", "minus_1sigma")
SCINTILLATION_NAMES = ("nominal", "syst0_plus_1sigma", "syst0_minus_1sigma",
                       "syst1_plus_1sigma", "syst1_minus_1sigma")


@dataclass(frozen=True, kw_only=True, repr=False)
class CsI2021Release(Release):
    """The CsI-2021 release (see the module docstring).

    Extra attributes
    ----------------
    coincidence_events, anticoincidence_events : EventList
        All selected events of the two windows (PE < 250, t < 6 µs in these copies).
    anticoincidence : Histogram
        Anti-coincidence events in the analysis binning.
    energy_pdfs : mapping of str to Histogram
        ``"brn"``, ``"nin"``: 1-PE energy PDFs as released (0–250 PE).
    timing_pdfs : mapping of str to Histogram
        ``"brn"``, ``"nin"``: 10-ns timing PDFs as released (arbitrary normalisation).
    efficiency_variants : mapping of str to LogisticEfficiency
        ``"nominal"``, ``"plus_1sigma"``, ``"minus_1sigma"`` (the file labels both systematic
        lines "+1 sigma"; they are the ±1σ pair, see the README).
    scintillation_variants : mapping of str to PolynomialScintillation
        ``"nominal"`` and ``"syst{0,1}_{plus,minus}_1sigma"``.
    time_efficiency : ExponentialTimeEfficiency
        ε(t) of the release.
    timing_model : SNSTimingModel
        The analytic arrival-time model used for :attr:`timing`.
    """

    coincidence_events: EventList
    anticoincidence_events: EventList
    anticoincidence: Histogram
    energy_pdfs: dict[str, Histogram] = field(default_factory=dict)
    timing_pdfs: dict[str, Histogram] = field(default_factory=dict)
    efficiency_variants: dict[str, LogisticEfficiency] = field(default_factory=dict)
    scintillation_variants: dict[str, PolynomialScintillation] = field(default_factory=dict)
    time_efficiency: ExponentialTimeEfficiency
    timing_model: SNSTimingModel

    def rebin(
        self,
        energy_edges: ArrayLike = DEFAULT_PE_EDGES,
        time_edges: ArrayLike = DEFAULT_TIME_EDGES,
        timing_model: SNSTimingModel | None = None,
    ) -> CsI2021Release:
        """The release in another (energy × time) binning, inside 0–250 PE and −0.25–6.25 µs.

        Events are re-binned, templates and timing fractions rebuilt. Normalisations keep
        referring to the CEvNS region (0 ≤ PE < 60, 0 ≤ t < 6 µs), so a binning that covers only
        part of it holds only that part of each background.

        Raises
        ------
        ConfigError
            Naming the argument, for edges that are not a 1-d sequence of ≥ 2 increasing finite
            numbers inside the release's range (text such as ``"0,60"``, booleans, complex
            numbers, dates, a masked array …), or a ``timing_model`` that is not an
            :class:`~cevns.datasets.coherent.timing.SNSTimingModel`.
        """
        if timing_model is not None and not isinstance(timing_model, SNSTimingModel):
            raise ConfigError(f"rebin: timing_model must be an SNSTimingModel, got "
                              f"{type(timing_model).__name__} {timing_model!r}")
        return _build(self, edges_argument(energy_edges, "energy_edges"),
                      edges_argument(time_edges, "time_edges"),
                      timing_model or self.timing_model)


def _read_events(path: Path) -> EventList:
    table = read_table(path, 2, n_rows=N_EVENTS[path.name])
    energy, time = table[:, 0], table[:, 1]
    for values, axis in ((energy, "energy"), (time, "time")):
        lo, hi = EVENT_RANGE[axis]
        if np.any(values < lo) or np.any(values >= hi):
            raise DataError(
                f"{path}: event {axis} outside the release's range [{lo:g}, {hi:g}) "
                f"(min {values.min():g}, max {values.max():g}); file of another release?"
            )
    return EventList(energy, time, source=path.name)


def _read_pdf(path: Path, centres: NDArray[np.float64], unit: str, axis: str) -> Histogram:
    table = read_table(path, 2, n_rows=centres.size)
    check_grid(path, "bin centres", table[:, 0], centres)
    require_non_negative(path, table[:, 1], "PDF")
    if not table[:, 1].sum() > 0:
        raise DataError(f"{path}: PDF is identically zero")
    return Histogram((Axis(axis, edges_from_centres(centres), unit),), table[:, 1])


def _read_coefficient_rows(path: Path, n_rows: int) -> NDArray[np.float64]:
    return read_table(path, 4, n_rows=n_rows)


#: Largest Cs/I recoil at the Michel end point (52.8 MeV), in MeVnr: the scintillation curves
#: must be physical up to it.
_MAX_RECOIL_MEVNR = 0.0472


def _check_efficiency_rows(path: Path, rows: NDArray[np.float64], names) -> None:
    """eff(x) = a/(1 + exp(−b(x − c))) + d rises (b > 0) to its plateau a + d in (0, 1]."""
    for name, (a, b, _c, d) in zip(names, rows, strict=True):
        if not (b > 0 and 0.0 < a + d <= 1.0 + 1e-12):
            raise DataError(f"{path}: efficiency curve {name!r} (a = {a:g}, b = {b:g}, d = {d:g}) "
                            "is not an efficiency: it must rise (b > 0) to a plateau a + d in "
                            "(0, 1]")


def _check_scintillation_rows(path: Path, rows: NDArray[np.float64], names) -> None:
    """E_ee(T) must be > 0, rise with T and stay ≤ T (quenching factor ≤ 1) up to the largest
    recoil."""
    t = np.geomspace(1e-6, _MAX_RECOIL_MEVNR, 2001)
    for name, row in zip(names, rows, strict=True):
        eee = sum(c * t ** (k + 1) for k, c in enumerate(row))
        if not (np.all(eee > 0) and np.all(np.diff(eee) > 0) and np.all(eee <= t)):
            raise DataError(f"{path}: scintillation curve {name!r} (coefficients "
                            f"{', '.join(f'{c:g}' for c in row)}) is not a quenching curve: "
                            f"E_ee(T) must be > 0, rise with T and stay ≤ T for T up to "
                            f"{_MAX_RECOIL_MEVNR:g} MeVnr")


def _check_edges(energy_edges: NDArray, time_edges: NDArray) -> None:
    for name, edges, (lo, hi) in (
        ("energy", energy_edges, (0.0, 250.0)),
        ("time", time_edges, (-0.25, 6.25)),
    ):
        if edges.ndim != 1 or edges.size < 2 or not np.all(np.diff(edges) > 0):
            raise ConfigError(f"{name} edges must be ≥ 2 strictly increasing numbers")
        if edges[0] < lo - 1e-9 or edges[-1] > hi + 1e-9:
            raise ConfigError(
                f"{name} edges {edges[0]:g}…{edges[-1]:g} leave the release's range "
                f"[{lo:g}, {hi:g}]"
            )


def _template(
    release_pdfs: tuple[Histogram, Histogram],
    efficiency_t: ExponentialTimeEfficiency,
    energy_edges: NDArray,
    time_edges: NDArray,
) -> NDArray[np.float64]:
    """Unit-normalised (over the CEvNS region) energy ⊗ time template on the given edges."""
    pe_pdf, t_pdf = release_pdfs
    pe_edges = pe_pdf.axes[0].edges
    pe_frac = rebin_flat(pe_edges, pe_pdf.counts, energy_edges)
    pe_norm = rebin_flat(pe_edges, pe_pdf.counts, np.array(CEVNS_REGION["energy"]))[0]
    t_axis = t_pdf.axes[0]
    weighted = t_pdf.counts * efficiency_t(t_axis.centers)
    t_frac = rebin_flat(t_axis.edges, weighted, time_edges)
    t_norm = rebin_flat(t_axis.edges, weighted, np.array(CEVNS_REGION["time"]))[0]
    return np.multiply.outer(pe_frac / pe_norm, t_frac / t_norm)


def _build(
    base: CsI2021Release | dict, energy_edges: NDArray, time_edges: NDArray,
    timing_model: SNSTimingModel,
) -> CsI2021Release:
    """Bin events and build templates, response and timing for the given edges."""
    _check_edges(energy_edges, time_edges)
    get = base.__getitem__ if isinstance(base, dict) else lambda k: getattr(base, k)
    parameters: dict[str, Parameter] = dict(get("parameters"))
    c_events: EventList = get("coincidence_events")
    ac_events: EventList = get("anticoincidence_events")
    energy_pdfs: dict[str, Histogram] = get("energy_pdfs")
    timing_pdfs: dict[str, Histogram] = get("timing_pdfs")
    eff_t: ExponentialTimeEfficiency = get("time_efficiency")

    observed = c_events.histogram(energy_edges, time_edges)
    anticoincidence = ac_events.histogram(energy_edges, time_edges)
    axes = observed.axes
    n_ss = float(ac_events.count(CEVNS_REGION["energy"], CEVNS_REGION["time"]))

    backgrounds = {
        "steady_state": BackgroundComponent(
            name="steady_state",
            description=(
                "anti-coincidence events (dataBeamOnAC.txt) binned like the data; normalisation "
                "= their count in the CEvNS region with a Poisson uncertainty"
            ),
            template=anticoincidence,
            normalisation=Parameter(
                "steady_state", n_ss, "events (0 <= PE < 60, 0 <= t < 6 us)",
                uncertainty=float(np.sqrt(n_ss)),
                source="dataBeamOnAC.txt (count in the CEvNS region, √N)",
            ),
            reference_total=n_ss,
        )
    }
    for key, label in (("brn", "beam-related (prompt) neutrons"),
                       ("nin", "neutrino-induced neutrons")):
        norm = replace(parameters[f"{key}_normalisation"], name=key)
        shape = _template((energy_pdfs[key], timing_pdfs[key]), eff_t, energy_edges, time_edges)
        backgrounds[key] = BackgroundComponent(
            name=key,
            description=(
                f"{label}: {key}PE.txt ⊗ ({key}Trec.txt × time efficiency), each normalised to "
                "1 over the CEvNS region, × the normalisation prior"
            ),
            template=Histogram(axes, shape * norm.value),
            normalisation=norm,
            reference_total=norm.value,
        )

    if isinstance(base, dict):
        response = EnergyResponse(
            axis=axes[0],
            quenching=get("scintillation_variants")["nominal"],
            smearing=GammaPhotoelectrons(
                light_yield=parameters["light_yield"].value,
                shape_slope_per_kevee=parameters["gamma_smearing_b"].value,
            ),
            efficiency=get("efficiency_variants")["nominal"],
            efficiency_variable="reconstructed",
            description=(
                "CsI-2021: scintRespCoefficients.txt nominal polynomial (MeVnr → MeVee), gamma PE "
                "smearing (LY 13.35 PE/keVee, shape 1 + 9.56 E_ee), effCoefficients.txt nominal "
                "efficiency at the reconstructed PE"
            ),
        )
    else:
        response = replace(base.response, axis=axes[0])
    prompt, delayed = timing_model.fractions(time_edges, efficiency=eff_t)
    timing = NeutrinoTiming(
        axes[1], prompt, delayed,
        source=(f"analytic SNS model (POT pulse mean {timing_model.pot_mean:g} µs, σ "
                f"{timing_model.pot_sigma:g} µs; {timing_model.source}) × time efficiency"),
    )
    region = {
        "energy": (max(0.0, energy_edges[0]), min(60.0, energy_edges[-1])),
        "time": (max(0.0, time_edges[0]), min(6.0, time_edges[-1])),
    }
    fields = dict(
        observed=observed, anticoincidence=anticoincidence, backgrounds=backgrounds,
        response=response, timing=timing, timing_model=timing_model, analysis_region=region,
    )
    if isinstance(base, dict):
        return CsI2021Release(**{**base, **fields})
    return replace(base, **fields)


def load_csi_2021(
    data_dir: str | Path | None = None,
    energy_edges: ArrayLike = DEFAULT_PE_EDGES,
    time_edges: ArrayLike = DEFAULT_TIME_EDGES,
) -> CsI2021Release:
    """Read and validate the CsI-2021 release and bin it.

    Parameters
    ----------
    data_dir : path, optional
        Folder holding the release's files; default: the packaged copy.
    energy_edges, time_edges : array_like
        Analysis binning in PE and µs (default: the collaboration's 9 × 11 bins over 0–60 PE,
        0–6 µs; :data:`UNIFORM_PE_EDGES` × :data:`UNIFORM_TIME_EDGES` for the earlier 4-PE ×
        0.5-µs bins).

    Raises
    ------
    DataError
        If a file is missing, truncated, of another release or unparsable, or holds a number
        that cannot be right (a zero, negative or non-finite exposure, distance, normalisation
        or uncertainty, an all-zero template or PDF, an expected count above 2⁵³); the message
        names the file and the field or line.
    ConfigError
        For ``energy_edges`` or ``time_edges`` that are not bin edges (as :meth:`rebin`).
    """
    folder = release_folder(data_dir, NAME)
    names = ["dataBeamOnC.txt", "dataBeamOnAC.txt", "brnPE.txt", "ninPE.txt", "brnTrec.txt",
             "ninTrec.txt", "effCoefficients.txt", "scintRespCoefficients.txt"]
    for name in names:
        require_file(folder / name, NAME)

    c_events = _read_events(folder / "dataBeamOnC.txt")
    ac_events = _read_events(folder / "dataBeamOnAC.txt")
    if ac_events.count(CEVNS_REGION["energy"], CEVNS_REGION["time"]) == 0:
        raise DataError(f"{folder / 'dataBeamOnAC.txt'}: no events in the CEvNS region (0 ≤ PE < "
                        "60, 0 ≤ t < 6 µs): the steady-state background is normalised to that "
                        "count")
    energy_pdfs = {k: _read_pdf(folder / f"{k}PE.txt", PE_PDF_CENTRES, "PE", "energy")
                   for k in ("brn", "nin")}
    for key, pdf in energy_pdfs.items():
        below_60 = pdf.counts[pdf.axes[0].centers < 60.0].sum()
        if abs(below_60 - 1.0) > 1e-5:
            raise DataError(
                f"{folder / f'{key}PE.txt'}: PDF sums to {below_60:.6g} over PE < 60, not 1"
            )
    timing_pdfs = {k: _read_pdf(folder / f"{k}Trec.txt", TREC_CENTRES, "us", "time")
                   for k in ("brn", "nin")}

    eff_rows = _read_coefficient_rows(folder / "effCoefficients.txt", 3)
    _check_efficiency_rows(folder / "effCoefficients.txt", eff_rows, EFFICIENCY_NAMES)
    efficiency_variants = {
        name: LogisticEfficiency(a=row[0], k=row[1], x0=row[2], offset=row[3])
        for name, row in zip(EFFICIENCY_NAMES, eff_rows, strict=True)
    }
    scint_rows = _read_coefficient_rows(folder / "scintRespCoefficients.txt", 5)
    _check_scintillation_rows(folder / "scintRespCoefficients.txt", scint_rows,
                              SCINTILLATION_NAMES)
    scintillation_variants = {
        name: PolynomialScintillation(tuple(float(c) for c in row))
        for name, row in zip(SCINTILLATION_NAMES, scint_rows, strict=True)
    }

    parameters: dict[str, Parameter] = {}
    for key in ("exposure", "distance", "detector_mass", "molar_mass", "light_yield",
                "gamma_smearing_a", "gamma_smearing_b", "time_efficiency_onset",
                "time_efficiency_rate", "brn_normalisation", "nin_normalisation",
                "neutrinos_per_proton", "protons_on_target", "pot_mean", "pot_sigma"):
        parameters[key] = supplementary_parameter(FOLDER, key)
    for name, row in zip(EFFICIENCY_NAMES, eff_rows, strict=True):
        for coef, value in zip("abcd", row, strict=True):
            parameters[f"efficiency_{name}_{coef}"] = Parameter(
                f"efficiency_{name}_{coef}", float(value), "",
                source=f"effCoefficients.txt ({name})")
    for name, row in zip(SCINTILLATION_NAMES, scint_rows, strict=True):
        for coef, value, unit in zip("abcd", row, ("", "1/MeV", "1/MeV^2", "1/MeV^3"),
                                     strict=True):
            parameters[f"scintillation_{name}_{coef}"] = Parameter(
                f"scintillation_{name}_{coef}", float(value), unit,
                source=f"scintRespCoefficients.txt ({name})")

    time_efficiency = ExponentialTimeEfficiency(
        onset=parameters["time_efficiency_onset"].value,
        rate=parameters["time_efficiency_rate"].value,
    )
    for key, pdf in timing_pdfs.items():
        t_axis = pdf.axes[0]
        weighted = pdf.counts * time_efficiency(t_axis.centers)
        if not rebin_flat(t_axis.edges, weighted, np.array(CEVNS_REGION["time"]))[0] > 0:
            raise DataError(f"{folder / f'{key}Trec.txt'}: PDF is zero inside the CEvNS region "
                            "(0 ≤ t < 6 µs, after the time efficiency): the template is "
                            "normalised there")
    timing_model = SNSTimingModel(
        pot_mean=parameters["pot_mean"].value, pot_sigma=parameters["pot_sigma"].value,
        source="POT trace of the LAr-2020 release (assumed for CsI-2021)",
    )
    setup = ExperimentSetup(
        exposure=parameters["exposure"],
        protons_on_target=parameters["protons_on_target"],
        neutrinos_per_flavour_per_proton=parameters["neutrinos_per_proton"],
        distance=parameters["distance"],
        detector_mass=parameters["detector_mass"],
        targets=(("Cs133", 1), ("I127", 1)),
        molar_mass=parameters["molar_mass"],
    )
    base = dict(
        name=NAME,
        title="COHERENT CsI[Na] full dataset (2021): unbinned beam-on events",
        reference=(
            "D. Akimov et al. (COHERENT), Phys. Rev. Lett. 129, 081801 (2022), "
            "arXiv:2110.07730 (ancillary files)"
        ),
        data_dir=folder,
        parameters=parameters,
        setup=setup,
        notes=(
            "these copies contain no event with t_rec >= 6 us although the release text says "
            "events up to 12 us are included; the CEvNS region is unaffected",
            "snsFlux2D.root (the collaboration's flux and timing) is not in the copy: neutrino "
            "timing uses the analytic SNS model with the LAr-2020 POT trace",
            "exposure, mass, light yield, smearing, time efficiency and BRN/NIN priors are "
            "third-party transcriptions of the supplementary material (supplementary.toml)",
            "the default binning is the collaboration's (PRL), transcribed by a third party; the "
            "README states none",
        ),
        coincidence_events=c_events,
        anticoincidence_events=ac_events,
        energy_pdfs=energy_pdfs,
        timing_pdfs=timing_pdfs,
        efficiency_variants=efficiency_variants,
        scintillation_variants=scintillation_variants,
        time_efficiency=time_efficiency,
    )
    return _build(base, edges_argument(energy_edges, "energy_edges"),
                  edges_argument(time_edges, "time_edges"), timing_model)

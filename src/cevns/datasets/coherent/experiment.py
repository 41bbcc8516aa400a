"""A COHERENT release as a :class:`cevns.experiment.Detector` and a :class:`cevns.experiment.Source`.

The releases are experiments of the same model as the ESS projections (docs/architecture.md,
"The release path"): the rate engine (:func:`cevns.rates.basis_spectra`) computes their signal from

- a :class:`~cevns.experiment.Detector`: the release's target nuclei with their stoichiometry, its
  fiducial mass, and a ``response`` table (:class:`cevns.experiment.response_models.ResponseSpec`)
  holding the release's quenching, photoelectron or Gaussian smearing, efficiency and analysis bins
  in the release's own unit (PE or keVee) — the same pieces as
  :class:`~cevns.datasets.coherent.response.EnergyResponse`, converted to the experiment layer's
  base models;
- a :class:`~cevns.experiment.Source`: the SNS π-DAR source with the release's protons on target,
  ν yield per flavour per proton and baseline (``pot_total``: a finished data period).

The neutrino timing (and the LAr F90 distribution) is not part of the Detector: a Detector takes
one time window, a release fits several time bins. The engine keeps the flavours apart
(``BasisSpectra.counts[term, flavour, nucleus, bin]``), and the fit spreads each flavour's energy
spectrum over the release's time bins with the release's arrival-time fractions
(:meth:`cevns.fits.model.ReleaseModel.fold_energy`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from cevns.errors import DataError
from cevns.experiment import response_models as rm
from cevns.experiment.detector import Detector
from cevns.experiment.source import Source
from cevns.physics.form_factors import LEWIN_SMITH_HELM_SKIN
from cevns.physics.units import fm

if TYPE_CHECKING:
    from cevns.datasets.coherent.containers import Release
    from cevns.datasets.coherent.response import EnergyResponse

__all__ = ["DETECTOR_EXTENT_M", "RELEASE_HELM_SKIN_FM", "release_detector", "release_source", "response_spec"]

#: Helm surface thickness (fm) of the release fits: the Lewin–Smith value
#: (:data:`cevns.physics.form_factors.LEWIN_SMITH_HELM_SKIN`, 0.9 fm), the usual choice for fits to
#: COHERENT data (the ESS presets use 1.0 fm, docs/assumptions.md).
RELEASE_HELM_SKIN_FM = LEWIN_SMITH_HELM_SKIN / fm

#: Size of the active volume along the line of sight (m), for the baseline averaging of the 3+1
#: scenario (docs/sources.md): the estimates the ESS detectors of the same material use
#: (cevns.scenarios.sterile.DETECTOR_SIZE_M, CsI 0.2 m, Ar 0.25 m), which the release fits used
#: before the releases were Detectors. The CsI[Na] crystal (14.6 kg, 4.51 g/cm³) is ≈ 0.15 m
#: across on average, the CENNS-10 fiducial argon (24.4 kg, 1.40 g/cm³) ≈ 0.26 m: order-of-
#: magnitude sizes, next to the 0.3 m production region.
DETECTOR_EXTENT_M = {"Cs": 0.2, "Ar": 0.25}

#: Nominal SNS numbers that only set a steady-state background exposure of the Source (unused by
#: the release fits, whose backgrounds are the releases' own): as the ``sns-*`` presets.
_NOMINAL_BEAM_DAYS = 208.0
_NOMINAL_DUTY_FACTOR = 6e-4


def response_spec(response: EnergyResponse) -> rm.ResponseSpec:
    """The release response as an experiment-layer ``response`` table.

    Threshold and bins are the release's analysis bins in its observable (PE or keVee); the
    pieces are re-validated as the experiment layer's base models (same fields, same numbers).
    """
    edges = tuple(float(x) for x in response.axis.edges)
    unit = response.axis.unit
    return rm.ResponseSpec.model_validate({
        "quenching": response.quenching.model_dump(),
        "smearing": response.smearing.model_dump(),
        "efficiency": response.efficiency.model_dump(),
        "efficiency_variable": response.efficiency_variable,
        "threshold": {"value": edges[0], "unit": unit},
        "bins": {"edges": edges, "unit": unit},
    })


def _element(nucleus_name: str) -> str:
    match = re.match(r"[A-Z][a-z]?", nucleus_name)
    if match is None:  # pragma: no cover - the readers name nuclei of nuclei.toml
        raise DataError(f"cannot read the element of target nucleus {nucleus_name!r}")
    return match.group(0)


def release_detector(release: Release, *, helm_skin_fm: float = RELEASE_HELM_SKIN_FM,
                     response: EnergyResponse | None = None) -> Detector:
    """The release's detector: targets, mass and response (``response``: a variant, e.g. ±1σ).

    The nuclei are the natural elements of the release's targets (Cs133, I127 — both
    mono-isotopic — and Ar_nat); their number follows from the mass and the atomic masses of
    ``nuclei.toml`` (CsI: 259.8099 g/mol against the release's 259.81, 3 × 10⁻⁷).
    """
    setup = release.setup
    targets = tuple({"element": _element(name), "atoms_per_molecule": float(n)}
                    for name, n in setup.targets)
    spec = response_spec(release.response if response is None else response)
    detector = Detector(name=release.name, technology=release.title,
                        citation=release.reference, mass_kg=setup.detector_mass.value,
                        targets=targets, helm_skin_fm=helm_skin_fm, response=spec,
                        default_source=release.name,
                        extent_m=DETECTOR_EXTENT_M.get(targets[0]["element"]))
    names = [nuc.name for nuc, _ in detector.nuclei]
    wanted = [name for name, _ in setup.targets]
    if names != wanted:  # pragma: no cover - guards a new release with isotopic targets
        raise DataError(f"{release.name}: detector nuclei {names} differ from the release's "
                        f"targets {wanted}")
    return detector


def release_source(release: Release) -> Source:
    """The SNS π-DAR source of the release's data period (POT, ν per flavour per POT, baseline)."""
    setup = release.setup
    live = setup.live_time
    return Source(
        name=f"sns ({release.name})", citation=release.reference,
        description=f"SNS π-DAR source of the {release.name} data period",
        baseline_m=setup.distance.value, pot_total=setup.protons_on_target.value,
        nu_per_flavour_per_pot=setup.neutrinos_per_flavour_per_proton.value, run_years=1.0,
        beam_days_per_year=live.value if live is not None and live.unit in ("day", "days")
        else _NOMINAL_BEAM_DAYS,
        duty_factor=_NOMINAL_DUTY_FACTOR)

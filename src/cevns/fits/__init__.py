"""Likelihood fits to the COHERENT data releases (CsI-2017, CsI-2021, LAr-2020).

What to use when
----------------
:func:`fit_release`
    Load a release, build its model and fit one or more parameters; optionally write tables and
    figures (``out=``). The CLI ``cevns fit RELEASE [--parameter NAME …] [--out DIR]`` calls it.
:class:`ReleaseModel`
    The release as a Poisson model: observed counts, the CEvNS signal of any cross-section basis
    (rate engine ⊗ release response ⊗ timing), backgrounds with their priors, the CsI
    anti-coincidence control channel. Build Asimov data with :meth:`ReleaseModel.with_observed`.
:func:`fit_parameter`
    Fit one parameter of a model: adaptive profile scan (batched Newton,
    :func:`cevns.stats.profile_chi2`), 1σ interval and 90 % C.L. limit (:class:`cevns.stats.Profile1D`),
    iminuit global fit as cross-check.
:func:`make_signal_model`
    The expected signal as a function of one parameter (for your own scans).

Parameters (:data:`FIT_PARAMETERS`): ``n_cevns``, ``n_cevns_release`` (LAr: the release's own CEvNS
PDF), ``sin2_theta_w``, ``neutron_radius_fm`` (CsI),
``ngi_scalar_coupling``, ``ngi_vector_coupling``, ``ngi_axial_coupling``, ``ngi_tensor_coupling``
(at ``mediator_mass_MeV``, default 10 MeV) — and every registered scenario's parameter as
``SCENARIO.PARAMETER`` (``dipole.magnetic_moment``, ``ngi.coupling`` …, with ``options=`` and
``fixed=``; :mod:`cevns.fits.scenario_signal`). The likelihood, the nuisances and the results are in
``docs/coherent.md`` ("Fits").

:func:`fit_combined` / :func:`combined_grid` / :func:`combined_chi2` (:mod:`cevns.fits.combined`)
    CsI-2021 + LAr-2020 with a shared SNS flux nuisance: 1-D fits, 2-D Δχ² grids and the χ² at
    any list of points (``cevns fit coherent-combined``; the ``coherent`` overlay of the ESS
    figures).
:func:`comparison_table`
    Our numbers next to the published ones (``published.toml``), as Markdown
    (``cevns fit --table FILE``; ``docs/coherent_fits.md``).

>>> from cevns.fits import fit_release
>>> result = fit_release("coherent-csi-2017", ["n_cevns"], cross_check=False)
>>> 100 < result["n_cevns"].best < 160
True
"""

from __future__ import annotations

from cevns.fits.combined import (
    CombinedFit,
    CombinedResult,
    combined_chi2,
    combined_grid,
    fit_combined,
)
from cevns.fits.fit import (
    DEFAULT_PARAMETERS,
    CrossCheckWarning,
    FitResult,
    MinuitFit,
    ParameterFit,
    fit_parameter,
    fit_release,
    minuit_fit,
    profile,
)
from cevns.fits.model import ENGINE_TO_RELEASE_FLAVOUR, BackgroundTerm, ReleaseModel
from cevns.fits.parameters import (
    FIT_PARAMETERS,
    ParameterSpec,
    SignalModel,
    make_signal_model,
    published_values,
    scenario_signal_model,
    signal_uncertainty,
    sm_signal,
)
from cevns.fits.report import comparison_table, summary_table

__all__ = [
    "DEFAULT_PARAMETERS",
    "ENGINE_TO_RELEASE_FLAVOUR",
    "FIT_PARAMETERS",
    "BackgroundTerm",
    "CombinedFit",
    "CombinedResult",
    "CrossCheckWarning",
    "FitResult",
    "MinuitFit",
    "ParameterFit",
    "ParameterSpec",
    "ReleaseModel",
    "SignalModel",
    "combined_chi2",
    "combined_grid",
    "comparison_table",
    "fit_combined",
    "fit_parameter",
    "fit_release",
    "make_signal_model",
    "minuit_fit",
    "profile",
    "published_values",
    "scenario_signal_model",
    "signal_uncertainty",
    "sm_signal",
    "summary_table",
]

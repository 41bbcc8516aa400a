"""Statistics: Poisson χ² with pulls, batched profiling, intervals, contours and exclusion curves.

This layer knows nothing of physics: it takes arrays of expected counts and returns χ². Arrays may
carry leading grid axes — a signal of shape ``(*grid, n_bins)`` gives a χ² of shape ``grid`` — so a
whole parameter scan is profiled in one call. The mathematics is in ``docs/statistics.md``.

What to use when
----------------
Build the model
    :class:`Component` (expected counts, the name of the nuisance θ that scales it by 1 + θ, and
    optionally the pull width σ of that nuisance), :class:`Channel` (one detector: observed counts
    and its components), :func:`asimov` (Asimov data: the sum of the nominal expected counts).
    For the paper's setup, Eq. (30), :func:`signal_background_channel` makes the channel
    (1 + α) N_sig + (1 + β) N_bkg with σ_α = 10 %, σ_β = 1 % and nuisances ``alpha_<name>``,
    ``beta_<name>`` — independent per detector (this function's default), or a common ``alpha``
    shared by all detectors with ``shared_signal=True`` (one flux normalisation for every ESS
    detector: the default of analysis files, ``[stats] shared_signal``).

Get χ²
    :func:`profile_chi2` (or :meth:`PoissonModel.profile`) minimises over all nuisances at every
    grid point at once (vectorised projected Newton; analytic gradient and Hessian; every
    nuisance bounded by θ ≥ −1 so that no expected count is negative) and returns a
    :class:`ProfileResult` (``.chi2``, ``.nuisances``, ``.status``, ``.chi2_by_channel``).
    Unconverged points are flagged and counted in a :class:`ProfileConvergenceWarning`;
    ``level=`` lets points certainly above that Δχ² stop early ("decided above level").
    Channels are combined by summing their χ²; nuisances with the same name are one parameter.
    :func:`chi2_at` / :meth:`PoissonModel.chi2` evaluate χ² at given nuisance values (no
    profiling); :meth:`PoissonModel.gradient` and :meth:`~PoissonModel.hessian` give the analytic
    derivatives; :func:`poisson_deviance` is the bare Poisson χ² without nuisances.

Shape nuisances
    ``Component(..., shapes={name: (down, up)}, shape_code="polyexp")``: vertical template
    interpolation between ±1σ variants (HistFactory ``histosys``; codes in
    :mod:`cevns.stats.shapes`), unit Gaussian pull, shared by name, profiled with the others.
    ``Component(..., normsys={name: (down, up)})``: a normalisation factor interpolated linearly
    between its ±1σ values, shared by name on top of each component's own nuisance (e.g. one
    flux uncertainty for two detectors; docs/shape-systematics.md).

Coverage and Feldman–Cousins
    :func:`run_toys` (a :class:`ToyModel`: an importable factory of the channels on a POI grid)
    gives a :class:`CoverageResult` — coverage of the 68.3 % / 90 % intervals, bias, pull width —
    from seeded toys run through the scan executors; :func:`fc_critical_values` and
    :func:`fc_interval` build Feldman–Cousins intervals (:mod:`cevns.stats.toys`).

Fit one point with iminuit
    :meth:`PoissonModel.minuit` returns an :class:`iminuit.Minuit` for one grid point (for
    uncertainties, MINOS, or as an independent cross-check of the profiler).

Read off results
    :class:`Profile1D` — one parameter: best fit (parabola-refined), :meth:`Profile1D.interval`
    (pieces with interpolated edges; open edges flagged), plot/CSV. :class:`Scan2D` — two
    parameters: contours (:meth:`Scan2D.contours`), 1D profiles, netCDF/CSV output.
    :func:`exclusion_curve` — (mass, coupling) planes: the smallest excluded coupling per mass.

Levels
    :func:`level_value` turns a preset name (``"1sigma_1dof"`` 1.00, ``"90cl_1dof"`` 2.71,
    ``"1sigma_2dof"`` 2.30, ``"90cl_2dof"`` 4.61, …) or a number into a Δχ² threshold computed
    from the χ² distribution; :func:`chi2_level` does so for any CL and dof. The paper's
    conventions (docs/physics.md#likelihood): Table 3/4 intervals at Δχ² = 1; figures at 90 % C.L.; 2D
    exclusion curves at 4.61 by default, 2.71 (raster scan) as the option.

Example
-------
>>> import numpy as np
>>> from cevns.stats import asimov, signal_background_channel, profile_chi2, Profile1D
>>> signal = np.array([40.0, 30.0, 20.0])              # nominal expected signal per bin
>>> background = np.array([10.0, 10.0, 10.0])
>>> observed = asimov(signal, background)
>>> scale = np.linspace(0.7, 1.3, 61)                   # a rate-scale grid: shape (61, 3)
>>> ch = signal_background_channel("CsI", observed, scale[:, None] * signal, background)
>>> res = profile_chi2([ch])
>>> prof = Profile1D(scale, res.chi2, parameter="scale")
>>> round(prof.best, 3)
1.0
>>> [round(v, 3) for v in prof.interval("1sigma_1dof")[0]]
[0.854, 1.171]
"""

from __future__ import annotations

from cevns.stats.intervals import (
    ExclusionCurve,
    Interval,
    Profile1D,
    Scan2D,
    exclusion_curve,
    finite_delta,
)
from cevns.stats.levels import LEVEL_PRESETS, chi2_level, level_label, level_value
from cevns.stats.likelihood import (
    FREE,
    PAPER_SIGMA_BACKGROUND,
    PAPER_SIGMA_SIGNAL,
    Channel,
    Component,
    PoissonModel,
    asimov,
    chi2_at,
    poisson_deviance,
    signal_background_channel,
)
from cevns.stats.profile import ProfileConvergenceWarning, ProfileResult, profile_chi2
from cevns.stats.toys import CoverageResult, ToyModel, fc_critical_values, fc_interval, run_toys

__all__ = [
    "FREE",
    "LEVEL_PRESETS",
    "PAPER_SIGMA_BACKGROUND",
    "PAPER_SIGMA_SIGNAL",
    "Channel",
    "Component",
    "CoverageResult",
    "ExclusionCurve",
    "Interval",
    "PoissonModel",
    "Profile1D",
    "ProfileConvergenceWarning",
    "ProfileResult",
    "Scan2D",
    "ToyModel",
    "asimov",
    "chi2_at",
    "chi2_level",
    "exclusion_curve",
    "finite_delta",
    "fc_critical_values",
    "fc_interval",
    "level_label",
    "level_value",
    "poisson_deviance",
    "profile_chi2",
    "run_toys",
    "signal_background_channel",
]

"""Scenarios: named physics models with declared parameters, split into strength and shape.

What to use when
----------------
* :func:`get_scenario` — build a scenario by name with its model options, e.g.
  ``get_scenario("ngi", interaction="vector", vector_charge="B-L")``.
* :meth:`Scenario.counts` — expected signal counts of one detector on a grid of parameter values:
  shape parameters (one basis build each, cached; or a cheap recoil-only re-weighting where the
  scenario allows it) × strength parameters (a tensor contraction).
* :func:`register_scenario` — add your own scenario class; analyses can then name it in TOML.

Parameters of a scenario
------------------------
*Strength* parameters enter the cross section polynomially at fixed shape (sin²θ_W, couplings,
magnetic moments, mixings, unitarity factors); *shape* parameters change the kinematics or the
T dependence (neutron radius, mediator mass, sterile mass, Δm²). Every parameter has a default (its
Standard-Model or "off" value), a unit and an allowed range; values outside it are a
:class:`~cevns.errors.ConfigError` that names the parameter.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from cevns.errors import (
    ConfigError,
    UnknownNameError,
    finite_array,
    is_bool,
    not_real_numbers,
)
from cevns.experiment import Detector, Source, as_detector, as_source
from cevns.physics.protocol import CrossSectionBasis
from cevns.plugins import name_problem, record
from cevns.rates import BasisSpectra, basis_spectra


@dataclass(frozen=True)
class Parameter:
    """A scenario parameter.

    Attributes
    ----------
    name : str
        Name used in analysis files, e.g. ``"sin2_theta_w"``, ``"mediator_mass_MeV"``.
    kind : {"strength", "shape"}
        How it enters the cross section (see module docstring).
    default : float
        Standard-Model / "off" value.
    unit : str
        Unit of the values users give (part of the name where it is not dimensionless).
    lower, upper : float or None
        Allowed closed range; ``None`` = unbounded.
    lower_open : bool
        If True the lower bound itself is excluded.
    label : str
        Axis label for plots.
    reason : str
        Why the range is what it is, added to the message of a value outside it (e.g. "the rate
        depends on μ² only: give ``|μ|``").
    upper_is_cap : bool
        The upper bound is a validity cap far above any physical value (a coupling's 4π,
        :data:`~cevns.physics.constants.MAX_COUPLING`; a magnetic moment's 1 μ_B), not a natural
        end of the range: values above it are refused, but a fit neither starts its scan there
        nor hands it to iminuit as a limit (:mod:`cevns.fits`).
    """

    name: str
    kind: Literal["strength", "shape"]
    default: float
    unit: str = ""
    lower: float | None = None
    upper: float | None = None
    lower_open: bool = False
    label: str = ""
    reason: str = ""
    upper_is_cap: bool = False

    def _with_unit(self, value: float) -> str:
        return f"{value:g} {self.unit}" if self.unit else f"{value:g}"

    def range_text(self) -> str | None:
        """The allowed range as a message shows it ("in [0, 1]", "> 0 MeV", "≥ 0"), or ``None``
        for an unbounded parameter."""
        lo, hi = self.lower, self.upper
        if lo is not None and hi is not None:
            return (f"in {'(' if self.lower_open else '['}{lo:g}, {hi:g}]"
                    + (f" {self.unit}" if self.unit else ""))
        if lo is not None:
            return f"{'>' if self.lower_open else '≥'} {self._with_unit(lo)}"
        if hi is not None:
            return f"≤ {self._with_unit(hi)}"
        return None

    @staticmethod
    def _shown(value: float, bound: float) -> str:
        """``value`` as ``:g`` prints it, or in full where that would print the bound it crosses
        without being it (1.0000001 is not "≤ 1, got 1")."""
        short = f"{value:g}"
        return repr(value) if short == f"{bound:g}" and value != bound else short

    def check(self, values) -> np.ndarray:
        """Validate ``values`` against the range; return them as a float array.

        true/false are refused (NumPy would read ``True`` as 1), as are NaN, ±inf and values
        outside the range (the message adds :attr:`reason`).
        """
        if is_bool(values, recurse=True):
            raise ConfigError(f"parameter {self.name}: values must be numbers, got {values!r} "
                              "(true/false is not a number)")
        why = f" ({self.reason})" if self.reason else ""
        name = f"parameter {self.name}: values"
        try:  # a NaN or ±inf is told the range too, as a finite value outside it is
            if isinstance(values, (list, tuple)):
                _numpy_scalars_in_list(values, name)
            arr = finite_array(values, name, numbers="numbers", bounds=self.range_text())
        except ConfigError as err:
            if not why:
                raise
            raise ConfigError(f"{err}{why}") from None
        if self.lower is not None:
            bad = arr <= self.lower if self.lower_open else arr < self.lower
            if np.any(bad):
                op = ">" if self.lower_open else "≥"
                got = self._shown(float(arr[bad].flat[0]), self.lower)
                raise ConfigError(f"parameter {self.name}: values must be {op} "
                                  f"{self._with_unit(self.lower)}, got {got}{why}")
        if self.upper is not None and np.any(arr > self.upper):
            got = self._shown(float(arr[arr > self.upper].flat[0]), self.upper)
            raise ConfigError(f"parameter {self.name}: values must be ≤ "
                              f"{self._with_unit(self.upper)}, got {got}{why}")
        return arr


def _numpy_scalars_in_list(values: list | tuple, name: str) -> None:
    """Refuse NumPy complex, date or duration scalars in a list (``[np.datetime64("2020-01-01")]``,
    ``[np.complex64(0.2)]``): they convert to float without an error (a date as a count of days,
    a complex number as its real part). :func:`cevns.errors.finite_array` judges arrays and NumPy
    scalars by their dtype and leaves lists to the float conversion; a list is judged here by the
    dtype NumPy gives it."""
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError):  # ragged: finite_array says so
        return
    if arr.dtype.kind == "O":  # mixed: [0.2, np.timedelta64(1, "s")]
        for item in arr.flat:
            if isinstance(item, np.generic) and item.dtype.kind in "cmM":
                not_real_numbers(item, name, "numbers")
    elif arr.dtype.kind in "cmM":
        not_real_numbers(arr, name, "numbers")


#: Grids of :meth:`Scenario.counts` with more points than this are checked against the memory
#: limit (``CEVNS_MAX_GRID_BYTES``) before anything is computed.
_CHECKED_GRID_POINTS = 100_000


class Scenario(ABC):
    """Base class of scenarios (see module docstring)."""

    #: registry name
    name: ClassVar[str]
    #: human description
    description: ClassVar[str] = ""
    #: if True, :meth:`coefficients` returns per-flavour coefficients ``(n_terms, n_flavours, *grid)``
    per_flavour: ClassVar[bool] = False

    @property
    @abstractmethod
    def parameters(self) -> dict[str, Parameter]:
        """The scenario's parameters by name."""

    @abstractmethod
    def basis(self, shape: dict[str, float]) -> CrossSectionBasis | tuple[CrossSectionBasis, ...]:
        """Cross-section basis at the given shape-parameter values (all shape params present).

        A tuple of bases stands for their sum, with the terms in order: used where parts of the
        rate have different kinematics (the SM with m₄ = 0 plus an up-scattering term with m₄).
        """

    def basis_for(
        self, shape: dict[str, float], detector: Detector, source: Source
    ) -> CrossSectionBasis | tuple[CrossSectionBasis, ...]:
        """The basis at ``shape`` for one detector at one source; what :meth:`counts` uses.

        The default is :meth:`basis` (most bases do not depend on the experiment). A scenario
        whose basis needs the baseline or the detector's lowest neutrino energy (3+1 oscillations)
        overrides this: everything a result depends on is an argument, never an attribute that one
        call sets and another reads.
        """
        return self.basis(shape)

    @abstractmethod
    def coefficients(self, strength: dict[str, np.ndarray]) -> np.ndarray:
        """Coefficients of the basis terms; arrays broadcast against each other."""

    # --- helpers ------------------------------------------------------------------------------
    def shape_parameters(self) -> list[str]:
        """Names of the shape parameters."""
        return [n for n, p in self.parameters.items() if p.kind == "shape"]

    def strength_parameters(self) -> list[str]:
        """Names of the strength parameters."""
        return [n for n, p in self.parameters.items() if p.kind == "strength"]

    # --- summaries (repr, Jupyter) -------------------------------------------------------------
    def _options_text(self) -> str:
        opts = getattr(self, "options", None)
        if opts is None:
            return ""
        # options models may say which of their fields the chosen variant reads
        # (NGIOptions.read_options): the others would only mislead in a summary
        if callable(getattr(opts, "read_options", None)):
            items = opts.read_options()
        else:
            items = opts.model_dump() if hasattr(opts, "model_dump") else dict(opts)
        return ", ".join(f"{k}={v!r}" for k, v in items.items())

    def _summary_rows(self) -> list[tuple[str, str]]:
        rows = []
        if self.description:
            rows.append(("description", self.description))
        opts = self._options_text()
        if opts:
            rows.append(("options", opts))
        for name, p in self.parameters.items():
            rng = ""
            if p.lower is not None or p.upper is not None:
                lo = "-∞" if p.lower is None else f"{p.lower:g}"
                hi = "∞)" if p.upper is None else f"{p.upper:g}]"
                rng = f", range {'(' if p.lower_open or p.lower is None else '['}{lo}, {hi}"
            unit = f" {p.unit}" if p.unit else ""
            rows.append((name, f"{p.kind}, default {p.default:g}{unit}{rng}"))
        return rows

    def __repr__(self) -> str:
        from cevns._repr import text_summary

        return text_summary(f"{type(self).__name__}({self.name!r})", self._summary_rows())

    def _repr_html_(self) -> str:
        from cevns._repr import html_summary

        return html_summary(f"Scenario {self.name} ({type(self).__name__})", self._summary_rows())

    def check_values(self, detector, source, values: dict) -> None:
        """Refuse parameter ``values`` this scenario cannot compute for ``detector`` at ``source``
        (a :class:`~cevns.errors.KinematicsError` or :class:`~cevns.errors.ConfigError`), e.g. a
        sterile mass no neutrino of the source can produce. Analysis files call it when they are
        read, before anything is computed; :meth:`counts` calls it too, with the detector and
        source resolved and the names of ``values`` checked. The base class accepts everything."""
        return None

    def check_names(self, values: dict) -> None:
        """Unknown parameter names are an error that lists the valid ones."""
        if not isinstance(values, Mapping):
            raise ConfigError(f"parameter values of scenario {self.name!r} are a mapping name → "
                              f"value (parameters: {', '.join(self.parameters)}), got {values!r}")
        for key in values:
            if key not in self.parameters:
                raise UnknownNameError(f"parameter of scenario {self.name!r}", key, self.parameters)

    def reference_basis(self) -> CrossSectionBasis | None:
        """Basis of the recoil re-weighting fast path (``None``: rebuild per shape value).

        A scenario whose shape parameters enter only through functions of the recoil energy
        (a mediator propagator) returns one reference basis here and implements
        :meth:`recoil_factors`; the E integrals are then done once for all shape values.
        """
        return None

    def recoil_factors(self, shape: dict[str, np.ndarray], reference: BasisSpectra,
                       detector: Detector) -> np.ndarray:
        """Factors (n_points, n_terms, n_nuclei, n_nodes) turning the node rates of
        :meth:`reference_basis` into those at the shape points ``shape`` (name → 1-D array)."""
        raise NotImplementedError

    def counts(
        self,
        detector: Detector,
        source: Source,
        values: dict[str, float | np.ndarray],
        *,
        grid: Literal["outer", "broadcast"] = "outer",
    ) -> np.ndarray:
        """Expected signal counts of ``detector`` on a grid of parameter values.

        Parameters
        ----------
        detector, source : Detector or str, Source or str
            What and where: objects, or preset names (``"CsI"``, ``"ess"``) looked up in the
            default catalogue (:func:`cevns.experiment.as_detector`, the rule of every function
            that takes a detector).
        values : dict
            Parameter name → scalar or 1-D array. Missing parameters take their defaults.
        grid : {"outer", "broadcast"}
            ``"outer"``: the result has one axis per array-valued parameter, in the order of
            ``values``; ``"broadcast"``: the arrays are broadcast against each other (points).

        Returns
        -------
        ndarray
            Shape ``(*grid_shape, n_bins)``.

        Raises
        ------
        ConfigError
            A value outside its parameter's range, or not a real number (complex, bool, date or
            duration, masked array); coefficients() returning something other than finite real
            numbers of the right shape (the message names the scenario, the parameter point and,
            for a plug-in, its module); negative or non-finite expected counts.
        """
        if grid not in ("outer", "broadcast"):
            raise ConfigError(f"grid must be 'outer' or 'broadcast', got {grid!r}")
        detector = as_detector(detector, where=f"{self.name}.counts")
        source = as_source(source, where=f"{self.name}.counts")
        self.check_names(values)
        self.check_values(detector, source, values)
        params = self.parameters
        full = {n: values.get(n, p.default) for n, p in params.items()}
        # defaults are not range-checked: NaN may stand for "each nucleus's own default"
        arrays = {n: params[n].check(v) if n in values else np.asarray(v, dtype=float)
                  for n, v in full.items()}
        axes = [n for n in values if np.ndim(arrays[n]) > 0]
        if grid == "outer":
            for n in axes:
                if np.ndim(arrays[n]) != 1:
                    raise ConfigError(f"parameter {n}: an outer grid needs 1-D values")
            shaped = {}
            for i, n in enumerate(axes):
                idx = [1] * len(axes)
                idx[i] = -1
                shaped[n] = arrays[n].reshape(idx)
            for n in full:
                if n not in shaped:
                    shaped[n] = arrays[n]
            arrays = shaped
        try:
            grid_shape = np.broadcast_shapes(*(np.shape(a) for a in arrays.values()))
        except ValueError:
            shapes = ", ".join(f"{n}: {np.shape(arrays[n])}" for n in values
                               if np.ndim(arrays[n]) > 0)
            raise ConfigError(f"scenario {self.name!r}: with grid='broadcast' the parameter "
                              f"arrays must broadcast against each other, got shapes {shapes} "
                              "(grid='outer' makes a grid of every combination)") from None
        points = math.prod(grid_shape)
        if points > _CHECKED_GRID_POINTS:
            from cevns.scan.grid import check_grid_bytes  # lazy: the scan layer is heavy

            axes_text = " × ".join(str(n) for n in grid_shape)
            lead = 2 if self.per_flavour else 1
            check_grid_bytes(points, f"scenario {self.name!r}: a grid of {axes_text}",
                             per_point=8 * (detector.n_bins + 8 * lead))
        shape_names = self.shape_parameters()
        strength = {n: np.broadcast_to(arrays[n], grid_shape) for n in self.strength_parameters()}
        shape_vals = {n: np.broadcast_to(arrays[n], grid_shape) for n in shape_names}
        point_values = {**strength, **shape_vals}
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # checked below
            coeff = self._checked_coefficients(self.coefficients(strength), grid_shape,
                                               point_values)
            out = self._counts_over_shapes(detector, source, shape_vals, coeff, grid_shape)
        if not np.all(np.isfinite(out)):
            given = ", ".join(f"{n} = {np.asarray(v).min():g}…{np.asarray(v).max():g}"
                              if np.ndim(v) else f"{n} = {float(v):g}" for n, v in values.items())
            raise ConfigError(f"scenario {self.name!r}: the expected counts of detector "
                              f"{detector.name} at source {source.name} overflow (not finite) for "
                              f"{given or 'the default parameters'}; an input is far outside its "
                              "physical range")
        if out.size and out.min() < 0:
            self._refuse_negative(out, coeff, detector, source, point_values)
        return out

    # --- checks of what a scenario's own code returns (a plug-in's most likely slips) ----------
    def _origin(self) -> str:
        """`` (module m)`` for a scenario defined outside cevns (a plug-in), else ``""``."""
        module = type(self).__module__
        return "" if module == "cevns" or module.startswith("cevns.") else f" (module {module})"

    @staticmethod
    def _point_text(point_values: dict[str, np.ndarray], index: tuple[int, ...]) -> str:
        """The parameter values at grid ``index``, as ``a = 1, b = 2``."""
        return ", ".join(f"{n} = {float(v[index]):g}" for n, v in point_values.items()) \
            or "the default parameters"

    def _checked_coefficients(self, coeff, grid_shape: tuple[int, ...],
                              point_values: dict[str, np.ndarray]) -> np.ndarray:
        """``coeff`` broadcast to ``(n_terms, [n_flavours,] *grid_shape)``, or a
        :class:`ConfigError` naming the scenario: coefficients that are not real numbers, do not
        fit the grid, or are not finite (a NaN is the scenario's, not an overflow of the user's
        inputs; the message gives the parameter point)."""
        lead = 2 if self.per_flavour else 1
        where = f"scenario {self.name!r}{self._origin()}: coefficients()"
        try:
            arr = np.asarray(coeff)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where} must return an array of numbers, got "
                              f"{type(coeff).__name__} ({exc})") from None
        if arr.dtype.kind not in "biuf":
            raise ConfigError(f"{where} must return real numbers, got an array of {arr.dtype}")
        want = f"(n_terms{', n_flavours' if self.per_flavour else ''}, *grid)"
        if arr.ndim < lead:
            raise ConfigError(f"{where} returned an array of shape {arr.shape}; it must be "
                              f"{want}, one row per basis term")
        finite = arr.dtype.kind != "f" or arr.size == 0 or np.isfinite(arr.min() + arr.max())
        try:
            arr = np.broadcast_to(arr, arr.shape[:lead] + grid_shape)
        except ValueError:
            raise ConfigError(f"{where} returned an array of shape {arr.shape}, which does not "
                              f"broadcast to {want} = {arr.shape[:lead] + grid_shape}; it must "
                              "broadcast against the parameter values it is given") from None
        if not finite:
            bad = ~np.isfinite(arr)
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            value = float(arr[index])
            why = ("" if np.isnan(value) else
                   " (an overflow: is an input far outside the scenario's physical range?)")
            raise ConfigError(f"{where} returned {value} for basis term {index[0]} at "
                              f"{self._point_text(point_values, index[lead:])}{why}; "
                              "coefficients must be finite numbers")
        return arr

    def _refuse_negative(self, out: np.ndarray, coeff: np.ndarray, detector: Detector,
                         source: Source, point_values: dict[str, np.ndarray]) -> None:
        """Negative expected counts (beyond rounding, which :meth:`_contract` sets to 0) are
        refused with the scenario, the parameter point and its coefficients there: terms may
        interfere destructively, but their sum is a rate."""
        lead = 2 if self.per_flavour else 1
        index = tuple(int(i) for i in np.argwhere(out < 0)[0])
        point = index[:-1]
        at = (slice(None),) * lead + point
        c = np.asarray(coeff[at], dtype=float).reshape(-1)
        shown = ", ".join(f"{v:.4g}" for v in c[:8]) + (", …" if c.size > 8 else "")
        raise ConfigError(
            f"scenario {self.name!r}{self._origin()} gives negative expected counts for detector "
            f"{detector.name} at source {source.name}: {out[index]:.6g} in bin {index[-1]} "
            f"({out[point].sum():.6g} in all bins) at {self._point_text(point_values, point)}; "
            f"expected counts must be ≥ 0. Its coefficients() there are [{shown}]: basis terms "
            "may interfere destructively, but their sum is a rate and cannot be negative")

    def _contract(self, c: np.ndarray, per_term: np.ndarray) -> np.ndarray:
        """Σ_j c_j × counts of term j: (n_points, n_bins). A negative result within rounding of
        the terms' magnitudes (exactly cancelling terms) is 0; a larger one is left for
        :meth:`counts` to refuse."""
        if self.per_flavour:
            out = np.einsum("jfs,jfb->sb", c, per_term)
        else:
            out = np.einsum("js,jb->sb", c, per_term.sum(axis=1))
        if out.size and out.min() < 0:
            if self.per_flavour:
                scale = np.einsum("jfs,jfb->sb", np.abs(c), np.abs(per_term))
            else:
                scale = np.einsum("js,jb->sb", np.abs(c), np.abs(per_term).sum(axis=1))
            out = np.where((out < 0) & (-out <= 1e-10 * scale), 0.0, out)
        return out

    def _counts_over_shapes(self, detector, source, shape_vals, coeff, grid_shape):
        lead = 2 if self.per_flavour else 1
        if not shape_vals:
            per_term = self._term_counts(detector, source, {})
            c = coeff.reshape(coeff.shape[:lead] + (-1,))
            self._check_terms(c, per_term)
            return self._contract(c, per_term).reshape(grid_shape + (detector.n_bins,))
        # unique shape points: each needs its own basis (or recoil re-weighting)
        stacked = np.stack([v.reshape(-1) for v in shape_vals.values()], axis=-1)
        uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        names = list(shape_vals)
        flat_coeff = coeff.reshape(coeff.shape[:lead] + (-1,))
        out = np.empty((flat_coeff.shape[-1], detector.n_bins))
        ref_basis = self.reference_basis()
        factors = None
        if ref_basis is not None:
            ref = basis_spectra(detector, source, ref_basis)
            batch = {n: uniq[:, i] for i, n in enumerate(names)}
            factors = self.recoil_factors(batch, ref, detector)
        else:
            per_terms = self._term_counts_many(
                detector, source, [{n: float(uniq[u, i]) for i, n in enumerate(names)}
                                   for u in range(len(uniq))])
        for u in range(len(uniq)):
            sel = np.nonzero(inverse == u)[0]
            if factors is not None:
                per_term = ref.reweighted(factors[u])  # (terms, flavours, bins)
            else:
                per_term = per_terms[u]
            c = flat_coeff[..., sel]
            self._check_terms(c, per_term)
            out[sel] = self._contract(c, per_term)
        return out.reshape(grid_shape + (detector.n_bins,))

    def _term_counts(self, detector, source, point) -> np.ndarray:
        """Counts (n_terms, n_flavours, n_bins) of every basis term at one shape point."""
        bases = self.basis_for(point, detector, source)
        if not isinstance(bases, tuple):
            bases = (bases,)
        return np.concatenate([basis_spectra(detector, source, b).counts.sum(axis=2)
                               for b in bases], axis=0)

    def _term_counts_many(self, detector, source, points: list[dict]) -> list[np.ndarray]:
        """:meth:`_term_counts` at every shape point (a scenario may share work between them)."""
        return [self._term_counts(detector, source, point) for point in points]

    def _check_terms(self, coeff: np.ndarray, per_term: np.ndarray) -> None:
        """Coefficients and basis terms must match one to one (a plug-in's most likely slip)."""
        n_coeff, n_terms = coeff.shape[0], per_term.shape[0]
        bad = n_coeff != n_terms or (self.per_flavour and coeff.shape[1] != per_term.shape[1])
        if bad:
            what = (f"{n_coeff} coefficients for {n_terms} basis terms" if n_coeff != n_terms else
                    f"coefficients for {coeff.shape[1]} flavours, basis for {per_term.shape[1]}")
            raise ConfigError(f"scenario {self.name!r}: coefficients() and basis() do not match: "
                              f"{what}; coefficients() must return one row per basis term "
                              "(per flavour if per_flavour = True)")


_REGISTRY: dict[str, type[Scenario]] = {}


def _registration_problem(cls: object) -> str | None:
    """Why ``cls`` cannot be registered under its name, or None: not a :class:`Scenario`
    subclass, no name, or a name another class already has (a second class named ``"sm"`` would
    silently replace the Standard Model)."""
    if not (isinstance(cls, type) and issubclass(cls, Scenario)):
        return f"expected a cevns.scenarios.Scenario subclass, got {cls!r}"
    own = getattr(cls, "name", None)
    if not isinstance(own, str) or not own:
        return f"scenario class {cls.__qualname__} has no name (set the class attribute name)"
    problem = name_problem(own, "scenario")
    if problem:
        return f"scenario class {cls.__qualname__}: {problem}"
    if "." in own:  # `cevns fit -p SCENARIO.PARAMETER` splits at the first '.'
        return (f"scenario class {cls.__qualname__}: scenario name {own!r} contains '.', which "
                "separates a scenario from its parameter (cevns fit -p SCENARIO.PARAMETER); use "
                "'-' or '_' instead")
    if inspect.isabstract(cls):  # it could not be built: "Can't instantiate abstract class"
        missing = ", ".join(sorted(cls.__abstractmethods__))
        return (f"scenario class {cls.__qualname__} ({own!r}) is abstract: it does not define "
                f"{missing}")
    known = _REGISTRY.get(own)
    if known is not None and known is not cls:
        return (f"scenario name {own!r} is already taken by "
                f"{known.__module__}.{known.__qualname__}; choose another name")
    return None


def register_scenario(cls: type[Scenario]) -> type[Scenario]:
    """Class decorator adding a scenario to the registry under ``cls.name``.

    A name already registered by another class (a built-in one included) is a
    :class:`ConfigError`, as is a name that is not a slug (letters, digits, ``_`` and ``-``; users
    type it and it becomes part of file names) or that contains ``.`` (``cevns fit -p
    SCENARIO.PARAMETER``), and an abstract class (one that does not define ``parameters``,
    ``basis`` and ``coefficients``); registering the same class again changes nothing.
    """
    if getattr(cls, "__module__", None) not in _BUILTIN_MODULES:
        _import_builtins()  # a user's class named like a built-in one is refused, not replaced later
    problem = _registration_problem(cls)
    if problem:
        raise ConfigError(f"register_scenario: {problem}")
    _REGISTRY[cls.name] = cls
    record("scenario", cls.name, cls)  # an exception in its code is reported as the plug-in's
    return cls


_BUILTIN_MODULES = ("cevns.scenarios.builtin", "cevns.scenarios.sterile")


def _import_builtins() -> None:
    """Import the modules of the built-in scenarios (they register themselves)."""
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


def _load_scenarios() -> dict[str, type[Scenario]]:
    """Built-in scenarios plus those of installed plug-ins (entry-point group ``cevns.scenarios``)."""
    from cevns.plugins import SCENARIO_GROUP, PluginError, load_group

    _import_builtins()

    for name, obj, where in load_group(SCENARIO_GROUP):
        problem = _registration_problem(obj)
        if problem is None and obj.name != name:
            problem = f"the entry-point name must equal the scenario's name {obj.name!r}"
        if problem:
            raise PluginError(f"{where}: {problem}")
        _REGISTRY[name] = obj
    return _REGISTRY


def scenario_names() -> list[str]:
    """Names of the registered scenarios (built-in, registered in code, and plug-ins)."""
    return sorted(_load_scenarios())


def get_scenario(name: str, /, **options) -> Scenario:
    """Build the scenario ``name`` with its model options.

    Options the class cannot take, and ``parameters`` that are not a dict name →
    :class:`Parameter`, are a :class:`ConfigError` naming the scenario (a plug-in's slips)."""
    registry = _load_scenarios()
    if name not in registry:
        raise UnknownNameError("scenario", name, registry)
    cls = registry[name]
    _check_options(name, cls, options)
    scenario = cls(**options)
    params = scenario.parameters
    if not (isinstance(params, Mapping) and all(isinstance(k, str) and isinstance(p, Parameter)
                                                for k, p in params.items())):
        raise ConfigError(f"scenario {name!r}{scenario._origin()}: parameters must be a dict "
                          f"name → cevns.scenarios.Parameter, got {params!r:.80}")
    return scenario


def _check_options(name: str, cls: type[Scenario], options: dict) -> None:
    """Options a scenario class cannot take are a :class:`ConfigError` naming the scenario (a
    plug-in class without ``__init__`` takes none); a class taking ``**options`` checks them
    itself."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # no signature to read: the class checks them
        return
    try:
        signature.bind(**options)
    except TypeError as exc:
        given = ", ".join(options) or "none"
        if not signature.parameters:
            raise ConfigError(f"scenario {name!r} takes no options (got {given})") from None
        raise ConfigError(f"scenario {name!r} cannot take the options given ({given}): {exc}; "
                          f"it is built as {cls.__qualname__}{signature}") from None


def outer_product_points(values: dict[str, np.ndarray]) -> list[dict[str, float]]:
    """All points of an outer grid as dicts (for reference loops in tests and benchmarks)."""
    names = list(values)
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(np.atleast_1d(values[n]) for n in names))]

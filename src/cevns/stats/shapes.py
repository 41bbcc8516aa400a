"""Shape nuisances: vertical template interpolation between ±1σ variants (HistFactory conventions).

A shape systematic is a nominal template ``nom`` and two variants ``up`` and ``down`` (the
expected counts per bin with the systematic at +1σ and −1σ). Its nuisance parameter α (a standard
normal pull, penalty α²) moves the expectation between them, bin by bin. The interpolation codes
are those of HistFactory (K. Cranmer et al., CERN-OPEN-2012-016) as implemented by pyhf, with
δ₊ = up − nom, δ₋ = nom − down, r₊ = up/nom, r₋ = down/nom:

``"linear"`` (code 0, additive; the classic ``histosys``)
    Δ(α) = α δ₊ for α ≥ 0, α δ₋ for α < 0. Continuous, but its slope jumps at α = 0 when
    δ₊ ≠ δ₋, which slows Newton profiling.
``"polynomial"`` (code 4p, additive; the default here)
    Δ(α) = α S + A (15α² − 10α⁴ + 3α⁶) for ``|α|`` ≤ 1 with S = (δ₊ + δ₋)/2, A = (δ₊ − δ₋)/16, linear as
    code 0 outside: equal to code 0 at α = 0, ±1 and for ``|α|`` ≥ 1, with continuous first and second
    derivatives everywhere.
``"exponential"`` (code 1, multiplicative; the classic ``normsys``)
    f(α) = r₊^α for α ≥ 0, r₋^(−α) for α < 0: never negative.
``"polyexp"`` (code 4, multiplicative)
    as code 1 for ``|α|`` ≥ 1, a sixth-order polynomial inside matching value, first and second
    derivative at α = ±1 (and f(0) = 1).

Several systematics combine as μ(α) = (nom + Σ_additive Δ_k(α_k)) · Π_multiplicative f_m(α_m).

**Shape-only systematics** (``conserve_total=True``). A per-bin multiplicative interpolation does
not conserve the template's total between the variants: even when up and down have the nominal
total T, Σ nom·f(α) < T for 0 < ``|α|`` < 1 wherever the ratios vary from bin to bin (each bin's
factor is convex in α, roughly r^α; for code 1, Σ nom r^α ≤ T by Hölder's inequality), and it
grows beyond T for ``|α|`` > 1. A nuisance meant to move events between bins then also changes the
component's normalisation, which a fitted normalisation (a signal strength) absorbs: a bias.
With ``conserve_total`` the factor of a multiplicative code is divided by its nominal-weighted
mean, g(α) = f(α) · T / Σ_b nom_b f_b(α), so this nuisance alone never changes the component's
total (at α = ±1 the template is the variant rescaled to T). For the additive codes the variants
are rescaled to the nominal total before interpolating; Δ(α) then sums to zero at every α
exactly. Several shape-only nuisances of one component each conserve the total; their product
does so exactly when their ratios factorise (e.g. one depends on energy, the other on time),
otherwise to second order in the α's. Use it for variants that are shape variants (the released
ones, or rate-preserving by construction); leave it off where a variant's change of the total is
the physics of the systematic.
:class:`ShapeSystematics` evaluates μ with its gradient and Hessian in α for a batch of points
(shapes ``(n_points, n_bins)``, ``(n_points, n_k, n_bins)``, ``(n_points, n_k, n_k, n_bins)``), the
inputs of a Newton step of the Poisson likelihood. Values are checked against pyhf's
interpolators and the derivatives against finite differences in ``tests/stats/test_shapes.py``.

Additive codes can drive a bin below zero for large ``|α|``; :meth:`ShapeSystematics.evaluate` does not
clip (that would hide a modelling problem) — the likelihood must reject or bound such points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cevns.errors import ConfigError

Interpolation = Literal["linear", "polynomial", "exponential", "polyexp"]
ADDITIVE = ("linear", "polynomial")
MULTIPLICATIVE = ("exponential", "polyexp")
_CODES = ADDITIVE + MULTIPLICATIVE


def _as_template(name: str, what: str, values: ArrayLike, n_bins: int | None) -> NDArray:
    arr = np.array(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ConfigError(f"shape systematic {name!r}: {what} must be a non-empty 1-D array of "
                          f"counts per bin, got shape {arr.shape}")
    if n_bins is not None and arr.size != n_bins:
        raise ConfigError(f"shape systematic {name!r}: {what} has {arr.size} bins, the nominal "
                          f"template {n_bins}")
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"shape systematic {name!r}: {what} contains NaN or inf")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class ShapeVariation:
    """One shape systematic: its ±1σ templates and interpolation code (module docstring)."""

    name: str
    up: NDArray[np.float64]
    down: NDArray[np.float64]
    interpolation: Interpolation = "polynomial"
    #: shape only: the interpolated template keeps the nominal total at every α (module docstring)
    conserve_total: bool = False

    def __post_init__(self) -> None:
        if self.interpolation not in _CODES:
            raise ConfigError(f"shape systematic {self.name!r}: unknown interpolation "
                              f"{self.interpolation!r}; valid choices: {', '.join(_CODES)}")
        if not isinstance(self.conserve_total, bool | np.bool_):
            raise ConfigError(f"shape systematic {self.name!r}: conserve_total must be True or "
                              f"False, got {self.conserve_total!r}")
        up = _as_template(self.name, "up", self.up, None)
        object.__setattr__(self, "up", up)
        object.__setattr__(self, "down", _as_template(self.name, "down", self.down, up.size))

    @property
    def multiplicative(self) -> bool:
        """True for the exponential codes (a factor on the expectation), False for additive ones."""
        return self.interpolation in MULTIPLICATIVE


def _additive(code: str, nom, up, down, a):
    """Δ, Δ', Δ'' for additive codes; ``a`` has shape (n_points, 1), templates (n_bins,)."""
    d_up, d_dn = up - nom, nom - down
    lin = np.where(a >= 0, a * d_up, a * d_dn)
    slope = np.where(a >= 0, d_up, d_dn)
    if code == "linear":
        return lin, np.broadcast_to(slope, lin.shape), np.zeros_like(lin)
    s, amp = 0.5 * (d_up + d_dn), (d_up - d_dn) / 16.0
    a2 = a * a
    inside = np.abs(a) <= 1.0
    val = np.where(inside, a * s + amp * a2 * (15.0 - 10.0 * a2 + 3.0 * a2 * a2), lin)
    d1 = np.where(inside, s + amp * a * (30.0 - 40.0 * a2 + 18.0 * a2 * a2), slope)
    d2 = np.where(inside, amp * (30.0 - 120.0 * a2 + 90.0 * a2 * a2), 0.0)
    return val, d1, d2


def _log_ratios(var: ShapeVariation, nom: NDArray) -> tuple[NDArray, NDArray]:
    """ln(up/nom), ln(down/nom) per bin; bins empty in all three templates get 0 (factor 1)."""
    empty = (nom == 0) & (var.up == 0) & (var.down == 0)
    bad = ~empty & ((nom <= 0) | (var.up <= 0) | (var.down <= 0))
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ConfigError(
            f"shape systematic {var.name!r} ({var.interpolation}): multiplicative interpolation "
            f"needs positive nominal, up and down counts; bin {i} has nom={nom[i]:g}, "
            f"up={var.up[i]:g}, down={var.down[i]:g}")
    with np.errstate(divide="ignore", invalid="ignore"):
        lu = np.where(empty, 0.0, np.log(np.where(empty, 1.0, var.up / np.where(empty, 1, nom))))
        ld = np.where(empty, 0.0, np.log(np.where(empty, 1.0, var.down / np.where(empty, 1, nom))))
    return lu, ld


def _polyexp_coefficients(lu: NDArray, ld: NDArray) -> NDArray:
    """Coefficients a₁…a₆ (6, n_bins) of the code-4 polynomial f = 1 + Σ aᵢ αⁱ on ``|α|`` < 1."""
    i = np.arange(1, 7)
    rows = [np.ones(6), (-1.0) ** i, i, i * (-1.0) ** (i - 1), i * (i - 1),
            i * (i - 1) * (-1.0) ** (i - 2)]
    matrix = np.array(rows, dtype=float)
    ru, rd = np.exp(lu), np.exp(ld)
    rhs = np.stack([ru - 1.0, rd - 1.0, ru * lu, -rd * ld, ru * lu * lu, rd * ld * ld])
    return np.linalg.solve(matrix, rhs)


def _multiplicative(code: str, lu, ld, coeff, a):
    """f, f', f'' for multiplicative codes; ``a`` (n_points, 1), log ratios (n_bins,)."""
    lr = np.where(a >= 0, lu, -ld)  # f = exp(α lr) outside / for code 1
    f = np.exp(a * lr)
    d1, d2 = lr * f, lr * lr * f
    if code == "exponential":
        return f, d1, d2
    inside = np.abs(a) < 1.0
    powers = a[:, :1] ** np.arange(7)  # (n_points, 7): α⁰ … α⁶
    i = np.arange(1, 7)
    poly = 1.0 + powers[:, 1:] @ coeff
    dpoly = (i * powers[:, :-1]) @ coeff
    ddpoly = ((i * (i - 1))[1:] * powers[:, :-2]) @ coeff[1:]
    return (np.where(inside, poly, f), np.where(inside, dpoly, d1), np.where(inside, ddpoly, d2))


def rescale_to_total(nominal: NDArray, template: NDArray, what: str) -> NDArray:
    """``template`` rescaled to the total of ``nominal`` along the last (bin) axis, row by row:
    the variants of an additive shape-only nuisance. Rows where the nominal is empty stay."""
    t_nom = nominal.sum(axis=-1, keepdims=True)
    t_var = template.sum(axis=-1, keepdims=True)
    bad = (t_var <= 0) & (t_nom > 0)
    if np.any(bad):
        raise ConfigError(f"{what}: a variant with total ≤ 0 cannot be rescaled to the nominal "
                          "total (conserve_total)")
    scale = np.divide(t_nom, t_var, out=np.ones(np.broadcast_shapes(t_nom.shape, t_var.shape)),
                      where=t_var > 0)
    return template * scale


def total_ratios(total: NDArray, s0: NDArray, *sums: NDArray) -> tuple[NDArray, ...]:
    """c = T/S and each of ``sums`` over S (ρ = S'/S, S''/S), elementwise, from the totals T, the
    sums S = Σ nom f and S', S'' = Σ nom f', Σ nom f'' (any broadcastable shapes). Where S = 0 (an
    empty nominal: nothing to conserve) c = 1 and the ratios are 0."""
    ok = s0 > 0
    c = np.divide(total, s0, out=np.ones(s0.shape), where=ok)
    return c, *(np.divide(s, s0, out=np.zeros(s0.shape), where=ok) for s in sums)


def conserve_ratios(nominal: NDArray, f: NDArray, *derivs: NDArray) -> tuple[NDArray, ...]:
    """c = T/S and, for each of ``derivs`` (f', f''), its row sum over S (ρ = S'/S, S''/S), each of
    shape (m, 1): the quantities of :func:`conserve_total` (same arguments; :func:`total_ratios`)."""
    def rowsum(x):
        return x @ nominal[0] if nominal.shape[0] == 1 else np.einsum("mb,mb->m", x, nominal)

    return tuple(r[:, None] for r in total_ratios(nominal.sum(axis=-1), rowsum(f),
                                                  *(rowsum(d) for d in derivs)))


def conserve_total(nominal: NDArray, f: NDArray, d1: NDArray | None = None,
                   d2: NDArray | None = None):
    """A multiplicative factor made total-conserving, with its first two derivatives in α.

    g = f · T / S with T = Σ_b nom_b and S = Σ_b nom_b f_b (per row; ``nominal`` of shape
    (1 | m, n_bins), ``f``, ``d1`` = f', ``d2`` = f'' of shape (m, n_bins)), so Σ nom g = T:
    g' = c f' + c' f, g'' = c f'' + 2 c' f' + c'' f with c = T/S, c' = −c ρ, c'' = c (2ρ² − S''/S),
    ρ = S'/S. Returns g alone when ``d1`` is None, else (g, g', g''). Checked against finite
    differences in ``tests/stats/test_shapes.py``.
    """
    if d1 is None:
        return conserve_ratios(nominal, f)[0] * f
    c, rho, curv = conserve_ratios(nominal, f, d1, d2)
    c1 = -c * rho
    c2 = c * (2.0 * rho * rho - curv)
    # c f, c f' + c' f and c f'' + 2 c' f' + c'' f with the sums in this order, in place
    g1 = c * d1
    tmp = np.multiply(c1, f)
    g1 += tmp
    g2 = c * d2
    np.multiply(2.0 * c1, d1, out=tmp)
    g2 += tmp
    np.multiply(c2, f, out=tmp)
    g2 += tmp
    return c * f, g1, g2


@dataclass(frozen=True, eq=False)
class ShapeSystematics:
    """A nominal template and its shape systematics (module docstring).

    Parameters
    ----------
    nominal : array_like, shape (n_bins,)
        Expected counts per bin at α = 0.
    variations : sequence of ShapeVariation
        The systematics, in the order of the α vector.
    """

    nominal: NDArray[np.float64]
    variations: tuple[ShapeVariation, ...]
    _logs: tuple = field(init=False, repr=False)

    def __post_init__(self) -> None:
        nom = _as_template("nominal", "nominal", self.nominal, None)
        object.__setattr__(self, "nominal", nom)
        variations = tuple(self.variations)
        names = [v.name for v in variations]
        if len(set(names)) != len(names):
            raise ConfigError(f"shape systematics: names must be unique, got {names}")
        logs = []
        for i, v in enumerate(variations):
            if not isinstance(v, ShapeVariation):
                raise ConfigError(f"shape systematics: expected ShapeVariation, got {v!r}")
            if v.up.size != nom.size:
                raise ConfigError(f"shape systematic {v.name!r}: {v.up.size} bins, the nominal "
                                  f"template {nom.size}")
            if v.conserve_total and not v.multiplicative:
                # additive shape-only: variants at the nominal total, then ΣΔ(α) = 0 exactly
                what = f"shape systematic {v.name!r}"
                v = ShapeVariation(v.name, rescale_to_total(nom, v.up, what),
                                   rescale_to_total(nom, v.down, what), v.interpolation, True)
                variations = (*variations[:i], v, *variations[i + 1:])
            if v.multiplicative:
                lu, ld = _log_ratios(v, nom)
                coeff = _polyexp_coefficients(lu, ld) if v.interpolation == "polyexp" else None
                logs.append((lu, ld, coeff))
            else:
                logs.append(None)
        object.__setattr__(self, "variations", variations)
        object.__setattr__(self, "_logs", tuple(logs))

    @property
    def names(self) -> list[str]:
        """Names of the nuisance parameters, in α order."""
        return [v.name for v in self.variations]

    def __repr__(self) -> str:
        codes = ", ".join(f"{v.name}:{v.interpolation}" + (" (shape only)" * v.conserve_total)
                          for v in self.variations)
        return f"ShapeSystematics({self.nominal.size} bins; {codes})"

    def evaluate(self, alpha: ArrayLike, derivatives: bool = True):
        """Expected counts at nuisance values ``alpha`` (shape ``(n_points, n_k)`` or ``(n_k,)``).

        Returns
        -------
        mu : ndarray, shape (n_points, n_bins)
        jac : ndarray, shape (n_points, n_k, n_bins)
            ∂μ/∂α_k (only if ``derivatives``).
        hess : ndarray, shape (n_points, n_k, n_k, n_bins)
            ∂²μ/∂α_k∂α_l (only if ``derivatives``).
        """
        a = np.asarray(alpha, dtype=float)
        single = a.ndim == 1
        a = np.atleast_2d(a)
        n_k = len(self.variations)
        if a.shape[-1] != n_k or a.ndim != 2:
            raise ConfigError(f"shape systematics: alpha must have shape (n_points, {n_k}), "
                              f"got {np.shape(alpha)}")
        if not np.all(np.isfinite(a)):
            raise ConfigError("shape systematics: alpha contains NaN or inf")
        nom = self.nominal
        n_p, n_b = a.shape[0], nom.size
        vals, d1s, d2s = [], [], []
        for k, var in enumerate(self.variations):
            ak = a[:, k:k + 1]
            if var.multiplicative:
                lu, ld, coeff = self._logs[k]
                v, d1, d2 = _multiplicative(var.interpolation, lu, ld, coeff, ak)
                if var.conserve_total:
                    v, d1, d2 = conserve_total(nom[None, :], v, d1, d2)
            else:
                v, d1, d2 = _additive(var.interpolation, nom, var.up, var.down, ak)
            vals.append(np.broadcast_to(v, (n_p, n_b)))
            d1s.append(np.broadcast_to(d1, (n_p, n_b)))
            d2s.append(np.broadcast_to(d2, (n_p, n_b)))
        mult = [v.multiplicative for v in self.variations]
        base = nom + sum((vals[k] for k in range(n_k) if not mult[k]), np.zeros((n_p, n_b)))
        factor = np.ones((n_p, n_b))
        for k in range(n_k):
            if mult[k]:
                factor = factor * vals[k]
        mu = base * factor
        if not derivatives:
            return mu[0] if single else mu

        def others(skip: tuple[int, ...]):
            out = np.ones((n_p, n_b))
            for k in range(n_k):
                if mult[k] and k not in skip:
                    out = out * vals[k]
            return out

        jac = np.empty((n_p, n_k, n_b))
        hess = np.zeros((n_p, n_k, n_k, n_b))
        for k in range(n_k):
            if mult[k]:
                jac[:, k] = base * d1s[k] * others((k,))
                hess[:, k, k] = base * d2s[k] * others((k,))
            else:
                jac[:, k] = d1s[k] * factor
                hess[:, k, k] = d2s[k] * factor
            for m in range(k + 1, n_k):
                if not (mult[k] or mult[m]):
                    continue
                if mult[k] and mult[m]:
                    h = base * d1s[k] * d1s[m] * others((k, m))
                else:
                    add, mul = (k, m) if mult[m] else (m, k)
                    h = d1s[add] * d1s[mul] * others((mul,))
                hess[:, k, m] = h
                hess[:, m, k] = h
        if single:
            return mu[0], jac[0], hess[0]
        return mu, jac, hess


# --------------------------------------------------------------------------------------------------
# Grid-aware interpolation for the batched profiler (cevns.stats.likelihood): one shape nuisance of
# one component, templates flattened to (1 | G, n_bins) (a row per grid point, or one row shared by
# all), evaluated for α of shape (m, 1). The formulas are those of ShapeSystematics above.

_POSITIVITY_PROBES = np.linspace(-1.0, 1.0, 81)


def _take_rows(arr: NDArray, idx) -> NDArray:
    if idx is None or arr.shape[0] == 1:
        return arr
    return arr[idx]


@dataclass(eq=False)
class FlatInterpolator:
    """Interpolation of one shape nuisance for stacked templates (rows = grid points).

    Built by :func:`flat_interpolator`; :meth:`__call__` returns the additive shift Δ(α) (additive
    codes) or the factor f(α) (multiplicative codes) with its first and second derivative in α.
    """

    code: str
    arrays: tuple[NDArray[np.float64], ...]
    _coeff: NDArray[np.float64] | None = field(default=None, repr=False)

    @property
    def multiplicative(self) -> bool:
        """True for ``"exponential"`` and ``"polyexp"``."""
        return self.code in MULTIPLICATIVE

    def take(self, idx) -> FlatInterpolator:
        """The interpolator restricted to grid rows ``idx`` (itself if it has one shared row)."""
        if idx is None or all(a.shape[0] == 1 for a in self.arrays):
            return self
        return FlatInterpolator(self.code, tuple(_take_rows(a, idx) for a in self.arrays))

    def __call__(self, alpha: NDArray[np.float64]):
        """Value, first and second derivative in α, each of shape (m, n_bins); α of shape (m, 1)."""
        a = alpha
        if self.code == "linear":
            d_up, d_dn = self.arrays
            pos = a >= 0
            slope = np.where(pos, d_up, d_dn)
            return a * slope, slope, np.zeros_like(slope)
        if self.code == "polynomial":
            d_up, d_dn, s, amp = self.arrays
            a2 = a * a
            inside = np.abs(a) <= 1.0
            slope = np.where(a >= 0, d_up, d_dn)
            val = np.where(inside, a * s + amp * a2 * (15.0 - 10.0 * a2 + 3.0 * a2 * a2), a * slope)
            d1 = np.where(inside, s + amp * a * (30.0 - 40.0 * a2 + 18.0 * a2 * a2), slope)
            d2 = np.where(inside, amp * (30.0 - 120.0 * a2 + 90.0 * a2 * a2), 0.0)
            return val, d1, d2
        lu, ld = self.arrays[:2]
        if self.code == "polyexp" and lu.shape[0] == 1:
            value, d1, d2 = self._polyexp_shared(a, derivatives=True)
            return value, d1, d2
        lr = np.where(a >= 0, lu, -ld)
        f, d1, d2 = _exponential(a, lr)
        if self.code == "exponential":
            return f, d1, d2
        c = self.arrays[2:]  # a₁ … a₆, each (1|G, n_bins)
        # Horner for p = 1 + Σ cᵢ αⁱ, p' and p''
        p = c[5]
        dp = 6.0 * c[5]
        ddp = 30.0 * c[5]
        for i in range(4, -1, -1):  # i = index of c (power i + 1)
            p = c[i] + a * p
            if i >= 1:
                ddp = (i + 1) * i * c[i] + a * ddp
            dp = (i + 1) * c[i] + a * dp
        p = 1.0 + a * p
        inside = np.abs(a) < 1.0
        return np.where(inside, p, f), np.where(inside, dp, d1), np.where(inside, ddp, d2)

    def value(self, alpha: NDArray[np.float64]) -> NDArray[np.float64]:
        """The value alone (Δ or f), shape (m, n_bins); α of shape (m, 1)."""
        if self.code == "polyexp" and self.arrays[0].shape[0] == 1:
            return self._polyexp_shared(alpha, derivatives=False)[0]
        return self(alpha)[0]

    def _polyexp_shared(self, a: NDArray[np.float64], derivatives: bool):
        """Code 4 with one template row shared by every α: the polynomial (and its derivatives)
        as one product (powers of α) · (a₁ … a₆), the exponential only for ``|α|`` ≥ 1."""
        coeff = self._stacked()
        m = a.shape[0]
        col = a[:, 0]
        powers = np.vander(col, 7, increasing=True)  # (m, 7): α⁰ … α⁶
        n_out = 3 if derivatives else 1
        rows = np.empty((n_out, m, 6))
        rows[0] = powers[:, 1:]  # αⁱ
        if derivatives:
            rows[1] = _POWERS[1:] * powers[:, :-1]  # i αⁱ⁻¹
            rows[2, :, 0] = 0.0
            rows[2, :, 1:] = (_POWERS[2:] * (_POWERS[2:] - 1)) * powers[:, :-2]  # i (i−1) αⁱ⁻²
        out = _small_product(rows.reshape(n_out * m, 6), coeff).reshape(n_out, m, -1)
        out[0] += 1.0
        outside = np.flatnonzero(~(np.abs(col) < 1.0))
        if outside.size:
            lu, ld = self.arrays[:2]
            ao = a[outside]
            exact = _exponential(ao, np.where(ao >= 0, lu, -ld))
            for j in range(n_out):
                out[j, outside] = exact[j]
        return out

    def _stacked(self) -> NDArray[np.float64]:
        """a₁ … a₆ of a one-row code-4 interpolator as a (6, n_bins) matrix (built once)."""
        if self._coeff is None:
            self._coeff = np.ascontiguousarray(np.concatenate(self.arrays[2:], axis=0))
        return self._coeff


@dataclass(frozen=True)
class LinearFactor:
    """A normalisation factor interpolated linearly between its ±1σ values (a ``normsys`` of
    :class:`cevns.stats.likelihood.Component`; ROOT ``FlexibleInterpVar`` code 0):

        f(α) = 1 + α (up − 1) for α ≥ 0,  1 + α (1 − down) for α < 0.

    The same for every bin and grid row, so its value and derivatives have shape (m, 1) and
    broadcast over the bins. With (down, up) = (1 − σ, 1 + σ) it is 1 + σ α: a Gaussian
    normalisation nuisance θ = σ α.
    """

    down: float
    up: float

    multiplicative = True

    def take(self, idx) -> LinearFactor:
        """Itself: the factor is the same for every grid row."""
        return self

    def __call__(self, alpha: NDArray[np.float64]):
        """Value, first and second derivative in α, each of shape (m, 1); α of shape (m, 1)."""
        slope = np.where(alpha >= 0, self.up - 1.0, 1.0 - self.down)
        return 1.0 + alpha * slope, slope, np.zeros_like(slope)

    def value(self, alpha: NDArray[np.float64]) -> NDArray[np.float64]:
        """The factor alone, shape (m, 1)."""
        return self(alpha)[0]


_POWERS = np.arange(7.0)
_CHUNK = 8


def _small_product(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """a @ b for a (R, K) and b (K, B) with small K, as a stack of (8, K) @ (K, B) products: one
    BLAS call of this size goes multi-threaded, which on a busy machine costs several times the
    CPU it saves; the small products stay on one thread (and beat einsum)."""
    r = a.shape[0]
    pad = (-r) % _CHUNK
    if pad:
        a = np.concatenate([a, np.zeros((pad, a.shape[1]))])
    out = np.matmul(a.reshape(-1, _CHUNK, a.shape[1]), b)
    return out.reshape(-1, b.shape[1])[:r]


def _exponential(a: NDArray[np.float64], lr: NDArray[np.float64]):
    """exp(α lr) and its first two derivatives in α (code 1, and code 4 for ``|α|`` ≥ 1)."""
    # capped far below exp's overflow: far-out probes (|α| ~ 1e11 from a minimiser) get a huge
    # finite factor (e^50 ≈ 5e21 per nuisance, so a product of a dozen stays finite), never
    # inf/NaN; no fit comes near it (|α · ln(up/nominal)| = 50 is tens of σ)
    f = np.exp(np.minimum(a * lr, 50.0))
    return f, lr * f, lr * lr * f


def _shared_row(ratios: NDArray[np.float64], empty: NDArray[np.bool_]) -> NDArray[np.float64] | None:
    """The one row of ratios (1, n_bins) that every row of ``ratios`` (rows, n_bins; > 0) equals
    to rounding (relative 10⁻¹⁴: templates that are one set of per-bin ratios × a per-row
    nominal) in the bins where that row is not empty; None if the rows differ.

    A bin that is empty in a row (nominal, down and up all 0) takes the shared ratio of the rows
    where it is not: the template is 0 there whatever the factor, and so are its derivatives (a
    grid row with no events at all, such as a signal of N = 0, shares the others' row). Bins
    empty in every row keep the factor 1.
    """
    if ratios.shape[0] == 1:
        return ratios
    live = ~empty
    cols = np.arange(ratios.shape[1])
    shared = ratios[np.argmax(live, axis=0), cols]  # from the first row where the bin is live
    shared = np.where(live.any(axis=0), shared, 1.0)[None, :]
    if np.any(live & (np.abs(ratios - shared) > _SHARED_RTOL * shared)):
        return None
    return shared


#: Largest relative difference of the ratios up/nominal, down/nominal between grid rows that
#: still counts as "the same ratios": a few ulp (a quotient of products rounds to ~2 ulp), far
#: below any effect on χ².
_SHARED_RTOL = 1e-14


def flat_interpolator(
    code: str, nominal: NDArray[np.float64], down: NDArray[np.float64],
    up: NDArray[np.float64], what: str,
) -> FlatInterpolator:
    """Precompute the interpolation of one shape nuisance for templates of shape (rows, n_bins).

    ``nominal``, ``down`` and ``up`` are counts (finite, ≥ 0) of equal shape. Multiplicative codes
    need nominal, down and up all > 0 in every bin that is not empty in all three; ``"polyexp"``
    additionally checks that its polynomial stays > 0 on ``|α|`` < 1 (it can dip below zero for
    extreme ratios; use ``"exponential"`` then). ``what`` names the nuisance in error messages.
    """
    if code not in _CODES:
        raise ConfigError(f"{what}: unknown shape_code {code!r}; valid: {', '.join(_CODES)}")
    if code in ADDITIVE:
        d_up, d_dn = up - nominal, nominal - down
        if code == "linear":
            return FlatInterpolator(code, (d_up, d_dn))
        return FlatInterpolator(code, (d_up, d_dn, 0.5 * (d_up + d_dn), (d_up - d_dn) / 16.0))
    empty = (nominal == 0) & (up == 0) & (down == 0)
    bad = ~empty & ((nominal <= 0) | (up <= 0) | (down <= 0))
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ConfigError(
            f"{what} ({code}): multiplicative interpolation needs nominal, down and up > 0 in every "
            f"bin that is not empty in all three; at index {where}: nominal={nominal[where]:g}, "
            f"down={down[where]:g}, up={up[where]:g} (use shape_code='polynomial' or 'linear')")
    # ratios up/nominal and down/nominal, 1 (a factor 1) in bins empty in all three templates
    ratio_up = np.where(empty, 1.0, up) / np.where(empty, 1.0, nominal)
    ratio_down = np.where(empty, 1.0, down) / np.where(empty, 1.0, nominal)
    if ratio_up.ndim == 2:
        # templates that are per-bin ratios × a per-row nominal (a signal that varies over the
        # grid, its variants the same ratios of it) interpolate with one row for all
        shared_u = _shared_row(ratio_up, empty)
        shared_d = _shared_row(ratio_down, empty) if shared_u is not None else None
        if shared_d is not None:
            ratio_up, ratio_down = shared_u, shared_d
    lu, ld = np.log(ratio_up), np.log(ratio_down)
    if code == "exponential":
        return FlatInterpolator(code, (lu, ld))
    shape = lu.shape
    coeff = _polyexp_coefficients(lu.reshape(-1), ld.reshape(-1)).reshape(6, *shape)
    interp = FlatInterpolator(code, (lu, ld, *coeff))
    # positivity depends on each bin's (log up, log down) ratios only: check every distinct pair
    # once (templates that are one nominal × per-bin ratios repeat the same pairs on every grid
    # row), all probes at once
    lu_f, ld_f = lu.reshape(-1), ld.reshape(-1)
    if shape[0] == 1 or np.array_equal(lu, np.broadcast_to(lu[:1], shape)) \
            and np.array_equal(ld, np.broadcast_to(ld[:1], shape)):
        first = np.arange(shape[-1])
    else:
        pairs = np.round(np.stack([lu_f, ld_f], axis=1), 12)
        _, first = np.unique(pairs, axis=0, return_index=True)
    u_lu, u_ld = lu_f[first], ld_f[first]
    u_coeff = _polyexp_coefficients(u_lu, u_ld)
    probe = FlatInterpolator(code, (u_lu[None, :], u_ld[None, :], *u_coeff[:, None, :]))
    f, _, _ = probe(_POSITIVITY_PROBES[:, None])
    if np.any(f <= 0):
        a_i, k = (int(i) for i in np.argwhere(f <= 0)[0])
        where = tuple(int(i) for i in np.unravel_index(int(first[k]), shape))
        raise ConfigError(
            f"{what} (polyexp): the interpolating polynomial is ≤ 0 at α = "
            f"{_POSITIVITY_PROBES[a_i]:+.3f} (row, bin {where}); the down/up ratios are too "
            "extreme for code 4: use shape_code='exponential'")
    return interp

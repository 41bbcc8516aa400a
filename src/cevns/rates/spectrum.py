"""The Standard-Model spectrum of one detector as a result object."""

from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from pathlib import Path
from typing import get_args

import numpy as np

from cevns.errors import ConfigError, check_path_argument, finite_number, is_text
from cevns.experiment import Catalogue, Detector, Source, as_detector, as_source
from cevns.experiment.source import SourceKind
from cevns.physics.basis import SMBasis
from cevns.physics.constants import SIN2_THETA_W
from cevns.physics.cross_sections import check_sin2_theta_w, sm_basis_coefficients
from cevns.physics.flux import FLAVOUR_LABELS, FLAVOURS, PLAIN_FLAVOUR_LABELS
from cevns.physics.units import keV
from cevns.rates.engine import basis_spectra, read_only_array

#: Source kinds a spectrum can come from (:data:`cevns.experiment.source.SourceKind`).
_SOURCE_KINDS = get_args(SourceKind)


#: The array fields of :class:`Spectrum` (read-only, compared with ``np.array_equal``).
_ARRAY_FIELDS = ("edges_keVnr", "signal", "background")


@dataclass(frozen=True, eq=False)
class Spectrum:
    """Expected counts of one detector over a run.

    Immutable: its arrays are read-only (a write raises ``ValueError``; an array given is
    copied, so the caller's own stays writable). Two spectra are equal (``==``) when every field
    is: the arrays element by element, with the same shape and dtype (the ``from_*`` constructors
    rebuild a spectrum exactly). A spectrum is not hashable (it holds arrays).

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
    flavours : tuple of str
        The source's flavours, in the order of ``signal``'s first axis.
    source_kind : {"pi-dar", "tabulated"}
        The kind of source the counts come from (:class:`~cevns.experiment.Source` ``kind``).
        It decides only the flavour labels (:attr:`flavour_labels`): "prompt" and "delayed" are
        the roles of π-DAR flavours, not of a tabulated spectrum's.
    """

    detector: str
    edges_keVnr: np.ndarray
    signal: np.ndarray
    background: np.ndarray
    nuclei: tuple[str, ...]
    run_years: float
    flavours: tuple[str, ...] = FLAVOURS
    source_kind: str = "pi-dar"

    def __post_init__(self):
        if self.source_kind not in _SOURCE_KINDS:
            raise ConfigError(f"source_kind {self.source_kind!r}: valid choices "
                              f"{', '.join(_SOURCE_KINDS)}")
        for name in _ARRAY_FIELDS:
            object.__setattr__(self, name, read_only_array(getattr(self, name)))

    __hash__ = None  # type: ignore[assignment]  # equal spectra hold arrays: no hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spectrum):
            return NotImplemented
        if self is other:
            return True
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name in _ARRAY_FIELDS:
                if a.shape != b.shape or a.dtype != b.dtype or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    def __reduce__(self):
        # rebuilt through the constructor: the arrays of a copy (pickle, copy.copy) are read-only
        return type(self), tuple(getattr(self, f.name) for f in fields(self))

    @property
    def flavour_labels(self) -> dict[str, str]:
        """Human-readable label of each flavour: with its π-DAR role ("prompt ν_μ", "delayed
        ν_e") for a π-DAR source, the plain flavour ("ν_μ") for a tabulated one."""
        table = FLAVOUR_LABELS if self.source_kind == "pi-dar" else PLAIN_FLAVOUR_LABELS
        return {f: table.get(f, f) for f in self.flavours}

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
        """Write the per-bin table as CSV; returns the path.

        A file is written atomically (a temporary file beside it, then renamed; a symbolic link
        is written through); a pipe or device (``/dev/stdout``) is written as it is. A folder, a
        missing folder or a refused write is an :class:`~cevns.errors.OutputError` naming
        ``path``; a ``path`` that is not a file path (str or :class:`pathlib.Path`), or is empty,
        a :class:`~cevns.errors.ConfigError`.
        """
        import io

        from cevns import fsio

        _check_path(path, "Spectrum.to_csv")
        rows = self.to_rows()
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        return fsio.write_file_text(path, buffer.getvalue())

    # --- exports to the Scientific-Python / HEP ecosystem (docs/exports.md) ------------------------
    def to_hist(self, component: str = "signal"):
        """The spectrum as a :class:`hist.Hist` (UHI-compatible histogram).

        Parameters
        ----------
        component : {"signal", "background"}
            ``"signal"``: axes ``flavour`` (:class:`~hist.axis.StrCategory`), ``target``
            (StrCategory, the target nuclei) and ``energy`` (:class:`~hist.axis.Variable`, the
            reconstructed-recoil bin edges in keVnr). ``"background"``: the ``energy`` axis only.

        Returns
        -------
        hist.Hist
            ``Double`` storage: the contents are expected counts (predictions, not sums of
            weighted events), so there is no separate variance to carry. ``metadata`` holds the
            detector, run time and component; go back with :meth:`from_hist`.
        """
        import hist

        energy = hist.axis.Variable(self.edges_keVnr, name="energy",
                                    label="reconstructed recoil energy [keVnr]",
                                    metadata={"units": "keVnr"})
        meta = {"detector": self.detector, "run_years": self.run_years, "component": component,
                "units": "events per bin", "source_kind": self.source_kind}
        if component == "signal":
            h = hist.Hist(hist.axis.StrCategory(list(self.flavours), name="flavour",
                                                label="neutrino flavour"),
                          hist.axis.StrCategory(list(self.nuclei), name="target",
                                                label="target nucleus"),
                          energy, storage=hist.storage.Double(), name="signal",
                          label="expected CEvNS events", metadata=meta)
            h.view(flow=False)[...] = self.signal
        elif component == "background":
            h = hist.Hist(energy, storage=hist.storage.Double(), name="background",
                          label="expected steady-state background events", metadata=meta)
            h.view(flow=False)[...] = self.background
        else:
            raise ConfigError(f"component {component!r}: valid choices signal, background")
        return h

    @classmethod
    def from_hist(cls, signal, background, *, detector: str | None = None,
                  run_years: float | None = None) -> Spectrum:
        """Rebuild a spectrum from the two histograms of :meth:`to_hist` (exact numbers).

        ``detector`` and ``run_years`` default to the histograms' ``metadata``.
        """
        import hist

        for name, h in (("signal", signal), ("background", background)):
            if not isinstance(h, hist.BaseHist):
                raise ConfigError(f"from_hist: {name} must be a hist.Hist written by "
                                  f"Spectrum.to_hist(), got {type(h).__name__}")
        meta = signal.metadata if isinstance(signal.metadata, dict) else {}
        names = [ax.name for ax in signal.axes]
        if names != ["flavour", "target", "energy"]:
            raise ConfigError(f"signal histogram axes {names}: expected ['flavour', 'target', "
                              "'energy'] (as written by Spectrum.to_hist())")
        if [ax.name for ax in background.axes] != ["energy"]:
            raise ConfigError("background histogram must have the single axis 'energy'")
        edges = np.asarray(signal.axes["energy"].edges, dtype=float)
        if not np.array_equal(edges, np.asarray(background.axes["energy"].edges, dtype=float)):
            raise ConfigError("signal and background histograms have different energy edges")
        return cls._checked(
            detector=detector if detector is not None else meta.get("detector"),
            edges_keVnr=edges,
            signal=np.array(signal.values(flow=False), dtype=float),
            background=np.array(background.values(flow=False), dtype=float),
            nuclei=tuple(signal.axes["target"]), flavours=tuple(signal.axes["flavour"]),
            run_years=run_years if run_years is not None else meta.get("run_years"),
            source_kind=meta.get("source_kind", "pi-dar"))

    def to_xarray(self):
        """The spectrum as an :class:`xarray.Dataset` with CF-style attributes.

        Variables ``signal`` (dims ``flavour, target, bin``) and ``background`` (``bin``); the
        coordinate ``energy`` holds the bin centres in keVnr with its CF ``bounds`` variable
        ``energy_bounds`` (``bin, nv``: lower and upper edges). Attributes carry the detector and
        the run time. Go back with :meth:`from_xarray`; ``ds.to_netcdf(path)`` writes a file.
        """
        import xarray as xr

        lo, hi = self.edges_keVnr[:-1], self.edges_keVnr[1:]
        energy_attrs = {"units": "keVnr", "long_name": "reconstructed nuclear-recoil energy "
                        "(bin centre)", "bounds": "energy_bounds"}
        coords = {
            "flavour": ("flavour", list(self.flavours), {"long_name": "neutrino flavour"}),
            "target": ("target", list(self.nuclei), {"long_name": "target nucleus"}),
            "energy": ("bin", 0.5 * (lo + hi), energy_attrs),
            "energy_bounds": (("bin", "nv"), np.stack([lo, hi], axis=1),
                              {"units": "keVnr", "long_name": "bin edges (lower, upper)"}),
        }
        data = {
            "signal": (("flavour", "target", "bin"), np.array(self.signal, dtype=float),
                       {"units": "1", "long_name": "expected CEvNS events per bin"}),
            "background": (("bin",), np.array(self.background, dtype=float),
                           {"units": "1",
                            "long_name": "expected steady-state background events per bin"}),
        }
        attrs = {"detector": self.detector, "run_years": float(self.run_years),
                 "source_kind": self.source_kind,
                 "title": f"CEvNS spectrum of {self.detector}, {self.run_years:g} years",
                 "Conventions": "CF-1.10", "source": "cevns.rates.Spectrum"}
        return xr.Dataset(data, coords=coords, attrs=attrs)

    @classmethod
    def from_xarray(cls, ds) -> Spectrum:
        """Rebuild a spectrum from the Dataset of :meth:`to_xarray` (exact numbers)."""
        import xarray as xr

        if not isinstance(ds, xr.Dataset):
            raise ConfigError(f"from_xarray: expected an xarray.Dataset written by "
                              f"Spectrum.to_xarray(), got {type(ds).__name__}")
        dims = {"signal": ("flavour", "target", "bin"), "background": ("bin",),
                "energy_bounds": ("bin", "nv"), "flavour": ("flavour",), "target": ("target",)}
        missing = [k for k in dims if k not in ds.variables]
        if missing:
            raise ConfigError(f"dataset lacks {missing}; expected a Dataset written by "
                              "Spectrum.to_xarray()")
        for k, expected in dims.items():
            if sorted(ds[k].dims) != sorted(expected):
                raise ConfigError(f"dataset variable {k} has dimensions {ds[k].dims}: expected "
                                  f"{expected} (as written by Spectrum.to_xarray())")
        if ds.sizes["bin"] == 0 or ds.sizes["nv"] != 2:
            raise ConfigError(f"energy_bounds has shape (bin, nv) = ({ds.sizes['bin']}, "
                              f"{ds.sizes['nv']}): expected at least one bin and nv = 2 "
                              "(lower, upper edge)")
        bounds = np.asarray(ds["energy_bounds"].transpose("bin", "nv").values, dtype=float)
        edges = np.append(bounds[:, 0], bounds[-1, 1])
        if not np.array_equal(bounds[1:, 0], bounds[:-1, 1]):
            raise ConfigError("energy_bounds: bins are not contiguous (upper edge ≠ next lower)")
        return cls._checked(
            detector=ds.attrs.get("detector"), edges_keVnr=edges,
            signal=np.asarray(ds["signal"].transpose("flavour", "target", "bin").values,
                              dtype=float),
            background=np.asarray(ds["background"].values, dtype=float),
            nuclei=tuple(str(v) for v in ds["target"].values),
            flavours=tuple(str(v) for v in ds["flavour"].values),
            run_years=ds.attrs.get("run_years"),
            source_kind=ds.attrs.get("source_kind", "pi-dar"))

    def to_dataframe(self):
        """A tidy :class:`pandas.DataFrame`: one row per (component, target, bin).

        Columns ``detector, component, target, bin, lower_keVnr, upper_keVnr, counts``;
        ``component`` is a flavour (``numu``, ``nue``, ``numubar``) or ``background`` (whose
        ``target`` is empty). ``df.attrs`` holds ``run_years``. Pivot for a wide table, e.g.
        ``df.pivot_table(index="bin", columns="component", values="counts", aggfunc="sum")``.
        Go back with :meth:`from_dataframe`.
        """
        import pandas as pd

        n_f, n_k, n_b = self.signal.shape
        b = np.arange(n_b)
        lo, hi = self.edges_keVnr[:-1], self.edges_keVnr[1:]
        comp = np.concatenate([np.repeat(np.asarray(self.flavours, dtype=object), n_k * n_b),
                               np.full(n_b, "background", dtype=object)])
        target = np.concatenate([np.tile(np.repeat(np.asarray(self.nuclei, dtype=object), n_b),
                                         n_f), np.full(n_b, "", dtype=object)])
        bins = np.concatenate([np.tile(b, n_f * n_k), b])
        df = pd.DataFrame({
            "detector": self.detector, "component": comp, "target": target, "bin": bins,
            "lower_keVnr": lo[bins], "upper_keVnr": hi[bins],
            "counts": np.concatenate([np.asarray(self.signal, dtype=float).ravel(),
                                      np.asarray(self.background, dtype=float)]),
        })
        df.attrs = {"detector": self.detector, "run_years": float(self.run_years),
                    "source_kind": self.source_kind, "flavours": list(self.flavours),
                    "targets": list(self.nuclei),
                    "counts": "expected events per bin", "energy": "keVnr"}
        return df

    @classmethod
    def from_dataframe(cls, df, *, run_years: float | None = None,
                       source_kind: str | None = None) -> Spectrum:
        """Rebuild a spectrum from the table of :meth:`to_dataframe` (exact numbers).

        ``run_years`` and ``source_kind`` default to ``df.attrs`` (pandas keeps ``attrs`` in
        memory only; give them when the table was read back from a file; without either the
        source kind is ``"pi-dar"``).
        """
        import pandas as pd

        if not isinstance(df, pd.DataFrame):
            raise ConfigError(f"from_dataframe: expected a pandas.DataFrame written by "
                              f"Spectrum.to_dataframe(), got {type(df).__name__}")
        need = {"detector", "component", "target", "bin", "lower_keVnr", "upper_keVnr", "counts"}
        if not need <= set(df.columns):
            raise ConfigError(f"table lacks columns {sorted(need - set(df.columns))}; expected "
                              "the table of Spectrum.to_dataframe()")
        for column in ("lower_keVnr", "upper_keVnr", "counts"):
            if df[column].to_numpy().dtype.kind not in "iuf":
                raise ConfigError(f"column {column} must hold numbers, got dtype "
                                  f"{df[column].to_numpy().dtype} (text in a CSV column?)")
        detectors = df["detector"].unique()
        if len(detectors) != 1:
            raise ConfigError(f"table holds {len(detectors)} detectors {list(detectors)}; "
                              "select one first")
        is_bkg = (df["component"] == "background").to_numpy()
        if is_bkg.all() or not is_bkg.any():
            raise ConfigError(f"table has no {'signal' if is_bkg.all() else 'background'} rows; "
                              "expected the table of Spectrum.to_dataframe()")
        bins = _bin_indices(df, n_b=int(is_bkg.sum()))
        df = df.assign(bin=bins)  # a copy with integer bins (3.0 → 3)
        bkg = df[is_bkg].sort_values("bin")
        sig = df[~is_bkg]
        # order of the category axes: as written (attrs), else first appearance
        flavours = tuple(df.attrs.get("flavours") or dict.fromkeys(sig["component"]))
        nuclei = tuple(df.attrs.get("targets") or dict.fromkeys(sig["target"]))
        if set(flavours) != set(sig["component"]) or set(nuclei) != set(sig["target"]):
            raise ConfigError("df.attrs flavours/targets do not match the table's rows")
        n_b = len(bkg)
        signal = np.zeros((len(flavours), len(nuclei), n_b))
        f_i = sig["component"].map({f: i for i, f in enumerate(flavours)}).to_numpy()
        k_i = sig["target"].map({k: i for i, k in enumerate(nuclei)}).to_numpy()
        seen = np.zeros(signal.shape, dtype=bool)
        seen[f_i, k_i, sig["bin"].to_numpy()] = True
        if not seen.all():  # no duplicates (_bin_indices), so fewer rows than cells
            f, k, b = np.argwhere(~seen)[0]
            raise ConfigError(f"table lacks the row (component {flavours[f]!r}, target "
                              f"{nuclei[k]!r}, bin {b}); expected one row per flavour, target "
                              "and bin")
        signal[f_i, k_i, sig["bin"].to_numpy()] = sig["counts"].to_numpy(dtype=float)
        edges = np.append(bkg["lower_keVnr"].to_numpy(dtype=float),
                          bkg["upper_keVnr"].to_numpy(dtype=float)[-1])
        spectrum = cls._checked(detector=str(detectors[0]), edges_keVnr=edges, signal=signal,
                                background=bkg["counts"].to_numpy(dtype=float), nuclei=nuclei,
                                flavours=flavours,
                                run_years=run_years if run_years is not None
                                else df.attrs.get("run_years"),
                                source_kind=source_kind if source_kind is not None
                                else df.attrs.get("source_kind", "pi-dar"))
        _check_row_edges(df, bkg)  # after _checked: edges finite and increasing
        return spectrum

    @classmethod
    def _checked(cls, *, detector, edges_keVnr, signal, background, nuclei, flavours,
                 run_years, source_kind="pi-dar") -> Spectrum:
        """Construct after checking shapes and metadata (the ``from_*`` constructors)."""
        if not detector:
            raise ConfigError("detector name missing: pass detector=... (no metadata found)")
        valid = "a finite number of years > 0 (pass run_years=...)"
        if getattr(run_years, "ndim", 0) != 0:  # float() of a one-entry array only warns
            raise ConfigError(f"run_years must be {valid}, got {run_years!r}")
        run_years = finite_number(run_years, "run_years", valid, ok=lambda years: years > 0)
        n_b = len(edges_keVnr) - 1
        if signal.shape != (len(flavours), len(nuclei), n_b) or background.shape != (n_b,):
            raise ConfigError(f"inconsistent shapes: signal {signal.shape}, background "
                              f"{background.shape}, {n_b} bins, {len(flavours)} flavours, "
                              f"{len(nuclei)} targets")
        for what, values in (("edges_keVnr", np.asarray(edges_keVnr, dtype=float)),
                             ("signal", signal), ("background", background)):
            bad = np.argwhere(~np.isfinite(values))
            if bad.size:
                raise ConfigError(f"{what}: must be finite numbers, found "
                                  f"{values[tuple(bad[0])]} at index {tuple(int(i) for i in bad[0])}")
            bad = np.argwhere(values < 0)
            if bad.size:  # counts, and recoil energies, are never negative
                raise ConfigError(f"{what}: must be ≥ 0, found {values[tuple(bad[0])]} at index "
                                  f"{tuple(int(i) for i in bad[0])}")
        edges = np.asarray(edges_keVnr, dtype=float)
        if n_b < 1 or not np.all(np.diff(edges) > 0):
            raise ConfigError(f"edges_keVnr: must increase strictly with at least one bin, got "
                              f"{edges.tolist()[:6]}{' …' if edges.size > 6 else ''}")
        return cls(detector=str(detector), edges_keVnr=np.asarray(edges_keVnr, dtype=float),
                   signal=signal, background=background, nuclei=tuple(nuclei),
                   run_years=float(run_years), flavours=tuple(flavours),
                   source_kind=str(source_kind))

    def plot(self, ax=None, *, sqrt_background: bool = True, **kwargs):
        """Step plot of counts per bin (and √background, as the paper's Fig. 1).

        ``ax``: a matplotlib Axes (default: pyplot's current axes); anything else is a
        :class:`~cevns.errors.ConfigError`.
        """
        import matplotlib.pyplot as plt
        from matplotlib.axes import Axes

        if ax is None:
            ax = plt.gca()
        elif not isinstance(ax, Axes):
            raise ConfigError(f"Spectrum.plot: ax must be a matplotlib Axes (e.g. from "
                              f"plt.subplots()) or None, got {type(ax).__name__} {ax!r}")
        ax.stairs(self.signal_per_bin, self.edges_keVnr, label=f"{self.detector} CEvNS", **kwargs)
        if sqrt_background:
            ax.stairs(np.sqrt(self.background), self.edges_keVnr, linestyle="--",
                      label=f"{self.detector} √SSB")
        ax.set_xlabel("reconstructed recoil energy [keVnr]")
        ax.set_ylabel("events / bin")
        return ax

    def __repr__(self) -> str:
        labels = self.flavour_labels
        flav = ", ".join(f"{labels[f]}: {v:.1f}" for f, v in self.per_flavour.items())
        return (f"Spectrum({self.detector}, {len(self.background)} bins, {self.run_years:g} yr; "
                f"signal {self.total_signal:.1f} ({flav}); background {self.total_background:.1f})")

    def _repr_html_(self) -> str:
        from html import escape

        cells = "".join(f"<td>{v:.1f}</td>" for v in self.per_flavour.values())
        heads = "".join(f"<th>{escape(label)}</th>" for label in self.flavour_labels.values())
        return (f"<table><caption>{escape(self.detector)}: {len(self.background)} bins on "
                f"[{self.edges_keVnr[0]:.4g}, {self.edges_keVnr[-1]:.4g}] keVnr, "
                f"{self.run_years:g} yr</caption>"
                f"<tr><th>detector</th>{heads}<th>signal</th><th>background</th></tr>"
                f"<tr><td>{escape(self.detector)}</td>{cells}<td>{self.total_signal:.1f}</td>"
                f"<td>{self.total_background:.1f}</td></tr></table>")


def _check_path(path: object, where: str) -> None:
    """Refuse, with a :class:`ConfigError`, a ``path`` that is not a file path (str or
    os.PathLike) or is empty (it would mean the working folder)."""
    check_path_argument(path, f"{where}: path")


def _row_name(df, i: int) -> str:
    """``(component 'numu', target 'Cs133', bin 3)``: row ``i`` of a table of
    :meth:`Spectrum.to_dataframe`, as an error message names it."""
    row = df.iloc[i]
    target = "" if row["component"] == "background" else f", target {row['target']!r}"
    return f"(component {row['component']!r}{target}, bin {row['bin']})"


def _bin_indices(df, n_b: int) -> np.ndarray:
    """The ``bin`` column of a table of :meth:`Spectrum.to_dataframe` as integers, or a
    :class:`ConfigError` naming the first row whose bin is not a whole number in 0 … n_b − 1 (one
    bin per background row) or repeats the (component, target, bin) cell of an earlier row."""
    values = df["bin"].to_numpy()
    if values.dtype.kind not in "iuf":
        raise ConfigError(f"column bin must hold bin numbers 0, 1, …, got dtype {values.dtype}")
    ok = (values >= 0) & (values < n_b) & (values == np.floor(values))  # NaN fails all three
    if not ok.all():
        raise ConfigError(f"table row {_row_name(df, int(np.argmin(ok)))}: bin must be a whole "
                          f"number in 0 … {n_b - 1} (the table has {n_b} background rows, one "
                          "per bin)")
    bins = values.astype(int)
    cells = df[["component", "target"]].assign(bin=bins)
    cells.loc[cells["component"] == "background", "target"] = ""  # one background row per bin
    repeated = cells.duplicated().to_numpy()
    if repeated.any():
        raise ConfigError(f"table row {_row_name(df, int(np.argmax(repeated)))}: this "
                          "(component, target, bin) cell appears twice")
    return bins


def _check_row_edges(df, bkg) -> None:
    """Refuse, with a :class:`ConfigError` naming the bins or the row, a table of
    :meth:`Spectrum.to_dataframe` whose edges disagree beyond a relative 1e-9: a background row's
    ``upper_keVnr`` that is not the next bin's ``lower_keVnr`` (a gap or an overlap), or a row
    whose edges are not those of the background row of its bin (``bkg``: the background rows by
    bin)."""
    def close(a, b):
        return np.isclose(a, b, rtol=1e-9, atol=0)

    lower = bkg["lower_keVnr"].to_numpy(dtype=float)
    upper = bkg["upper_keVnr"].to_numpy(dtype=float)
    gap = ~close(upper[:-1], lower[1:])
    if gap.any():
        i = int(np.argmax(gap))
        raise ConfigError(f"background rows: upper_keVnr of bin {i} = {float(upper[i])!r} ≠ "
                          f"lower_keVnr of bin {i + 1} = {float(lower[i + 1])!r}; bins must be "
                          "contiguous")
    bins = df["bin"].to_numpy()
    for column, edge in (("lower_keVnr", lower), ("upper_keVnr", upper)):
        values = df[column].to_numpy(dtype=float)
        bad = ~close(values, edge[bins])
        if bad.any():
            i = int(np.argmax(bad))
            raise ConfigError(f"table row {_row_name(df, i)}: {column} = {float(values[i])!r}, "
                              f"but the background row of bin {bins[i]} has "
                              f"{float(edge[bins[i]])!r}")


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
    det = as_detector(detector, catalogue, where="sm_spectrum")
    src = as_source(det.default_source if source is None else source, catalogue,
                    where="sm_spectrum")
    if np.ndim(check_sin2_theta_w(sin2_theta_w)) != 0:
        raise ConfigError(f"sin2_theta_w must be one number here, got shape {np.shape(sin2_theta_w)}")
    if run_years is not None:
        if is_text(run_years):  # Source.with_run_years would read "3" as 3 years
            raise ConfigError(f"run_years must be a number of years, got the text {run_years!r}")
        src = src.with_run_years(run_years)
    if basis is not None and not isinstance(basis, SMBasis):
        raise ConfigError(f"basis must be an SMBasis (cevns.physics.basis.SMBasis: the "
                          f"form-factor choices) or None, got {type(basis).__name__} {basis!r}")
    bs = basis_spectra(det, src, basis or SMBasis())  # ConfigError if the counts overflow
    coeff = sm_basis_coefficients(sin2_theta_w)
    signal = np.einsum("j,jfkb->fkb", coeff, bs.counts)
    with np.errstate(over="ignore", invalid="ignore"):
        background = det.background_counts(src)
    if not (np.all(np.isfinite(signal)) and np.all(np.isfinite(background))):
        raise ConfigError(f"detector {det.name} at source {src.name}: the expected counts "
                          f"overflow (not finite) for mass_kg = {det.mass_kg:g}, run_years = "
                          f"{src.run_years:g}; an input is far outside its physical range")
    return Spectrum(detector=det.name, edges_keVnr=bs.edges / keV, signal=signal,
                    background=background, nuclei=bs.nuclei,
                    flavours=bs.flavours, run_years=src.run_years, source_kind=src.kind)

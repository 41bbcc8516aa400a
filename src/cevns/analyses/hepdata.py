"""A HEPData submission of reproduced figures and tables (``hepdata-lib``, validated).

:func:`write_hepdata` reads the result folders that ``cevns reproduce`` (or ``cevns run``) writes —
each holds ``config.json`` (the analysis), ``provenance.json`` (the files it wrote) and the result
files — and turns every item into HEPData tables:

=============  ==================================================================================
kind           tables
=============  ==================================================================================
spectra        one per detector: events per reconstructed-recoil bin per flavour, signal, background
event-table    events per detector (one row per detector)
profile        Δχ² along the parameter, one column per detector; the interval / limit table
scan2d         one per netCDF grid (detector, variant): Δχ² on the (x, y) grid
exclusion      one per variant: smallest excluded coupling per mass, one column per detector
               (``-`` where no crossing lies inside the grid)
running        the sin²θ_W(μ) curve; the measurements and the ESS point with their asymmetric
               errors, momentum transfer, running value at that Q, scheme and reference
threshold-     one row per (detector, case): the quantity at the nominal and the raised
study          threshold and their ratio
=============  ==================================================================================

The figure (PNG) of each item is attached to its first table. Numbers are written with
:data:`DIGITS` significant digits. The result is ``submission.yaml`` plus one YAML file per table in
``out_dir/submission/`` and the archive ``out_dir/submission.tar.gz``, checked with
``hepdata-validator``.

Needs the optional extra ``hepdata``: ``pip install 'cevns[hepdata]'``.
"""

from __future__ import annotations

import csv
import json
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cevns.errors import ConfigError, DataError, MissingDependencyError, OutputError
from cevns.fsio import ensure_dir, os_errors

#: significant digits of every number in the tables
DIGITS = 8

_ABSTRACT = ("Numbers behind the figures and tables of 'Probing conventional and new physics at the "
             "ESS with coherent elastic neutrino-nucleus scattering' (arXiv:2501.12443), "
             "regenerated with the cevns package. Asimov sensitivities: Delta chi2 of the "
             "Standard-Model expectation, nuisances profiled.")


@dataclass
class HEPDataOutput:
    """What :func:`write_hepdata` wrote."""

    directory: Path
    submission: Path
    archive: Path | None
    tables: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        arch = f", archive {self.archive.name}" if self.archive else ""
        return (f"HEPDataOutput({len(self.tables)} tables from {len(self.items)} items in "
                f"{self.directory}{arch})")


def require_hepdata() -> None:
    """Raise :class:`MissingDependencyError` now if the ``hepdata`` extra is not installed (so
    that ``cevns reproduce --hepdata`` refuses before computing anything)."""
    from importlib.util import find_spec

    for module, package in (("hepdata_lib", "hepdata-lib"),
                            ("hepdata_validator", "hepdata-validator")):
        if find_spec(module) is None:
            raise MissingDependencyError(
                f"HEPData output needs {package}: pip install 'cevns[hepdata]'")


def _lib():
    import warnings

    try:
        # hepdata-lib adds a warnings filter when imported; keep the process's filters unchanged
        with warnings.catch_warnings():
            import hepdata_lib
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        raise MissingDependencyError(
            "HEPData output needs hepdata-lib: pip install 'cevns[hepdata]'") from exc
    return hepdata_lib


def _read_csv(path: Path) -> list[dict[str, str]]:
    with os_errors(path, "read"), open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _number(text: str):
    """float of a CSV cell; ``"-"`` (HEPData's missing value) for empty / NaN cells."""
    if text is None or text == "":
        return "-"
    try:
        v = float(text)
    except ValueError:
        return text
    return "-" if not np.isfinite(v) else v


def _is_numeric(values: list[str]) -> bool:
    for v in values:
        if v in ("", None):
            continue
        try:
            float(v)
        except ValueError:
            return False
    return True


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


class _Builder:
    """Collects the tables of one submission."""

    def __init__(self):
        self.lib = _lib()
        self.sub = self.lib.Submission()
        self.sub.comment = _ABSTRACT
        self.sub.add_link("arXiv:2501.12443", "https://arxiv.org/abs/2501.12443")
        self.names: list[str] = []
        self.note = ""  # appended to every table description of the current item
        self.files: list[str] = []  # the files the current item wrote (its provenance record)

    def variable(self, name, values, *, units="", independent=True, binned=False,
                 qualifiers=()):
        var = self.lib.Variable(name, is_independent=independent, is_binned=binned, units=units)
        var.digits = DIGITS
        var.values = values
        for q in qualifiers:
            var.add_qualifier(*q)
        return var

    def table(self, name: str, description: str, location: str, variables, *,
              keywords: dict | None = None, image: Path | None = None):
        # names that differ only where the file name does not (detectors 'Cs.I' and 'Cs_I' slug to
        # one name; 'CsI' and 'csi' to one file) get a numeric suffix: 'dots Cs_I 2'
        taken = {_table_file(n) for n in self.names}
        base, k = name, 2
        while _table_file(name) in taken:
            name, k = f"{base} {k}", k + 1
        table = self.lib.Table(name)
        table.description = description + self.note
        table.location = location
        for var in variables:
            table.add_variable(var)
        for key, values in (keywords or {}).items():
            table.keywords[key] = list(values)
        if image is not None and image.exists():
            table.add_additional_resource(f"Figure ({location}) as drawn by cevns", str(image),
                                          copy_file=True)
        self.sub.add_table(table)
        self.names.append(name)
        return table


# --- one converter per analysis kind ------------------------------------------------------------


def _param(an, name: str, variant_options=None) -> tuple[str, str]:
    """(display name, unit) of a scenario parameter."""
    scenario = an.scenario.build(variant_options)
    p = scenario.parameters.get(name)
    unit = p.unit if p is not None else ""
    label = (p.label if p is not None and p.label else name)
    return label, ("" if unit in ("", "events") else unit)


def _spectra(b: _Builder, an, folder: Path, image):
    from cevns.physics.flux import FLAVOUR_LABELS, VALID_FLAVOURS

    rows = _read_csv(folder / f"{an.name}_spectra.csv")
    src = an.source.build()
    for det in dict.fromkeys(r["detector"] for r in rows):
        mine = [r for r in rows if r["detector"] == det]
        bins = [(float(r["lower_keVnr"]), float(r["upper_keVnr"])) for r in mine]
        qual = [("detector", det), ("run time", f"{src.run_years:g}", "yr")]
        vars_ = [b.variable("reconstructed recoil energy", bins, units="keVnr", binned=True)]
        flavours = [c for c in mine[0] if c in VALID_FLAVOURS]  # the source's flavours
        for col in (*flavours, "signal", "background"):
            label = {"signal": "CEvNS (all flavours)", "background": "steady-state background"}\
                .get(col, f"CEvNS, {FLAVOUR_LABELS.get(col, col)}")
            vars_.append(b.variable(label, [_number(r[col]) for r in mine], units="events/bin",
                                    independent=False, qualifiers=qual))
        b.table(f"{an.name} {det}", f"{an.title}: expected events per bin, {det}.", an.paper,
                vars_, keywords={"observables": ["N"], "phrases": ["CEvNS", "Spectrum"]},
                image=image)
        image = None  # the figure goes with the first table only


def _summary_table(b: _Builder, an, path: Path, description: str, image, *, name: str,
                   unit: str = ""):
    """A CSV whose first column names the rows (detector) and the others are numbers or text.

    ``unit`` applies to the columns that hold parameter values (best, lower, upper, limit and
    the reference / difference columns of the interval tables).
    """
    rows = _read_csv(path)
    if not rows:
        raise DataError(f"{path}: empty table")
    cols = list(rows[0])
    key = cols[0]
    vars_ = [b.variable(key, [r[key] for r in rows])]
    text_cols = []
    for col in cols[1:]:
        values = [r[col] for r in rows]
        if not any(values):
            continue
        if _is_numeric(values):
            in_unit = col in ("best", "lower", "upper", "limit") or col.endswith(
                ("_lower", "_upper"))
            vars_.append(b.variable(col, [_number(v) for v in values], independent=False,
                                    units=unit if in_unit else ""))
        elif any(values):
            text_cols.append(f"{col}: " + ", ".join(f"{r[key]} {v}" for r, v in
                                                      zip(rows, values, strict=True) if v))
    if text_cols:
        description += " " + "; ".join(text_cols) + "."
    b.table(name, description, an.paper, vars_, image=image)


def _event_table(b: _Builder, an, folder: Path, image):
    src = an.source.build()
    _summary_table(b, an, folder / f"{an.name}.csv",
                   f"{an.title}: expected events over {src.run_years:g} years per detector and "
                   "flavour (numu: prompt; nue, numubar: delayed), signal and background.",
                   image, name=an.name)


def _profile(b: _Builder, an, folder: Path, image):
    from cevns.analyses.cf import level_attrs

    label, unit = _param(an, an.scan.parameter)
    x, cols = None, {}
    for det in [*an.detectors, "combined"]:
        path = folder / f"{an.name}_profile_{det}.csv"
        if not path.exists():
            continue
        rows = _read_csv(path)
        xs = [float(r[an.scan.parameter]) for r in rows]
        if x is None:
            x = xs
        elif xs != x:
            raise DataError(f"{path}: grid differs from the other detectors'")
        cols[det] = [_number(r["chi2"]) for r in rows]
    if x is None:
        raise DataError(f"{folder}: no {an.name}_profile_<detector>.csv files")
    lv = level_attrs(an.stats.levels, 1)
    levels = ", ".join(f"{d:.4g} ({c:.4g} CL, {int(k)} dof)" for d, c, k in zip(
        lv["delta_chi2_threshold"], lv["confidence_level"], lv["degrees_of_freedom"],
        strict=True))
    vars_ = [b.variable(label, x, units=unit)]
    vars_ += [b.variable(r"$\Delta\chi^2$", v, independent=False,
                         qualifiers=[("detector", det)]) for det, v in cols.items()]
    b.table(f"{an.name} profile", f"{an.title}: Delta chi2 (chi2 minus its minimum on the grid) "
            f"along {an.scan.parameter}. Levels drawn: Delta chi2 = {levels}.", an.paper, vars_,
            keywords={"observables": ["CHI2"], "phrases": ["CEvNS", "Sensitivity"]}, image=image)
    summary = folder / f"{an.name}.csv"
    if summary.exists():
        from cevns.stats import level_label

        _summary_table(b, an, summary, f"{an.title}: {an.table} at {level_label(an.table_level)} "
                       f"on {an.scan.parameter}" + (f" [{unit}]" if unit else "") + ".", None,
                       name=f"{an.name} intervals", unit=unit)


def _scan2d(b: _Builder, an, folder: Path, image):
    import xarray as xr

    from cevns.analyses.cf import level_attrs
    from cevns.scan.store import netcdf_engine

    lv = level_attrs(an.stats.levels, 2)
    levels = ", ".join(f"{d:.4g} ({c:.4g} CL, {int(k)} dof)" for d, c, k in zip(
        lv["delta_chi2_threshold"], lv["confidence_level"], lv["degrees_of_freedom"],
        strict=True))
    ncs = [f for f in b.files if f.endswith(".nc")]
    if not ncs:
        raise DataError(f"{folder}: no netCDF grids of {an.name}")
    for f in ncs:
        stem = f[: -len(".nc")].removeprefix(f"{an.name}_")
        m = re.fullmatch(r"v(\d+)_(.+)", stem)
        variant = an.variants[int(m.group(1))] if m else None
        det = m.group(2) if m else stem
        with os_errors(folder / f, "read"), xr.open_dataset(folder / f, engine=netcdf_engine()) as ds:
            xname, yname = ds["chi2"].dims
            xs, ys = ds[xname].values, ds[yname].values
            delta = np.asarray(ds["delta_chi2"].values, dtype=float)
        opts = variant.options if variant is not None else None
        (xl, xu), (yl, yu) = _param(an, str(xname), opts), _param(an, str(yname), opts)
        xx, yy = np.meshgrid(xs, ys, indexing="ij")
        qual = [("detector", det)] + ([("variant", variant.label)] if variant else [])
        vars_ = [b.variable(xl, xx.ravel().tolist(), units=xu),
                 b.variable(yl, yy.ravel().tolist(), units=yu),
                 b.variable(r"$\Delta\chi^2$", [float(v) if np.isfinite(v) else "-" for v in delta.ravel()],
                            independent=False, qualifiers=qual)]
        title = det + (f", {variant.label}" if variant else "")
        b.table(f"{an.name} {_slug(stem)}", f"{an.title}: Delta chi2 on the ({xname}, {yname}) "
                f"grid, {title}. Contours in the figure: Delta chi2 = {levels}.", an.paper, vars_,
                keywords={"observables": ["CHI2"], "phrases": ["CEvNS", "Sensitivity"]},
                image=image)
        image = None


def _exclusion(b: _Builder, an, folder: Path, image):
    from cevns.analyses.cf import level_info

    rows = _read_csv(folder / f"{an.name}.csv")
    info = level_info(an.level, 2)
    for v_index, label in enumerate(dict.fromkeys(r[an.variant_column] for r in rows)):
        mine = [r for r in rows if r[an.variant_column] == label]
        xs = sorted({float(r[an.x_column]) for r in mine})
        dets = list(dict.fromkeys(r["detector"] for r in mine))
        variant = next((v for v in an.variants if v.label == label), None)
        opts = variant.options if variant is not None else None
        xl, xu = _param(an, an.x.parameter, opts)
        yl, yu = _param(an, an.y.parameter, opts)
        vars_ = [b.variable(xl, xs, units=xu)]
        for det in dets:
            limit = {float(r[an.x_column]): float(r[an.y_column]) for r in mine
                     if r["detector"] == det}
            vars_.append(b.variable(f"{yl} excluded above", [limit.get(x, "-") for x in xs],
                                    units=yu, independent=False,
                                    qualifiers=[("detector", det), (an.variant_column, label),
                                                ("CL", f"{info['confidence_level']:.4g}"),
                                                ("dof", str(info["dof"])),
                                                ("Delta chi2", f"{info['delta_chi2']:.4g}")]))
        note = ""
        if an.secondary_x and an.secondary_x in mine[0]:
            ratio = float(mine[0][an.secondary_x]) / float(mine[0][an.x_column])
            note = f" The {an.secondary_x} axis of the figure is {ratio:g} x {an.x.parameter}."
        b.table(f"{an.name} {_slug(label) or v_index}",
                f"{an.title} — {label}: smallest excluded {an.y.parameter} per "
                f"{an.x.parameter}, {info['label']}; '-' where the grid holds no crossing.{note}",
                an.paper, vars_, keywords={"observables": ["SIG"],
                                           "phrases": ["CEvNS", "Exclusion limit"]},
                image=image)
        image = None


def _running(b: _Builder, an, folder: Path, image):
    """The running of sin²θ_W (curve) and the points drawn over it (measurements, ESS)."""
    curve = _read_csv(folder / f"{an.name}_curve.csv")
    if not curve:
        raise DataError(f"{folder / (an.name + '_curve.csv')}: empty table")
    b.table(f"{an.name} running", f"{an.title}: one-loop MS-bar running sin2(theta_W)(mu), "
            "anchored at sin2(theta_W)(M_Z) = 0.23122 and sin2(theta_W)(0) = 0.23857.", an.paper,
            [b.variable("renormalisation scale mu", [float(r["mu_GeV"]) for r in curve],
                        units="GeV"),
             b.variable(r"$\sin^2\theta_W$ (MS-bar)",
                        [_number(r["sin2_theta_w_msbar"]) for r in curve], independent=False)],
            keywords={"observables": ["SIN2TW"], "phrases": ["Weak mixing angle", "Running"]},
            image=image)
    rows = _read_csv(folder / f"{an.name}.csv")
    if not rows:
        raise DataError(f"{folder / (an.name + '.csv')}: empty table")
    point = b.variable(r"$\sin^2\theta_W$", [_number(r["sin2_theta_w"]) for r in rows],
                       independent=False)
    unc = b.lib.Uncertainty("1 sigma", is_symmetric=False)
    unc.values = [(-float(r["error_minus"]), float(r["error_plus"])) for r in rows]
    point.add_uncertainty(unc)
    notes = "; ".join(f"{r['item']}: {r['scheme']} ({r['reference']})" for r in rows)
    b.table(f"{an.name} points", f"{an.title}: measurements and the ESS projection at their "
            f"momentum transfer Q, with the curve's value at Q. Scheme and source: {notes}.",
            an.paper,
            [b.variable("measurement", [r["item"] for r in rows]),
             b.variable("momentum transfer Q", [_number(r["Q_GeV"]) for r in rows], units="GeV",
                        independent=False),
             point,
             b.variable(r"running $\sin^2\theta_W$ at Q", [_number(r["running_at_Q"])
                                                            for r in rows], independent=False)],
            keywords={"observables": ["SIN2TW"], "phrases": ["Weak mixing angle"]})


def _threshold_study(b: _Builder, an, folder: Path, image):
    """Sensitivity at the nominal and at a raised threshold, one row per (detector, case)."""
    rows = _read_csv(folder / f"{an.name}.csv")
    if not rows:
        raise DataError(f"{folder / (an.name + '.csv')}: empty table")
    vars_ = [b.variable("detector, case, quantity",
                        [f"{r['detector']}: {r['case']}, {r['quantity']}" for r in rows])]
    for col, label, unit in (("nominal_threshold_keVnr", "nominal threshold", "keVnr"),
                             ("at_nominal", "at the nominal threshold", ""),
                             ("raised_threshold_keVnr", "raised threshold", "keVnr"),
                             ("at_raised", "at the raised threshold", ""),
                             ("improvement", "ratio raised / nominal", "")):
        vars_.append(b.variable(label, [_number(r[col]) for r in rows], units=unit,
                                independent=False))
    b.table(an.name, f"{an.title}: each quantity (interval half-width or upper limit, in the unit "
            "of its parameter) at the nominal and at the raised recoil threshold.", an.paper,
            vars_, keywords={"phrases": ["CEvNS", "Threshold"]}, image=image)


# --- the entry point -----------------------------------------------------------------------------


def _item_folders(results_dir: Path, items) -> list[Path]:
    from cevns.analyses.catalogue import _natural_key

    if (results_dir / "config.json").exists():
        folders = [results_dir]
    else:
        folders = sorted((p for p in results_dir.iterdir() if (p / "config.json").exists()),
                         key=lambda p: _natural_key(p.name))
    if items is not None:
        by_name = {p.name: p for p in folders}
        missing = [i for i in items if i not in by_name]
        if missing:
            raise ConfigError(f"items {missing} not found in {results_dir}; present: "
                              f"{', '.join(by_name) or 'none'}")
        folders = [by_name[i] for i in items]
    if not folders:
        raise DataError(f"{results_dir}: no result folders (with config.json) found; run "
                        "'cevns reproduce --out DIR' first")
    return folders


def validate_submission(path: str | Path) -> None:
    """Validate a submission folder or archive with ``hepdata-validator``; raise
    :class:`~cevns.errors.DataError` listing the messages if it is invalid."""
    try:
        from hepdata_validator.full_submission_validator import FullSubmissionValidator
    except ImportError as exc:  # pragma: no cover
        raise MissingDependencyError(
            "validating HEPData needs hepdata-validator: pip install 'cevns[hepdata]'") from exc
    path = Path(path)
    validator = FullSubmissionValidator()
    ok = validator.validate(archive=str(path)) if path.is_file() else \
        validator.validate(directory=str(path))
    if not ok:
        msgs = [f"{Path(f).name}: {m.message}" for f, ms in validator.get_messages().items()
                for m in ms if getattr(m, "level", "error") == "error"]
        raise DataError(f"HEPData submission {path} is invalid: " + "; ".join(msgs[:10]))


#: HEPData converter of each analysis kind: ``converter(builder, analysis, folder, image)``
_CONVERTERS = {"spectra": _spectra, "event-table": _event_table, "profile": _profile,
               "scan2d": _scan2d, "exclusion": _exclusion, "running": _running,
               "threshold-study": _threshold_study}


def check_convertible(kinds, *, where: str = "") -> None:
    """Raise :class:`~cevns.errors.ConfigError` if an analysis kind in `kinds` has no HEPData
    converter (``cevns reproduce --hepdata`` asks before computing anything)."""
    missing = sorted({k for k in kinds if k not in _CONVERTERS})
    if missing:
        raise ConfigError((f"{where}: " if where else "") + "no HEPData conversion for analysis "
                          f"kind(s) {missing}; convertible kinds: {', '.join(_CONVERTERS)}")


#: File beside ``submission/`` and ``submission.tar.gz`` that marks them as written by
#: :func:`write_hepdata` (which replaces the YAML files in the folder and the archive: only its
#: own). Not inside the folder: the validator refuses files a submission does not reference.
SUBMISSION_MARKER = ".cevns-hepdata"


def check_hepdata_target(out_dir: str | Path) -> None:
    """Refuse an ``out_dir`` whose ``submission/`` folder or ``submission.tar.gz`` was not written
    by :func:`write_hepdata` (no :data:`SUBMISSION_MARKER`): a submission of your own there would
    be replaced (:class:`~cevns.errors.OutputError`). A file in the way of the folders too.
    ``cevns reproduce --hepdata`` asks before computing anything."""
    out_dir = Path(out_dir)
    for p in [out_dir, *out_dir.parents]:
        if p.exists() and not p.is_dir():
            raise OutputError(f"HEPData folder {out_dir}: {p} exists and is not a folder")
    folder, archive = out_dir / "submission", out_dir / "submission.tar.gz"
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"HEPData folder {out_dir}: {folder} exists and is not a folder")
    with os_errors(folder, "read"):
        ours = (out_dir / SUBMISSION_MARKER).is_file()
        held = folder.is_dir() and any(folder.iterdir())
    if not ours and (held or archive.exists()):
        found = folder if held else archive
        raise OutputError(f"HEPData folder {out_dir}: {found} was not written by cevns (no "
                          f"{SUBMISSION_MARKER} marker) and would be replaced; choose another "
                          "HEPData folder or move it away")


def write_hepdata(results_dir: str | Path, out_dir: str | Path, *,
                  items: list[str] | None = None, archive: bool = True,
                  validate: bool = True) -> HEPDataOutput:
    """Write a HEPData submission of the results in ``results_dir``.

    Parameters
    ----------
    results_dir : path
        Output folder of ``cevns reproduce`` (one sub-folder per item) or of ``cevns run`` (one
        item).
    out_dir : path
        Output folder (created): ``out_dir/submission/`` receives ``submission.yaml``, one YAML
        file per table and the figures (YAML files of an earlier submission there are replaced);
        ``out_dir/submission.tar.gz`` is the archive to upload. A ``submission/`` or archive
        there that this function did not write is refused (:func:`check_hepdata_target`).
    items : list of str, optional
        Only these items (sub-folder names); default all found.
    archive : bool
        Also write ``out_dir/submission.tar.gz``.
    validate : bool
        Check the result with ``hepdata-validator`` (the archive if written, else the folder).

    Returns
    -------
    HEPDataOutput
    """
    from cevns.analyses.base import parse_analysis

    results_dir, out_dir = Path(results_dir), Path(out_dir)
    if not results_dir.is_dir():
        raise DataError(f"results folder {results_dir} does not exist")
    folders = _item_folders(results_dir, items)
    b = _Builder()
    for folder in folders:
        with os_errors(folder / "config.json", "read"):
            config = json.loads((folder / "config.json").read_text())
            prov_path = folder / "provenance.json"
            prov = json.loads(prov_path.read_text()) if prov_path.exists() else {}
            files = prov.get("files") or sorted(p.name for p in folder.iterdir())
        an = parse_analysis(config, where=str(folder / "config.json"))
        b.note = (" Coarse preview grids (cevns reproduce --quick), not the paper's resolution."
                  if prov.get("quick") else "")
        image = folder / f"{an.name}.png"
        image = image if image.exists() else None
        b.files = files
        check_convertible([an.kind], where=str(folder))
        _CONVERTERS[an.kind](b, an, folder, image)
    check_hepdata_target(out_dir)
    folder = ensure_dir(out_dir / "submission", "HEPData folder")
    with os_errors(folder):
        (out_dir / SUBMISSION_MARKER).write_text("submission/ and submission.tar.gz written by "
                                                 "cevns.analyses.write_hepdata\n")
        for old in folder.glob("*.yaml"):
            old.unlink()
        _write_files(b.sub, folder)
    tar_path = None
    if archive:
        tar_path = out_dir / "submission.tar.gz"
        members = ["submission.yaml", *(f"{_table_file(n)}" for n in b.names)]
        members += [Path(f).name for f in b.sub.files_to_copy_nested()]
        with os_errors(tar_path), tarfile.open(tar_path, "w:gz") as tar:
            for name in dict.fromkeys(members):
                tar.add(folder / name, arcname=name)
    if validate:
        validate_submission(tar_path or folder)
    return HEPDataOutput(directory=folder, submission=folder / "submission.yaml",
                         archive=tar_path, tables=list(b.names),
                         items=[f.name for f in folders])


def _table_file(name: str) -> str:
    return name.lower().replace(" ", "_") + ".yaml"  # hepdata-lib's file naming


def _plain(obj):
    """defaultdicts and tuples of hepdata-lib's dictionaries as plain dicts and lists."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


def _dump(doc, fh, **kwargs) -> None:
    import yaml

    # libyaml's emitter: 1.6x faster than hepdata-lib's writer (benchmarks/bench_hepdata.py)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    yaml.dump(_plain(doc), fh, Dumper=dumper, default_flow_style=False, allow_unicode=True,
              sort_keys=False, **kwargs)


def _write_files(sub, out_dir: Path) -> None:
    """What ``Submission.create_files`` does, without its side effects.

    hepdata-lib writes ``submission.tar.gz`` into the current directory (a library must not) and
    dumps YAML with the pure-Python emitter. Here the
    tables' contents come from hepdata-lib (:meth:`Variable.make_dict`: rounding, uncertainties,
    qualifiers) and are written with libyaml in the same layout as :meth:`Table.write_yaml`.
    """
    header = {"data_license": sub.get_license(), "comment": sub.comment}
    if sub.additional_resources:
        header["additional_resources"] = sub.additional_resources
    with open(out_dir / "submission.yaml", "w", encoding="utf-8") as fh:
        _dump(header, fh, explicit_start=True)
        for table in sub.tables:
            data = {"independent_variables": [v.make_dict() for v in table.variables
                                              if v.is_independent],
                    "dependent_variables": [v.make_dict() for v in table.variables
                                            if not v.is_independent]}
            data_file = _table_file(table.name)
            with open(out_dir / data_file, "w", encoding="utf-8") as tf:
                _dump(data, tf)
            entry = {"name": table.name, "description": table.description,
                     "location": table.location, "data_file": data_file,
                     "keywords": [{"name": k, "values": v} for k, v in table.keywords.items()]}
            if table.additional_resources:
                entry["additional_resources"] = table.additional_resources
            _dump(entry, fh, explicit_start=True)
            table.copy_files(str(out_dir))
    sub.copy_files(str(out_dir))

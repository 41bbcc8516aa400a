"""The results report of ``cevns reproduce``: ``index.md``, ``index.html`` and a contact sheet.

:func:`write_report` takes the run records of the items (what ``index.json`` holds) and writes

* ``index.md`` — CommonMark: per item a heading, the figure, its caption, the key numbers as a
  small table (a blank line before it; long tables are linked as CSV, never embedded), links to
  the data files and a provenance line;
* ``index.html`` — the same as one self-contained page (inline CSS, relative image links, no
  scripts or external resources), for reading in a browser;
* ``contact_sheet.png`` — every figure as a thumbnail on one image, labelled with its item.

Quick previews (``--quick``: coarse grids) are marked as such in all three.

The caption of an item is written here from its analysis (kind, levels, statistics settings), so
that figures carry only short panel titles, as in a journal.
"""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: tables with more rows than this are linked, not embedded
MAX_EMBEDDED_ROWS = 12

#: notes a reader must see next to an item's numbers
ITEM_NOTES: dict[str, str] = {
    "table3": ("The per-detector background scales of the ESS presets were fitted to the paper's "
               "Table 3 (docs/assumptions.md, “Background calibration on Table 3”): the agreement "
               "of these intervals with the paper is partly by construction, not an independent "
               "check. Ar and C₃F₈ are not reproduced to 0.05 fm."),
    "fig4": ("Backgrounds calibrated on Table 3 (docs/assumptions.md): the agreement of the R_n "
             "profiles with the paper is partly by construction."),
}

#: parameter names of analysis files as readable text (captions are plain Unicode)
PARAMETER_TEXT = {"sin2_theta_w": "sin²θ_W", "neutron_radius_fm": "R_n [fm]",
                  "mediator_mass_MeV": "m_X [MeV]", "coupling": "g_X", "sin2_2theta": "sin²2θ",
                  "delta_m2_eV2": "Δm²₄₁ [eV²]", "magnetic_moment": "μ_ν [μ_B]",
                  "alpha11": "α₁₁", "alpha22": "α₂₂", "sterile_mass_MeV": "m₄ [MeV]"}

QUICK_BANNER = ("**Quick preview** — coarse grids (`--quick`); numbers and curves are not the "
                "publication results.")


def quick_folder(out: Path) -> Path:
    """Where ``--quick`` previews of a run into ``out`` go: ``out/quick`` (never over full results)."""
    return Path(out) / "quick"


# --- captions -----------------------------------------------------------------------------------


def _p(name: str) -> str:
    return PARAMETER_TEXT.get(name, name)


def _sigma_text(symbol: str, values: list[float]) -> str:
    """``σ_β = 0.01``, or ``σ_β = 0.01, 0.05, 0.1 (by variant)`` when the variants differ."""
    distinct = sorted(set(values))
    if len(distinct) == 1:
        return f"{symbol} = {distinct[0]:g}"
    return f"{symbol} = {', '.join(f'{v:g}' for v in distinct)} (by variant)"


def caption(an) -> str:
    """The figure caption of analysis ``an``, with its ``caption_note`` (if any) appended."""
    text = _caption(an)
    note = getattr(an, "caption_note", "").strip()
    return f"{text} {note}" if note else text


def _caption(an) -> str:
    """The figure caption of analysis ``an`` (plain Unicode text, one paragraph).

    An analysis class may write its own: a method ``figure_caption()`` returning the text (the
    ``running`` and ``threshold-study`` kinds, plug-in kinds). The other built-in kinds are
    described here from their fields."""
    own = getattr(an, "figure_caption", None)
    if callable(own):
        return own()
    kind = an.kind
    title = an.title.rstrip(".")
    if kind == "spectra":
        years = an.source.build().run_years
        curves = tuple(getattr(an, "new_physics", ()) or ())
        from cevns.analyses.style import plain_text, tex

        bsm = ""
        if curves:
            notes = " ".join(c.note.rstrip(".") + "." for c in curves if c.note)
            bsm = (f" Thicker coloured dotted, dashed and dash-dotted lines: {len(curves)} "
                   "new-physics benchmarks, each the total signal (SM + new physics): "
                   + "; ".join(plain_text(c.label) for c in curves) + "."
                   + (" Lower strips: each benchmark divided by the SM total, bin by bin "
                      "(logarithmic where the ratios span more than a factor 3)."
                      if getattr(an, "ratio_panel", False) else "")
                   + (f" {notes}" if notes else ""))
        names = [plain_text(tex(d)) for d in an.detectors]
        which = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return (f"{title}. Expected CEvNS events per reconstructed-recoil-energy bin in {which} "
                f"({years:g} years), by neutrino flavour ({'thin solid: ' if curves else ''}"
                "prompt ν_μ, delayed ν_e, delayed ν̄_μ); black: their sum"
                + ("; grey dotted: square root of the steady-state background per bin."
                   if getattr(an, "sqrt_background", False) else ".") + bsm)
    if kind in ("profile", "scan2d", "exclusion"):
        from cevns.stats import level_label

        variants = tuple(getattr(an, "variants", ()) or ())
        # the statistics in effect per curve family: a variant's keys update the analysis's
        stats_used = [an.variant_stats(v) for v in variants] or [an.stats]
        stats = an.stats
        combined = any(st.combine for st in stats_used)
        sigmas = ", ".join(_sigma_text(symbol, [getattr(st, key) for st in stats_used])
                           for symbol, key in (("σ_α", "sigma_signal"),
                                               ("σ_β", "sigma_background")))
        truth = ("Asimov data at the Standard Model" if not an.truth else
                 "Asimov data at " + ", ".join(f"{k} = {v:g}" for k, v in an.truth.items()))
        if kind == "profile":
            levels = "; ".join(level_label(lv) for lv in stats.levels)
            who = ("the combination of all detectors (black)" if an.show == "combined"
                   else "each detector and their combination (black)" if combined
                   else "each detector (not combined)")
            return (f"{title}. Δχ² against {_p(an.scan.parameter)} for {who}; {truth}; {sigmas}. "
                    f"Dotted lines: {levels}.")
        if kind == "scan2d":
            levels = "; ".join(level_label(lv) for lv in stats.levels)
            if an.panels == "per-detector":
                panels = "one panel per detector, levels as line styles"
            elif not an.per_detector:
                panels = "one panel per variant, all detectors combined"
            else:
                panels = ("one panel per variant, detectors as colours"
                          + (" (combined in black)" if combined else ""))
            xg, yg = an.x.grid(False), an.y.grid(False)
            marked = any(pt is not None and xg[0] <= pt[0] <= xg[-1] and yg[0] <= pt[1] <= yg[-1]
                         for pt in (an.truth_point(v) for v in (variants or (None,))))
            return (f"{title}. Δχ² contours in the ({_p(an.x.parameter)}, {_p(an.y.parameter)}) plane at "
                    f"{levels}; {panels}; {truth}; {sigmas}. No best-fit point is marked: the "
                    "minimum of Asimov data is the injected point"
                    + (" (open circle)." if marked else "."))
        per = ("all detectors combined" if not an.per_detector
               else "per detector and combined (black)" if combined else "per detector")
        layout = ""
        if an.panels == "per-detector":
            layout = " One panel per detector, its variants as line styles."
        elif an.panels == "per-variant":
            layout = " One panel per variant."
        if an.secondary_x:
            layout += (f" Right of each panel: the same limits against the tied mass "
                       f"{_p(an.secondary_x)}, each curve beginning at the lowest "
                       f"{_p(an.x.parameter).split(' [')[0]} of the grid times its ratio.")
        if an.overlays:
            layout += (" Grey: limits from real data named in the legend (overlay "
                       + ", ".join(f"'{o}'" for o in an.overlays) + "; the notes file says how "
                       "each was computed), not Asimov projections"
                       + ("; one per variant, in that variant's dash pattern."
                          if variants and an.panels != "per-variant" and len(variants) > 1
                          else "."))
        if an.ratio_panel and len(variants) > 1:
            from cevns.analyses.style import plain_text, tex

            layout += (f" Lower strip: each variant's limit divided by that of "
                       f"'{plain_text(tex(variants[0].label))}' for the same detector, at the "
                       "same mass.")
        return (f"{title}. Exclusion at {level_label(an.level)}, {per}: the region above each "
                f"curve is excluded; {truth}; {sigmas}.{layout}")
    return f"{title}."


# --- key numbers --------------------------------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _fmt(value: str) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return value or ""
    if x != x:
        return "—"
    return f"{x:.4g}"


def key_numbers(folder: Path, name: str, kind: str) -> tuple[list[str], list[list[str]]]:
    """``(columns, rows)`` of the small table of an item's headline numbers (may be empty)."""
    path = folder / f"{name}.csv"
    if kind in ("profile", "event-table") and path.exists():
        rows = _read_csv(path)
        if rows and len(rows) <= MAX_EMBEDDED_ROWS:
            cols = list(rows[0])
            return cols, [[_fmt(r[c]) for c in cols] for r in rows]
    if kind == "exclusion" and path.exists():
        rows = _read_csv(path)
        if not rows:
            return [], []
        xcol, ycol = list(rows[0])[:2]
        group = [c for c in rows[0] if c not in (xcol, ycol, "detector")
                 and not c.endswith("_MeV")][:1]
        best: dict[tuple, dict] = {}
        for r in rows:
            key = (r[group[0]] if group else "", r["detector"])
            if key not in best or float(r[xcol]) < float(best[key][xcol]):
                best[key] = r
        keep = {k: v for k, v in best.items() if k[1] == "combined"} or best
        cols = [*(group or []), "detector", f"{ycol} at lowest {xcol}", xcol]
        out = [[*([k[0]] if group else []), k[1], _fmt(r[ycol]), _fmt(r[xcol])]
               for k, r in list(keep.items())[:MAX_EMBEDDED_ROWS]]
        return cols, out
    if kind == "spectra":
        spectra = folder / f"{name}_spectra.csv"
        if spectra.exists():
            totals: dict[str, list[float]] = {}
            for r in _read_csv(spectra):
                t = totals.setdefault(r["detector"], [0.0, 0.0])
                t[0] += float(r["signal"])
                t[1] += float(r["background"])
            return (["detector", "CEvNS events", "background events"],
                    [[d, f"{s:.4g}", f"{b:.4g}"] for d, (s, b) in totals.items()])
    return [], []


def markdown_table(cols: list[str], rows: list[list[str]]) -> list[str]:
    """CommonMark/GFM table lines (preceded and followed by a blank line)."""
    def cell(v: str) -> str:
        return str(v).replace("|", "\\|")

    return ["", "| " + " | ".join(map(cell, cols)) + " |",
            "| " + " | ".join("---" for _ in cols) + " |",
            *("| " + " | ".join(map(cell, r)) + " |" for r in rows), ""]


# --- the report ---------------------------------------------------------------------------------


def _analysis(folder: Path):
    from cevns.analyses.base import parse_analysis

    config = folder / "config.json"
    if not config.exists():
        return None
    try:
        return parse_analysis(json.loads(config.read_text()), where=str(config))
    except Exception:  # an old or foreign config: the report still lists the files
        return None


def _provenance(folder: Path) -> dict:
    path = folder / "provenance.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _item(out: Path, name: str, record: Mapping[str, Any]) -> dict:
    folder = out / name
    an = _analysis(folder)
    prov = _provenance(folder)
    files = list(record.get("files", []))
    kind = an.kind if an is not None else record.get("kind", "")
    cols, rows = key_numbers(folder, name, kind)
    return {
        "name": name,
        "title": record.get("title", name),
        "paper": record.get("paper", ""),
        "kind": kind,
        "quick": bool(record.get("quick", prov.get("quick", False))),
        "wall_time_s": float(record.get("wall_time_s", 0.0)),
        "images": [f for f in files if f.endswith(".png")],
        "data": [f for f in files if not f.endswith(".png") and not f.endswith(".md")],
        "notes_md": [f for f in files if f.endswith("_notes.md")],
        "caption": caption(an) if an is not None else record.get("title", name),
        "note": ITEM_NOTES.get(name, ""),
        "table": (cols, rows),
        "provenance": {k: prov.get(k) for k in ("cevns_version", "git_revision", "source_sha256",
                                                 "created_utc", "digest")},
    }


def _prov_line(p: dict) -> str:
    parts = [f"cevns {p.get('cevns_version') or '?'}"]
    if p.get("git_revision"):
        parts.append(f"git {p['git_revision']}")
    if p.get("source_sha256"):
        parts.append(f"source sha256 {p['source_sha256'][:12]}")
    if p.get("digest"):
        parts.append(f"config digest {p['digest']}")
    if p.get("created_utc"):
        parts.append(f"made {p['created_utc']}")
    return ", ".join(parts)


def _order(names):
    from cevns.analyses.catalogue import _natural_key

    return sorted(names, key=_natural_key)


def write_report(out: Path, records: Mapping[str, Mapping[str, Any]], *,
                 contact_sheet: bool = True) -> list[Path]:
    """Write ``index.md``, ``index.html`` and ``contact_sheet.png`` in ``out``; return the paths.

    ``records`` maps item name → run record (``title``, ``paper``, ``files`` relative to
    ``out/<name>``, ``wall_time_s``, optional ``quick``), as ``cevns reproduce`` keeps them in
    ``index.json``.
    """
    from cevns.fsio import atomic_write_text

    out = Path(out)
    items = [_item(out, n, records[n]) for n in _order(records)]
    written = []
    sheet = out / "contact_sheet.png"
    if contact_sheet:
        pngs = [(it["name"] + (" (quick)" if it["quick"] else ""), out / it["name"] / img)
                for it in items for img in it["images"] if (out / it["name"] / img).exists()]
        if pngs:
            write_contact_sheet(pngs, sheet)
            written.append(sheet)
    has_sheet = sheet.exists() and contact_sheet
    written.insert(0, atomic_write_text(out / "index.md", render_markdown(items, has_sheet)))
    written.insert(1, atomic_write_text(out / "index.html", render_html(items, has_sheet)))
    return written


def render_markdown(items: list[dict], contact_sheet: bool = False) -> str:
    """The CommonMark text of ``index.md``."""
    lines = ["# cevns reproduce — results", "",
             "Each section is one shipped analysis (one figure or table of arXiv:2501.12443). "
             "`config.json` and `provenance.json` in its folder record exactly how it was made; "
             "`index.html` shows the same report in a browser.", ""]
    if any(it["quick"] for it in items):
        lines += [QUICK_BANNER, ""]
    if contact_sheet:
        lines += ["All figures at a glance: [contact_sheet.png](contact_sheet.png).", ""]
    lines += ["## Contents", ""]
    lines += [f"- [{it['name']}](#{it['name']}) — {it['paper'] or it['title']}"
              + (" *(quick preview)*" if it["quick"] else "") for it in items]
    lines.append("")
    for it in items:
        n = it["name"]
        lines += [f"<a id=\"{n}\"></a>", "", f"## {n} — {it['title']}", ""]
        meta = f"Paper item: {it['paper'] or '—'}. Elapsed {it['wall_time_s']:.1f} s."
        if it["quick"]:
            meta = QUICK_BANNER + " " + meta
        lines += [meta, ""]
        for img in it["images"]:
            lines += [f"![{n}: {it['title']}]({n}/{img})", ""]
        lines += [f"*{it['caption']}*", ""]
        if it["note"]:
            lines += [f"**Note.** {it['note']}", ""]
        cols, rows = it["table"]
        if rows:
            lines += ["Key numbers:", *markdown_table(cols, rows)]
        for f in it["notes_md"]:
            lines += [f"Notes: [{f}]({n}/{f})", ""]
        if it["data"]:
            lines += ["Data: " + ", ".join(f"[{f}]({n}/{f})" for f in it["data"]), ""]
        lines += [f"Provenance: {_prov_line(it['provenance'])}.", ""]
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.2rem;border-top:1px solid #ddd;padding-top:1rem;margin-top:2rem}
figure{margin:1rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.92rem;color:#333;margin-top:.4rem}
table{border-collapse:collapse;font-size:.88rem;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.15rem .5rem;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}
.quick{background:#fff3cd;border:1px solid #e0c060;padding:.4rem .6rem}
.note{background:#eef5ff;border-left:3px solid #0072B2;padding:.4rem .6rem}
.prov{font-size:.8rem;color:#666}.meta{color:#444}nav ul{columns:2}
"""


def render_html(items: list[dict], contact_sheet: bool = False) -> str:
    """The self-contained HTML page of the report (inline CSS, relative image links)."""
    e = html.escape
    body = ["<h1>cevns reproduce — results</h1>",
            "<p>Each section is one shipped analysis (one figure or table of arXiv:2501.12443). "
            "<code>config.json</code> and <code>provenance.json</code> in its folder record how "
            "it was made.</p>"]
    if any(it["quick"] for it in items):
        body.append("<p class=\"quick\"><strong>Quick preview</strong> — coarse grids "
                    "(<code>--quick</code>); numbers and curves are not the publication "
                    "results.</p>")
    if contact_sheet:
        body.append("<p>All figures at a glance: <a href=\"contact_sheet.png\">contact sheet</a>."
                    "</p>")
    body.append("<nav><ul>" + "".join(
        f"<li><a href=\"#{e(it['name'])}\">{e(it['name'])}</a> — {e(it['paper'] or it['title'])}"
        + (" <em>(quick)</em>" if it["quick"] else "") + "</li>" for it in items) + "</ul></nav>")
    for it in items:
        n = e(it["name"])
        body.append(f"<section id=\"{n}\"><h2>{n} — {e(it['title'])}</h2>")
        if it["quick"]:
            body.append("<p class=\"quick\">Quick preview (coarse grids).</p>")
        body.append(f"<p class=\"meta\">Paper item: {e(it['paper'] or '—')}. Elapsed "
                    f"{it['wall_time_s']:.1f} s.</p>")
        for img in it["images"]:
            body.append(f"<figure><img src=\"{n}/{e(img)}\" alt=\"{n}: {e(it['title'])}\" "
                        f"loading=\"eager\"><figcaption>{e(it['caption'])}</figcaption></figure>")
        if not it["images"]:
            body.append(f"<p>{e(it['caption'])}</p>")
        if it["note"]:
            body.append(f"<p class=\"note\"><strong>Note.</strong> {e(it['note'])}</p>")
        cols, rows = it["table"]
        if rows:
            body.append("<table><thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in cols)
                        + "</tr></thead><tbody>"
                        + "".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in r) + "</tr>"
                                  for r in rows) + "</tbody></table>")
        links = it["notes_md"] + it["data"]
        if links:
            body.append("<p>Data: " + ", ".join(f"<a href=\"{n}/{e(f)}\">{e(f)}</a>"
                                                for f in links) + "</p>")
        body.append(f"<p class=\"prov\">Provenance: {e(_prov_line(it['provenance']))}.</p>"
                    "</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>cevns reproduce — results</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_contact_sheet(images: list[tuple[str, Path]], path: Path, *, cols: int = 5,
                        thumb: tuple[int, int] = (400, 300)) -> Path:
    """All ``(label, png)`` images as labelled thumbnails on one PNG (written atomically)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image, ImageDraw, ImageFont

    from cevns.fsio import atomic_open

    w, h = thumb
    label_h = 22
    try:
        font = ImageFont.load_default(size=16)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        font = ImageFont.load_default()
    rows = -(-len(images) // cols)
    sheet = Image.new("RGB", (cols * w, rows * (h + label_h)), "white")
    draw = ImageDraw.Draw(sheet)

    def thumbnail(png: Path):
        with Image.open(png) as im:
            im = im.convert("RGB")
            im.thumbnail((w - 8, h - 4))
            return im

    # decoding and scaling the figures is the sheet's cost (0.46 s for 29 figures) and Pillow
    # releases the GIL for both: threads halve it on two cores; the result is the same image
    with ThreadPoolExecutor(max(1, min(len(images), os.cpu_count() or 1))) as pool:
        thumbs = list(pool.map(thumbnail, [png for _, png in images]))
    for k, ((label, _), im) in enumerate(zip(images, thumbs, strict=True)):
        r, c = divmod(k, cols)
        x0, y0 = c * w, r * (h + label_h)
        sheet.paste(im, (x0 + (w - im.width) // 2, y0 + label_h))
        draw.text((x0 + 6, y0 + 2), label, fill="black", font=font)
    with atomic_open(path, "wb", fsync=False) as fh:
        sheet.save(fh, format="PNG", optimize=False)
    return path

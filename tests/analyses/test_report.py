"""The results report (index.md, index.html, contact sheet) and the provenance record."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cevns.analyses.report import MAX_EMBEDDED_ROWS, quick_folder, write_report


@pytest.fixture(scope="module")
def report(quick_items):
    out, _, records = quick_items
    files = write_report(out, records)
    return out, records, files


def test_report_files(report):
    out, _, files = report
    assert [f.name for f in files] == ["index.md", "index.html", "contact_sheet.png"]
    for f in files:
        assert f.stat().st_size > 500


def test_markdown_renders_tables_and_images_in_commonmark(report):
    """Rendered with markdown-it (CommonMark + the table extension of GFM): every pipe table is
    a real <table> (a blank line precedes each), every figure an <img> whose file exists."""
    from markdown_it import MarkdownIt

    out, records, _ = report
    text = (out / "index.md").read_text()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and not lines[i - 1].startswith("|"):
            assert lines[i - 1] == "", f"no blank line before the table at line {i + 1}"
    html = MarkdownIt("commonmark").enable("table").render(text)
    n_tables = len(re.findall(r"^\| --- ", text, flags=re.M))
    assert html.count("<table>") == n_tables >= 4  # fig1, fig8, table3, events, fig7 …
    assert "| ---" not in html  # no table left as raw pipes
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) == 5
    for src in images:
        assert (out / src).exists()
    # no long table embedded: fig1's 200+ spectrum bins are linked as CSV
    for body in re.findall(r"<tbody>(.*?)</tbody>", html, flags=re.S):
        assert body.count("<tr>") <= MAX_EMBEDDED_ROWS
    assert "[fig1_spectra.csv](fig1/fig1_spectra.csv)" in text


def test_report_marks_quick_items_and_the_table3_calibration(report):
    out, _, _ = report
    md = (out / "index.md").read_text()
    html = (out / "index.html").read_text()
    assert "Quick preview" in md and "Quick preview" in html
    assert md.count("*(quick preview)*") == 6
    # Table 3 agreement is partly by construction: the report says so next to the numbers
    section = md[md.index("## table3"):]
    assert "calibrated" in section.split("## ", 2)[1] or "fitted to the paper" in section


def test_report_captions_and_provenance(report):
    out, _, _ = report
    md = (out / "index.md").read_text()
    fig8 = md[md.index("## fig8"):].split("\n## ", 1)[0]
    assert "Δχ²" in fig8 and "σ_α = 0.1" in fig8  # the caption says what is drawn
    prov = json.loads((out / "fig8" / "provenance.json").read_text())
    assert re.fullmatch(r"[0-9a-f]{64}", prov["source_sha256"])
    assert prov["source_sha256"][:12] in fig8


def test_html_is_self_contained(report):
    out, _, _ = report
    page = (out / "index.html").read_text()

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.refs = []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag in ("img", "script", "link"):
                self.refs.append((tag, a.get("src") or a.get("href")))

    parser = Links()
    parser.feed(page)
    assert all(tag == "img" for tag, _ in parser.refs)  # no scripts, no stylesheets to fetch
    for _, src in parser.refs:
        assert not re.match(r"^[a-z]+:", src) and not src.startswith("/")  # relative links
        assert (out / src).exists()


def test_contact_sheet_holds_every_figure(report):
    from PIL import Image

    out, _, _ = report
    with Image.open(out / "contact_sheet.png") as im:
        w, h = im.size
        assert w >= 1200 and h >= 250
        # every thumbnail cell has ink: 5 figures in a 5-column sheet, one row
        grey = im.convert("L")
        cols = 5
        for k in range(5):
            cell = grey.crop((k * w // cols, 20, (k + 1) * w // cols, h))
            assert cell.getextrema()[0] < 100, f"thumbnail {k} is blank"


def test_quick_runs_go_to_their_own_folder(tmp_path):
    assert quick_folder(tmp_path) == tmp_path / "quick"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_index_html_in_a_headless_browser(report, tmp_path):
    """Chromium loads index.html: the page is not blank and every image has loaded.

    A copy of the page with a small script is written next to it; the script writes each image's
    ``naturalWidth`` into the DOM, which ``--dump-dom`` prints.
    """
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium binary (apt-get install chromium)")
    out, _, _ = report
    page = (out / "index.html").read_text()
    probe = ("<script>window.addEventListener('load', () => {"
             "const w = [...document.images].map(i => i.complete ? i.naturalWidth : 0);"
             "document.body.setAttribute('data-widths', w.join(','));});</script>")
    test_page = out / "_browser_probe.html"
    test_page.write_text(page.replace("</body>", probe + "</body>"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--allow-file-access-from-files", f"--user-data-dir={tmp_path / 'profile'}"]
    try:
        dom = subprocess.run([browser, *flags, "--virtual-time-budget=10000", "--dump-dom",
                              test_page.as_uri()], capture_output=True, text=True, timeout=120)
        shot = tmp_path / "shot.png"
        subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1200,1600",
                        (out / "index.html").as_uri()], capture_output=True, timeout=120)
    finally:
        test_page.unlink(missing_ok=True)
    m = re.search(r'data-widths="([^"]*)"', dom.stdout)
    assert m, dom.stderr[-2000:]
    widths = [int(w) for w in m.group(1).split(",") if w]
    assert len(widths) == 5 and all(w > 100 for w in widths), widths
    from PIL import Image

    with Image.open(shot) as im:
        lo, hi = im.convert("L").getextrema()
        assert hi - lo > 100  # text and figures, not a blank page
        import numpy as np

        pixels = np.asarray(im.convert("RGB").resize((300, 400))).reshape(-1, 3)
        assert len(np.unique(pixels, axis=0)) > 50  # figures in colour, not a flat page


def test_source_digest_is_stable_and_sees_changes(tmp_path):
    from cevns.provenance import source_digest

    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.toml").write_text("k = 2\n")
    (pkg / "notes.txt").write_text("not source")
    d1 = source_digest(pkg)
    (pkg / "notes.txt").write_text("changed, but not source")
    assert source_digest(pkg) == d1
    (pkg / "sub" / "b.toml").write_text("k = 3\n")
    assert source_digest(pkg) != d1
    # moving the tree elsewhere does not change it
    (pkg / "sub" / "b.toml").write_text("k = 2\n")
    shutil.copytree(pkg, tmp_path / "elsewhere")
    assert source_digest(tmp_path / "elsewhere") == d1


def test_package_source_digest_matches_a_direct_hash():
    """The package digest equals an independent recomputation over the installed files."""
    import hashlib

    import cevns
    from cevns.provenance import source_digest

    root = Path(cevns.__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(q for q in root.rglob("*") if q.suffix in (".py", ".toml", ".mplstyle")
                    and "__pycache__" not in q.parts):
        rel = p.relative_to(root).as_posix().encode()
        data = p.read_bytes()
        h.update(len(rel).to_bytes(4, "big") + rel + len(data).to_bytes(8, "big") + data)
    assert source_digest() == h.hexdigest()


@pytest.mark.parametrize(("item", "says", "never"), [
    # Table 3 / Fig. 4: a combination of neutron radii of different nuclei means nothing
    ("fig4", "for each detector (not combined)", "combination (black)"),
    ("fig2", "for each detector and their combination (black)", "not combined"),
    # Appendix B threshold and composition studies: per detector, no combination drawn
    ("appB1", ", per detector: the region", "combined (black)"),
    ("appB3", ", per detector: the region", "combined (black)"),
    # the σ_β study: each variant sets its own σ_β
    ("appB2", "σ_β = 0.01, 0.05, 0.1 (by variant)", "σ_β = 0.01."),
    ("fig16", "per detector and combined (black)", "by variant"),
    # Fig. 9: only the combination; Fig. 5: the true R_n depends on the detector, Figs. 9/18:
    # no oscillation lies at sin²2θ = 0, off the logarithmic axis — no circle is drawn
    ("fig9", "one panel per variant, all detectors combined", "open circle"),
    ("fig5", "the injected point.", "open circle"),
    ("fig18", "detectors as colours (combined in black)", "open circle"),
    # Appendix B: the ratio strips say what they divide by; panels without them say nothing
    ("appB3", "One panel per detector, its variants as line styles. Lower strip: each "
     "variant's limit divided by that of 'natural-effective nucleus'", "One panel per variant"),
    ("appB2", "divided by that of 'σ_β = 1 %'", "One panel per"),
    ("fig16", "One panel per variant.", "Lower strip"),
    # the tied-mass panels and the real-data overlays are described (referee review)
    ("fig11", "Right of each panel: the same limits against the tied mass m₄", "Lower strip"),
    ("fig11", "Grey: limits from real data named in the legend (overlay 'coherent'", "None"),
    ("fig11", "one per variant, in that variant's dash pattern", "None"),
    ("fig20", "against the tied mass", "Grey: limits from real data"),
    ("fig7", "Grey: limits from real data", "one per variant"),
    # kinds with their own figure_caption: the report shows the whole text, not the title alone
    ("fig3", "Drawn at another scale than their Q, so that no marker hides another: Qweak",
     "None"),
    ("appB4", "Cases: sin²θ_W; light vector B−L, m_V = 0.01 MeV", "this package"),
])
def test_captions_describe_what_the_figure_draws(item, says, never):
    """The caption follows the analysis file: no combined curve when ``combine = false`` or
    ``per_detector = false`` draws only the combination, σ values of the variants when they set
    their own, the injected point's circle only when the figure can draw it (a referee found
    each of these captions contradicting its figure)."""
    from cevns.analyses import shipped_analysis
    from cevns.analyses.report import caption

    text = caption(shipped_analysis(item))
    assert says in text and never not in text, text


def test_fig1_caption_explains_its_benchmarks_and_the_table_is_plain_text(tmp_path):
    """Fig. 1's caption lists the new-physics benchmarks and says why the non-unitarity curve
    lies above the SM (a referee expects a deficit); the benchmark table names each curve in
    plain text, not in the figure's mathtext ("$\\\\alpha_{11}$")."""
    import csv as _csv

    from cevns.analyses import RunOptions, run_analysis, shipped_analysis
    from cevns.analyses.report import caption

    an = shipped_analysis("fig1")
    text = caption(an)
    assert "3 new-physics benchmarks, each the total signal (SM + new physics)" in text
    # the benchmarks as a reader writes them (the figure's mathtext in Unicode), the detectors
    # drawn named, the line families as drawn (flavours thin solid, benchmarks broken)
    assert "non-unitarity: α₁₁ = 0.9" in text and "lies above the SM" in text
    assert "light vector (B−L): g = 2×10⁻⁵, m_V = 10 MeV" in text
    assert "μ_νμ = 2×10⁻⁹ μ_B, m₄ = 10 MeV" in text
    assert "in CsI, Xe, Ge and Si (3 years)" in text and "thin solid" in text
    assert "Lower strips: each benchmark divided by the SM total" in text
    assert "1/α₁₁²" in text and "$" not in text and "\\" not in text
    small = an.model_copy(update={"detectors": ("Si",)})
    run_analysis(small, tmp_path, RunOptions(quick=True, no_figures=True))
    rows = list(_csv.DictReader((tmp_path / "fig1_new_physics.csv").open(encoding="utf-8")))
    assert [r["curve"] for r in rows] == [c.plain_label for c in an.new_physics]
    assert not any("$" in r["curve"] or "\\\\" in r["curve"] for r in rows)

"""Writing HEPData table YAML: hepdata-lib's ``Table.write_yaml`` against cevns's libyaml writer.

Run from the repository root, on the output of a reproduce run::

    cevns reproduce --quick --out /tmp/results
    PYTHONPATH=src python benchmarks/bench_hepdata.py /tmp/results

Both writers get the same hepdata-lib ``Table`` objects (built once, not timed) and write into
fresh folders; the YAML documents they produce are parsed back and compared, so the speed-up is
for identical content. Best of ``--repeat`` runs each.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import cevns.analyses.hepdata as hd

    # build the tables once, as write_hepdata does (validation and writing not included)
    builder = hd._Builder()
    from cevns.analyses.base import parse_analysis

    for folder in hd._item_folders(args.results, None):
        import json

        an = parse_analysis(json.loads((folder / "config.json").read_text()))
        files = json.loads((folder / "provenance.json").read_text())["files"]
        if an.kind == "scan2d":
            hd._scan2d(builder, an, folder, None, files)
        else:
            {"spectra": hd._spectra, "event-table": hd._event_table, "profile": hd._profile,
             "exclusion": hd._exclusion}[an.kind](builder, an, folder, None)
    tables = builder.sub.tables
    n_values = sum(len(v.values) for t in tables for v in t.variables)

    def reference(out: Path) -> None:
        for t in tables:
            t.write_yaml(str(out))

    def ours(out: Path) -> None:
        hd._write_files(builder.sub, out)

    best = {}
    outs = {}
    for name, func in (("hepdata-lib Table.write_yaml", reference), ("cevns _write_files", ours)):
        times = []
        for _ in range(args.repeat):
            out = Path(tempfile.mkdtemp(prefix="bench_hepdata_"))
            start = time.perf_counter()
            func(out)
            times.append(time.perf_counter() - start)
        best[name] = min(times)
        outs[name] = out
    ref_dir, our_dir = outs.values()
    for t in tables:
        f = hd._table_file(t.name)
        a = yaml.safe_load((ref_dir / f).read_text())
        b = yaml.safe_load((our_dir / f).read_text())
        assert a == b, f"{f}: the two writers disagree"
    print(f"{len(tables)} tables, {n_values} values; identical YAML content")
    for name, t in best.items():
        print(f"  {name:32s} {t:7.2f} s")
    ref, new = best.values()
    print(f"  speed-up {ref / new:.1f}x")


if __name__ == "__main__":
    main()

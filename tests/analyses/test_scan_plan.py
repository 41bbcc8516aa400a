"""The scan plumbing of the sensitivity analyses: all variants of an item in one queue, planned
tile shapes, the per-worker cache of the parsed analysis; results identical to ``chi2_grid``."""

from __future__ import annotations

import json

import numpy as np

from cevns.analyses import RunOptions
from cevns.analyses.catalogue import shipped_analysis
from cevns.analyses.scan_plan import executor_workers, plan_tile_shapes, tile_cost_model
from cevns.analyses.sensitivity import _PARSED, _grid_task, chi2_grid, compute_config, scan_chi2
from cevns.scan import Grid, ScanStore, Tiling, make_executor


def small_fig6():
    """Fig. 6 (4 variants) with two detectors; quick grids are 25 × 25."""
    an = shipped_analysis("fig6")
    return an.model_copy(update={"detectors": ("CsI", "Ar")})


def test_variants_run_as_one_batch_and_equal_chi2_grid(tmp_path):
    an = small_fig6()
    options = RunOptions(quick=True, extra={"scan_root": tmp_path / "scans"})
    seen = []
    options.progress = lambda label, done, total: seen.append(label)
    first = scan_chi2(an, tmp_path, options, variant_index=0)
    # one batch computed all four variants; the other three wait for their calls
    assert len(options.extra["scan_results"]) == 3
    assert {label.split("[")[1] for label in seen} == {v.label + "]" for v in an.variants}
    stores = sorted((tmp_path / "scans").iterdir())
    assert len(stores) == 4
    grid_shape = (25, 25)
    (planned,) = set(plan_tile_shapes([grid_shape] * 4, 2, executor_workers("serial")))
    for path in stores:
        st = ScanStore(path)
        assert st.complete and st.tile_shape == planned
        (run,) = st.runs
        assert run["batch_of"] == 4 and run["status"] == "completed"
    for k in (0, 2):
        got = first if k == 0 else scan_chi2(an, tmp_path, options, variant_index=k)
        stop = compute_config(an, k, quick=True)["compute"]["stop_level"]  # the early-stop level of a scan
        expected = chi2_grid(an, quick=True, variant=an.variants[k], stop_level=stop,
                             with_status=True)
        assert got.keys() == expected.keys()
        for name in got:  # tiles and batching change nothing, bit for bit
            assert got[name].tobytes() == expected[name].tobytes(), name
    assert len(options.extra["scan_results"]) == 2  # handed out ones are dropped


def test_parsed_analysis_is_cached_per_process_by_config_digest():
    an = small_fig6()
    config = compute_config(an, 1, quick=True)
    grid = Grid({ax.parameter: ax.grid(True) for ax in an.axes()})
    tile = Tiling(grid, (3, 25))[2]
    _PARSED.clear()
    a = _grid_task(config, tile)
    assert len(_PARSED) == 1
    b = _grid_task(json.loads(json.dumps(config)), tile)  # an equal config: a cache hit
    assert len(_PARSED) == 1
    other = compute_config(an, 3, quick=True)
    _grid_task(other, tile)
    assert len(_PARSED) == 2  # keyed on the content: another variant is another entry
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_tile_plan_follows_the_cost_model():
    model = tile_cost_model(6)
    shapes = plan_tile_shapes([(200, 200)], 6, workers=2)
    (rows, cols) = shapes[0]
    assert cols == 200 and 1 <= rows <= 200
    assert 0.3 - 1e-9 <= model.tile_seconds((rows, 200)) <= 1.0 + model.tile_seconds((1, 200))
    assert executor_workers(make_executor({"name": "processes", "max_workers": 3})) == 3
    assert executor_workers("serial") == 1

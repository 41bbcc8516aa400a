"""Toy coverage of the release fits (cevns.fits.coverage).

The expected coverage of a 68.27 % interval is 0.6827 by definition; with n toys the binomial
uncertainty is √(p(1 − p)/n). The default-suite test runs 64 toys (a smoke test of the driver
with a loose statistical check); the slow test runs 1000 toys per release and parameter and
checks the acceptance criteria of the fits (coverage within ±3 %, bias below 0.1σ, each with
three standard errors of toy-statistics slack).
"""

from __future__ import annotations

import numpy as np
import pytest

from cevns.errors import ConfigError
from cevns.fits import DEFAULT_PARAMETERS
from cevns.fits.coverage import (
    CoverageResult,
    coverage_table,
    coverage_table_from_json,
    release_coverage,
    release_poi_grid,
    release_toy_channels,
)
from cevns.stats.toys import CL_68


def test_poi_grid_spans_the_asimov_region_and_contains_the_truth():
    grid, truth = release_poi_grid("coherent-csi-2017", "n_cevns")
    assert truth in grid
    assert np.all(np.diff(grid) > 0)
    assert grid[0] >= 0.0 and grid[0] < truth < grid[-1]
    chans = release_toy_channels(grid, "coherent-csi-2017", "n_cevns")
    assert chans[0].grid_shape == (grid.size,)


def test_small_run_and_table():
    res = release_coverage("coherent-csi-2021", "n_cevns", n_toys=32, seed=1)
    assert isinstance(res, CoverageResult)
    assert res.n_toys == 32 and res.n_failed <= 2
    assert abs(res.coverage_68 - CL_68) < 4 * max(res.coverage_68_err, 0.05)
    assert 0.5 < res.pull_width < 1.5
    # same seed, other tiling: the same toys and fits (restarts included); the profiler's blocks
    # then hold other rows, which changes the last bits of BLAS sums (measured: 4e-15 relative)
    again = release_coverage("coherent-csi-2021", "n_cevns", n_toys=32, seed=1, toys_per_tile=12)
    for key, value in res.row().items():
        assert again.row()[key] == (value if isinstance(value, str) else pytest.approx(value,
                                                                                     rel=1e-12))
    np.testing.assert_allclose(again.best, res.best, rtol=1e-12)
    table = coverage_table([("coherent-csi-2021", res)])
    lines = table.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("| release |")
    assert "coherent-csi-2021 | n_cevns" in lines[2]
    assert f"{res.coverage_68:.3f} ± {res.coverage_68_err:.3f}" in lines[2]
    # the same table from the JSON rows of scripts/coherent_coverage.py (its key names)
    row = {{"coverage_68": "coverage", "coverage_68_err": "coverage_err"}.get(k, k): v
           for k, v in res.row().items()}
    assert coverage_table_from_json({"coherent-csi-2021": {"n_cevns": row}}) == table
    del row["pull_width"]
    with pytest.raises(ConfigError, match="missing"):
        coverage_table_from_json({"coherent-csi-2021": {"n_cevns": row}})


#: Documented exception to the |bias| < 0.1σ criterion (docs/statistics.md §7): profiling the
#: LAr-2020 release's CEvNS F90 and timing shape nuisances biases the maximum-likelihood N_CEvNS
#: and sin²θ_W upward (measured +0.185σ / +0.204σ with shape-only interpolation, 1000 toys;
#: dropping both nuisances from the fit removes it; first-order estimate
#: σ_N² N D/(1 + N²D)² = 0.15σ), a property of the estimator of the release's likelihood that is
#: reported, not corrected. Bounded here instead: |bias| < 0.3σ.
BIAS_LIMIT = {"coherent-lar-2020": 0.3}


@pytest.mark.slow
@pytest.mark.parametrize(("release", "parameter"),
                         [(r, p) for r, ps in DEFAULT_PARAMETERS.items() for p in ps])
def test_full_coverage(release, parameter):
    res = release_coverage(release, parameter, n_toys=1000, executor={"name": "processes",
                                                                      "max_workers": 2})
    assert res.n_failed <= 10
    assert abs(res.coverage_68 - CL_68) < 0.03 + 3 * res.coverage_68_err
    if release in BIAS_LIMIT:
        assert abs(res.bias_sigma) < BIAS_LIMIT[release]
    else:
        assert abs(res.bias_sigma) < 0.1 + 3 * res.bias_sigma_err

"""More bad inputs to the installed ``cevns`` command (a later audit than ``test_bad_inputs.py``).

The cases, helpers and checks are those of ``test_bad_inputs.py`` (one ``error:`` line, exit 2,
no traceback, the offending thing named, nothing written outside the output folder); they live
in their own module so that this battery runs on its own in a few seconds.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from test_bad_inputs import DETECTOR, PRESET, RUN, Case, _run, analysis, preset, replace

PROFILE = analysis(kind='"profile"', scenario='{ name = "sm" }',
                   scan='{ parameter = "sin2_theta_w", start = 0.18, stop = 0.30, num = 5 }')

CASES = [
    # -- a value of the wrong TOML type is refused, not converted (true → 1, "no" → false) --------
    Case("preset-mass-true", PRESET, ("detector.Mine.mass_kg", "number", "true"),
         files={"p.toml": preset(replace(DETECTOR, "mass_kg = 10.0", "mass_kg = true"))}),
    Case("preset-mass-quoted", PRESET, ("detector.Mine.mass_kg", "number", '"10"'),
         files={"p.toml": preset(replace(DETECTOR, "mass_kg = 10.0", 'mass_kg = "10"'))}),
    Case("analysis-shared-signal-text", RUN, ("stats.shared_signal", "true or false", '"no"'),
         files={"a.toml": PROFILE + 'stats = { shared_signal = "no" }\n'}),
    Case("analysis-shared-signal-number", RUN, ("stats.shared_signal", "true or false"),
         files={"a.toml": PROFILE + "stats = { shared_signal = 1 }\n"}),
    Case("analysis-sigma-signal-true", RUN, ("stats.sigma_signal", "number", "true"),
         files={"a.toml": PROFILE + "stats = { sigma_signal = true }\n"}),
    Case("analysis-run-years-true", RUN, ("source.run_years", "number"),
         files={"a.toml": analysis("[source]\nrun_years = true\n")}),
    # -- a misspelled parameter gets a suggestion, as a misspelled key does ------------------------
    Case("analysis-parameter-typo", RUN, ("scan", "'sin2_thta_w'", "did you mean 'sin2_theta_w'"),
         files={"a.toml": PROFILE.replace('parameter = "sin2_theta_w"', 'parameter = "sin2_thta_w"')}),
    # -- scan stores -------------------------------------------------------------------------------
    Case("run-scans-folder-is-a-file", (*RUN, "--force", "--executor", "serial"),
         ("out/scans", "not a directory"), files={"a.toml": PROFILE, "out/scans": "x"}),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad-inputs-more")
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {c.id: pool.submit(_run, c, base) for c in CASES}
        return {k: f.result() for k, f in futures.items()}


def test_ids_unique():
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, results):
    res, before, after, folder = results[case.id]
    err = res.stderr
    assert res.returncode == case.code, (res.returncode, err)
    assert "Traceback" not in err and "internal error" not in err, err
    assert "error:" in err, err
    for word in case.names:
        assert word in err, (word, err)
    assert after == before, f"files written outside the output folder: {set(after) - set(before)}"
    assert not res.stdout.strip() or "error" not in res.stdout, res.stdout

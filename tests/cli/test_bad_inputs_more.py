"""More bad inputs to the installed ``cevns`` command (a later audit than ``test_bad_inputs.py``).

The cases, helpers and checks are those of ``test_bad_inputs.py`` (one ``error:`` line, exit 2,
no traceback, the offending thing named, nothing written outside the output folder); they live
in their own module so that this battery runs on its own in a few seconds.
"""

from __future__ import annotations

import pytest
from test_bad_inputs import (
    DETECTOR,
    PRESET,
    RUN,
    Case,
    analysis,
    check_refused,
    preset,
    replace,
    run_cases,
)

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
    # -- fourth audit: an NGI mediator mass without an upper bound overflowed (m_X² at 1e200 MeV in
    # a fit: internal OverflowError; an exclusion grid up to 1e300 MeV: matplotlib's log ticks)
    Case("fit-fix-mediator-mass-huge",
         ("fit", "coherent-csi-2017", "-p", "ngi.coupling", "--option", "interaction=vector",
          "--fix", "mediator_mass_MeV=1e200", "--out", "{d}/out"),
         ("mediator_mass_MeV", "1e+09 MeV")),
    Case("exclusion-mediator-mass-axis-huge", RUN, ("x", "mediator_mass_MeV", "1e+09 MeV"),
         files={"a.toml": analysis(
             'scenario = { name = "ngi", options = { interaction = "vector" } }\n'
             'x = { parameter = "mediator_mass_MeV", start = 1e-300, stop = 1e300, num = 6, '
             'spacing = "log" }\n'
             'y = { parameter = "coupling", start = 1e-6, stop = 1e-2, num = 6, spacing = "log" }\n',
             kind='"exclusion"', detectors='["Ar"]')}),
    # a logarithmic figure axis over a grid starting at 0 drew an empty figure, with a raw
    # matplotlib UserWarning and exit 0
    Case("scan2d-log-axis-from-zero", RUN, ("log_x", "x axis above 0", "sin2_theta_w"),
         files={"a.toml": analysis(
             'log_x = true\nscenario = { name = "sm", options = { form_factor = "separate" } }\n'
             'x = { parameter = "sin2_theta_w", start = 0.0, stop = 1.0, num = 5 }\n'
             'y = { parameter = "neutron_radius_fm", start = 0.5, stop = 7.0, num = 5 }\n',
             kind='"scan2d"', detectors='["Ar"]')}),
    # a detector that sees no CEvNS event from the source (here a source below 2 MeV) gave a
    # profile with Δχ² = 0 everywhere, a "best fit" at the grid's edge and exit 0
    Case("profile-without-signal", (*RUN, "--executor", "serial"),
         ("detector CsI", "no CEvNS events", "lowE"),
         files={"a.toml": PROFILE.replace('name = "mine"', 'name = "z1"') + (
             '[source]\npreset = "lowE"\n[source.lowE]\nkind = "tabulated"\n'
             'normalisation = "per-cm2-s"\nbaseline_m = 20.0\nbeam_hours_per_year = 7000.0\n'
             'duty_factor = 1.0\nrun_years = 1.0\n'
             'spectrum = { energy_MeV = [0.0, 1.0, 2.0], flux = { nuebar = [0.0, 1e12, 0.0] } }\n')}),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run_cases(CASES, tmp_path_factory.mktemp("bad-inputs-more"))


def test_ids_unique():
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, results):
    check_refused(case, results[case.id])

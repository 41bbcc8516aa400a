"""The installed ``cevns`` command on the inputs of a later audit: atoms per molecule out of any
physical range, a Poisson-PE threshold no recoil comes near, detector names that clash (a rename
in ``detector_overrides``, the reserved ``combined``), a reference interval upside down, a preset's
unknown ``default_source``, and a refused enrichment followed by a spurious second message.

The cases, helpers and checks are those of ``test_bad_inputs.py`` (exit 2, an ``error:`` message
naming the offending thing, no traceback, nothing written outside the output folder); before the
fixes each case exited 0 with a wrong or lost result, or with an internal error, or (the
enrichment cases) printed a second, spurious message.
"""

from __future__ import annotations

import pytest
from test_bad_inputs import PRESET, RUN, Case, analysis, check_refused, run_cases

PROFILE = analysis(kind='"profile"', detectors='["CsI", "Xe"]', scenario='{ name = "sm" }',
                   scan='{ parameter = "sin2_theta_w", start = 0.18, stop = 0.30, num = 5 }')


def ge_preset(target: str = '{ element = "Ge" }', extra: str = "") -> str:
    return ("schema_version = 1\n[detector.Mine]\nmass_kg = 10.0\nthreshold_keVnr = 1.0\n"
            f"targets = [{target}]\n{extra}")


def poisson(light_yield: str) -> str:
    return ('schema_version = 1\n[detector.Mine]\nformula = "Ge"\nmass_kg = 10.0\n'
            "[detector.Mine.response]\nquenching = { model = \"lindhard\", k = 0.16 }\n"
            f'smearing = {{ model = "poisson-pe", light_yield = {light_yield} }}\n'
            'threshold = { value = 1, unit = "PE" }\nbins = { unit = "PE", width = 1, stop = 9 }\n')


COMBINED = ('schema_version = 1\n[detector.combined]\nformula = "NaI"\nmass_kg = 10.0\n'
            "threshold_keVnr = 5.0\n")
NOWHERE = ge_preset(extra='default_source = "nowhere"\n')

CASES = [
    # -- 1. atoms_per_molecule: was an internal ZeroDivisionError, an error blaming mass_kg, or 0 events
    Case("atoms-5e-324", PRESET, ("detector.Mine.targets.0.atoms_per_molecule", "5e-324"),
         files={"p.toml": ge_preset('{ element = "Ge", atoms_per_molecule = 5e-324 }')}),
    Case("atoms-1e-300", PRESET, ("atoms_per_molecule", "1e-300"),
         files={"p.toml": ge_preset('{ element = "Ge", atoms_per_molecule = 1e-300 }')}),
    Case("atoms-1.7e308", PRESET, ("atoms_per_molecule", "less than or equal to 10000"),
         files={"p.toml": ge_preset('{ element = "Ge", atoms_per_molecule = 1.7e308 }')}),
    Case("atoms-formula-count", PRESET, ("atoms_per_molecule", "10000"),
         files={"p.toml": ge_preset(extra='formula = "Ge100000"\n').replace(
             'targets = [{ element = "Ge" }]\n', "")}),
    # -- 2. a Poisson-PE threshold out of reach: was "internal error: ValueError: need at least one
    #       array to concatenate"
    # (1e-3 PE/keVee was refused too until the floor of a photoelectron response became 10⁻³ of
    # the threshold: that signal is now counted, tests/experiment/test_audit_validation.py)
    Case("poisson-ly-1e-6", PRESET, ("detector Mine", "response.threshold", "far above",
                                     "light_yield"),
         files={"p.toml": poisson("1e-6")}),
    Case("poisson-ly-1e-9", PRESET, ("response.threshold", "far above"),
         files={"p.toml": poisson("1e-9")}),
    # -- 3. detector names that clash: exited 0 with a result lost or merged into another
    Case("override-rename-to-other", RUN, ("detector_overrides.CsI.name", "cannot be renamed"),
         files={"a.toml": PROFILE + 'detector_overrides = { CsI = { name = "Xe" } }\n'}),
    Case("override-rename-to-combined", RUN, ("detector_overrides.CsI.name",),
         files={"a.toml": PROFILE + 'detector_overrides = { CsI = { name = "combined" } }\n'}),
    Case("override-rename-event-table", RUN, ("detector_overrides.CsI.name",),
         files={"a.toml": analysis('detector_overrides = { CsI = { name = "Xe" } }\n',
                                   detectors='["CsI", "Xe"]')}),
    Case("preset-detector-combined", (*RUN, "--presets", "{d}/comb.toml"),
         ("detector.combined.name", "'combined' is reserved"),
         files={"comb.toml": COMBINED,
                "a.toml": PROFILE.replace('["CsI", "Xe"]', '["CsI", "combined"]')}),
    Case("inline-detector-combined", RUN, ("detector.combined.name", "reserved"),
         files={"a.toml": PROFILE.replace('["CsI", "Xe"]', '["CsI", "combined"]')
                + COMBINED.replace("schema_version = 1\n", "")}),
    Case("spectra-preset-combined", ("spectra", "--presets", "{d}/p.toml", "-d", "combined"),
         ("detector.combined.name", "reserved"), files={"p.toml": COMBINED}),
    Case("detectors-differ-in-case", RUN, ("'CsI' and 'csi'", "letter case"),
         files={"a.toml": analysis('[detector.csi]\nformula = "CsI"\nmass_kg = 10.0\n'
                                   "threshold_keVnr = 5.0\n", detectors='["CsI", "csi"]')}),
    # -- 4. a reference interval upside down: was tabulated
    Case("reference-reversed", RUN, ("reference", "CsI = [0.3, 0.2]", "lower end"),
         files={"a.toml": PROFILE + "reference = { CsI = [0.3, 0.2] }\n"}),
    # -- 5. a preset's unknown default_source: accepted, failed only when used
    Case("default-source-spectra", ("spectra", "--presets", "{d}/p.toml", "-d", "CsI"),
         ("detector.Mine.default_source", "'nowhere'"), files={"p.toml": NOWHERE}),
    Case("default-source-analysis-presets", RUN, ("presets", "default_source", "'nowhere'"),
         files={"p.toml": NOWHERE,
                "a.toml": analysis(detectors='["Mine"]', presets='["p.toml"]')}),
]

#: 6. A refused target: its message was followed by "targets: Tuple should have at least 1 item
#: after validation, not 0"; now one detail line under the error.
ONE_MESSAGE = [
    Case("enrichment-negative", PRESET, ("enrichment of Ge", "Ge76", "-0.5"),
         files={"p.toml": ge_preset('{ element = "Ge", enrichment = { Ge76 = -0.5, Ge74 = 0.12 } }')}),
    Case("enrichment-empty", PRESET, ("enrichment of Ge", "empty"),
         files={"p.toml": ge_preset('{ element = "Ge", enrichment = {} }')}),
    Case("atoms-negative-one-message", PRESET, ("atoms_per_molecule",),
         files={"p.toml": ge_preset('{ element = "Ge", atoms_per_molecule = -1 }')}),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    everything = [*CASES, *ONE_MESSAGE]
    assert len({c.id for c in everything}) == len(everything)  # ids name the case folders
    return run_cases(everything, tmp_path_factory.mktemp("audit-validation"))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, results):
    check_refused(case, results[case.id])


@pytest.mark.parametrize("case", ONE_MESSAGE, ids=[c.id for c in ONE_MESSAGE])
def test_a_refused_target_gives_one_message_and_no_spurious_second(case, results):
    check_refused(case, results[case.id])
    err = results[case.id][0].stderr
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Tuple should have" not in err and "at least 1 item" not in err, err
    assert len(lines) == 2 and lines[0].startswith("error: invalid configuration"), err

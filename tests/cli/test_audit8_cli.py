"""Command-line follow-ups of the eighth bad-input audit (installed ``cevns``, as a user runs it):
``run --quick`` never over full results, ``fit`` options that would change nothing, scenario
option messages in the words of the command line, and environment variables checked once."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from test_output_safety import _refused, cevns  # the same subprocess helpers

#: 21 points: a full run computes 21, a --quick preview 11 (``AxisSpec.grid``)
PROFILE = """schema_version = 1
name = "p8"
title = "audit 8"
kind = "profile"
detectors = ["CsI"]
scenario = { name = "sm" }
scan = { parameter = "sin2_theta_w", start = 0.18, stop = 0.30, num = 21 }
stats = { sigma_signal = 0.10, sigma_background = 0.01 }
"""

EXCLUSION = """schema_version = 1
name = "ex"
title = "test"
kind = "exclusion"
detectors = ["CsI"]
level = "90cl_2dof"

[scenario]
name = "ngi"
options = { interaction = "vector" }

[x]
parameter = "mediator_mass_MeV"
start = 1
stop = 1e3
num = 4
spacing = "log"

[y]
parameter = "coupling"
start = 1e-6
stop = 1e-2
num = 5
spacing = "log"
"""


def _digests(folder) -> dict[str, str]:
    """Every file directly in ``folder`` by name → SHA-256 of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def _rows(path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) - 1


# -- 1: cevns run --quick ------------------------------------------------------------------------


def test_run_quick_writes_to_out_quick_and_never_over_full_results(tmp_path):
    """``cevns run F --out O`` then ``cevns run F --out O --quick`` replaced O's full tables with
    the coarse preview (rc 0, config.json unchanged; docs/figures.md promises O/quick/)."""
    (tmp_path / "p.toml").write_text(PROFILE)
    run = ("run", "p.toml", "--out", "o", "--executor", "serial", "--no-figures")
    res = cevns(*run, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    full = _digests(tmp_path / "o")
    assert _rows(tmp_path / "o" / "p8.csv") > 0
    res = cevns(*run, "--quick", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert _digests(tmp_path / "o") == full  # nothing of the full results replaced
    quick = tmp_path / "o" / "quick"
    assert (quick / "p8.csv").is_file() and (quick / "config.json").is_file()
    assert json.loads((quick / "provenance.json").read_text())["quick"] is True
    assert json.loads((tmp_path / "o" / "provenance.json").read_text())["quick"] is False
    assert f"files in {os.path.join('o', 'quick')}" in res.stderr, res.stderr
    assert "quick preview" in res.stderr and "never overwritten" in res.stderr, res.stderr
    # --resume and --force of a quick run act on O/quick only
    res = cevns(*run, "--quick", "--resume", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = cevns(*run, "--quick", "--force", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert _digests(tmp_path / "o") == full
    # a full run after the preview: same folder, same configuration, O/quick left alone
    kept = _digests(quick)
    res = cevns(*run, "--force", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert _digests(quick) == kept
    assert "quick" not in res.stderr.splitlines()[-1], res.stderr


def test_a_quick_run_into_a_new_folder_then_a_full_run(tmp_path):
    """The preview first: the full run then writes O itself (not confused by O/quick), and the
    resume hint of a quick run names --out O and --quick, not O/quick."""
    (tmp_path / "p.toml").write_text(PROFILE)
    run = ("run", "p.toml", "--out", "o", "--executor", "serial", "--no-figures")
    res = cevns(*run, "--quick", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert not (tmp_path / "o" / "p8.csv").exists()
    quick = _digests(tmp_path / "o" / "quick")
    assert _rows(tmp_path / "o" / "quick" / "p8.csv") > 0
    res = cevns(*run, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "o" / "p8.csv").is_file()
    assert _digests(tmp_path / "o" / "quick") == quick
    assert json.loads((tmp_path / "o" / "provenance.json").read_text())["quick"] is False


# -- 2: --vector-charge / --mediator-mass-mev that no fitted parameter takes ---------------------


@pytest.mark.parametrize(("args", "words"), [
    (("-p", "ngi.coupling", "--option", "interaction=vector", "--vector-charge", "universal"),
     ("--vector-charge universal: applies to the parameter ngi_vector_coupling only",
      "would change nothing", "--option vector_charge=universal")),
    (("-p", "ngi.coupling", "--option", "interaction=vector", "--mediator-mass-mev", "500"),
     ("--mediator-mass-mev 500: applies to the parameters ngi_scalar_coupling",
      "would change nothing", "--fix mediator_mass_MeV=500")),
    (("-p", "sin2_theta_w", "--mediator-mass-mev", "5"),
     ("--mediator-mass-mev 5:", "none is fitted (-p sin2_theta_w)", "would change nothing")),
    (("-p", "sin2_theta_w", "--vector-charge", "universal"),
     ("--vector-charge universal:", "none is fitted (-p sin2_theta_w)")),
    (("-p", "ngi_scalar_coupling", "--vector-charge", "B-L"),
     ("--vector-charge B-L: applies to the parameter ngi_vector_coupling only",)),
    (("--mediator-mass-mev", "20"), ("--mediator-mass-mev 20:", "the release's default set")),
])
@pytest.mark.parametrize("release", ["coherent-csi-2021", "coherent-combined"])
def test_ngi_options_no_fitted_parameter_takes_are_refused(tmp_path, args, words, release):
    """They were ignored (exit 0), and config.json recorded the ignored values: with
    ``-p ngi.coupling`` the B-L limit was reported under "vector_charge": "universal"."""
    res = cevns("fit", release, *args, "--out", "d", "--no-figures", cwd=tmp_path)
    _refused(res, *words)
    assert not (tmp_path / "d").exists()


def test_fit_release_refuses_ngi_options_no_parameter_takes():
    """The API refuses them too (before the release is read)."""
    from cevns.errors import ConfigError
    from cevns.fits import fit_release

    with pytest.raises(ConfigError, match=r"vector_charge='universal' is used only by "
                                          r"ngi_vector_coupling.*options=\{'vector_charge'"):
        fit_release("coherent-csi-2021", ["ngi.coupling"], options={"interaction": "vector"},
                    vector_charge="universal")
    with pytest.raises(ConfigError, match="mediator_mass_MeV=5.0 is used only by"):
        fit_release("coherent-csi-2021", "sin2_theta_w", mediator_mass_MeV=5.0)


# -- 3, 4: scenario options in the words of the command line ------------------------------------


@pytest.mark.parametrize(("args", "words"), [
    (("-p", "ngi.coupling"),
     ("-p ngi.coupling: scenario 'ngi' needs the option interaction",
      "--option interaction=VALUE")),
    (("-p", "ngi.coupling", "-p", "dipole.magnetic_moment", "--option", "interaction=vector"),
     ("-p dipole.magnetic_moment: --option interaction=vector: scenario 'dipole' has no option "
      "'interaction' (valid keys: beyond_reach, channel)",
      "--option applies to every -p parameter", "separate commands")),
    (("-p", "dipole.magnetic_moment", "--option", "chanel=e"),
     ("-p dipole.magnetic_moment: --option chanel=e: scenario 'dipole' has no option 'chanel'",
      "did you mean 'channel'")),
    (("-p", "ngi.coupling", "--option", "name=dipole"),
     ("--option name=dipole: scenario 'ngi' has no option 'name' (valid keys: contact, "
      "coupling_sign, interaction, vector_charge)",
      "scenario 'ngi' needs the option interaction")),
    (("-p", "ngi.coupling", "--option", "interaction=vector", "--option", "name=dipole"),
     ("-p ngi.coupling: --option name=dipole: scenario 'ngi' has no option 'name' (valid keys: "
      "contact",)),
])
@pytest.mark.parametrize("release", ["coherent-csi-2021", "coherent-combined"])
def test_scenario_option_errors_name_the_command_line_option(tmp_path, args, words, release):
    """They read ``invalid configuration (scenario): scenario.interaction: Field required`` (two
    lines, no --option), an unknown key without the scenario's name, and ``--option name=…``
    was an internal error (``get_scenario() got multiple values for argument 'name'``, exit 1)."""
    res = cevns("fit", release, *args, "--out", "d", "--no-figures", cwd=tmp_path)
    _refused(res, *words)
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not (tmp_path / "d").exists()


# -- 5: environment variables --------------------------------------------------------------------


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CEVNS_")}
    return {**env, **values}


def test_fit_refuses_a_broken_cevns_presets(tmp_path):
    """Every other command refused it; ``cevns fit`` ignored it (exit 0)."""
    res = cevns("fit", "coherent-csi-2021", "-p", "sin2_theta_w", "--out", "d", "--no-figures",
                cwd=tmp_path, env=_env(CEVNS_PRESETS=str(tmp_path / "nope.toml")))
    _refused(res, "CEVNS_PRESETS", "nope.toml", "no such file")
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("value", ["maybe", "yes", "2"])
@pytest.mark.parametrize("command", [("info",), ("fit", "coherent-csi-2021", "--out", "d")])
def test_an_undocumented_cevns_debug_is_refused(tmp_path, value, command):
    """``CEVNS_DEBUG=maybe`` was taken as "on"; documented: 1 (and 0 or empty for off)."""
    res = cevns(*command, cwd=tmp_path, env=_env(CEVNS_DEBUG=value))
    _refused(res, f"CEVNS_DEBUG={value!r}", "valid values are 1")
    assert not (tmp_path / "d").exists()


def test_a_bad_cevns_max_grid_bytes_is_one_environment_error(tmp_path):
    """It was reported twice, as errors of the file's fields ``base.toml.x`` and ``.y``."""
    (tmp_path / "base.toml").write_text(EXCLUSION)
    res = cevns("run", "base.toml", "--out", "o", cwd=tmp_path,
                env=_env(CEVNS_MAX_GRID_BYTES="abc"))
    _refused(res, "error: CEVNS_MAX_GRID_BYTES='abc': not a number of bytes")
    assert "base.toml" not in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not (tmp_path / "o").exists()

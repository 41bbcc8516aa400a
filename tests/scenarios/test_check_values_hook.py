"""The optional ``Scenario.check_values(detector, source, values)`` hook: a plug-in scenario
refuses values it cannot compute, and an analysis file's ``[[new_physics]]`` benchmark is then
refused when the file is read, naming the benchmark (before any spectrum is computed)."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

from cevns.analyses import parse_analysis
from cevns.errors import ConfigError
from cevns.physics.basis import SMBasis
from cevns.physics.constants import SIN2_THETA_W
from cevns.scenarios import Parameter, Scenario, base, register_scenario

FIG1 = Path(__file__).resolve().parents[2] / "src" / "cevns" / "analyses" / "shipped" / "fig1.toml"


class _Picky(Scenario):
    """SM × scale; refuses a scale above 2 for a detector lighter than 100 kg."""

    name = "cv-picky"

    @property
    def parameters(self):
        return {"scale": Parameter("scale", "strength", 1.0, "", 0.0, 10.0)}

    def basis(self, shape):
        return SMBasis()

    def coefficients(self, strength):
        from cevns.physics.cross_sections import sm_basis_coefficients

        return sm_basis_coefficients(SIN2_THETA_W) * strength["scale"]

    def check_values(self, detector, source, values):
        if values.get("scale", 1.0) > 2.0 and detector.mass_kg < 100.0:
            raise ConfigError(f"scale {values['scale']:g} needs a detector of 100 kg or more, "
                              f"{detector.name} has {detector.mass_kg:g} kg")


@pytest.fixture
def picky(monkeypatch):
    monkeypatch.setattr(base, "_REGISTRY", dict(base._load_scenarios()))
    register_scenario(_Picky)
    return _Picky


def _fig1_with(scale: float) -> dict:
    doc = copy.deepcopy(tomllib.loads(FIG1.read_text(encoding="utf-8")))
    doc["new_physics"].append({"label": "picky", "scenario": {"name": "cv-picky"},
                               "values": {"scale": scale}})
    return doc


def test_the_hook_refuses_a_benchmark_when_the_file_is_read(picky):
    doc = _fig1_with(3.0)  # Fig. 1's detectors include some below 100 kg (CsI, 22.5 kg)
    with pytest.raises(ConfigError, match=r"new_physics\[\d+\]\.values: scale 3 needs a detector "
                                          r"of 100 kg or more.*\(benchmark 'picky'\)"):
        parse_analysis(doc, where="case.toml")


def test_values_the_hook_accepts_pass(picky):
    an = parse_analysis(_fig1_with(1.5), where="case.toml")
    assert an.new_physics[-1].label == "picky"


def test_the_base_class_accepts_everything():
    from cevns.experiment import get_detector, get_source
    from cevns.scenarios import get_scenario

    assert get_scenario("sm").check_values(get_detector("CsI"), get_source("ess"), {}) is None

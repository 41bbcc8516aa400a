"""Library-level checks of inputs an audit found accepted and failing later, or silently wrong:
atoms per molecule, a Poisson-PE threshold out of reach, detector names that clash with each other
or with the outputs' own labels, a reference interval upside down, a preset's unknown
``default_source``, and the spurious second message of a refused target."""

from __future__ import annotations

import pytest

from cevns.analyses.base import build_detector_list, parse_analysis
from cevns.errors import ConfigError, KinematicsError
from cevns.experiment import Detector, get_detector
from cevns.experiment.catalogue import Catalogue
from cevns.experiment.response import build_response

CSI = get_detector("CsI")


def _ge(atoms: float) -> Detector:
    return Detector(name="Mine", mass_kg=10.0, threshold_keVnr=1.0,
                    targets=[{"element": "Ge", "atoms_per_molecule": atoms}])


# -- 1. atoms_per_molecule ----------------------------------------------------------------------

@pytest.mark.parametrize("atoms", [5e-324, 1e-300, 1e-7, 0.0, -1.0])
def test_atoms_per_molecule_below_a_ppm_dopant_is_refused_naming_the_field(atoms):
    # 5e-324 was "internal error: ZeroDivisionError"; 1e-300 an overflow error blaming mass_kg,
    # run_years and baseline_m
    with pytest.raises(ConfigError, match=r"atoms_per_molecule: .*greater than or equal to 0\.000001"):
        _ge(atoms)


@pytest.mark.parametrize("atoms", [1.7e308, 1e306, 1.0001e4])
def test_atoms_per_molecule_above_ten_thousand_is_refused_naming_the_field(atoms):
    # 1.7e308 gave 0 events without a word (the molar mass overflowed); 1e306 was accepted
    with pytest.raises(ConfigError, match=r"atoms_per_molecule: .*less than or equal to 10000"):
        _ge(atoms)


def test_the_range_is_closed_and_gives_finite_positive_targets_at_both_ends():
    for atoms in (1e-6, 1e-3, 1.0, 8.0, 1e4):
        n = _ge(atoms).number_of_targets()
        assert n.size and all(0 < x < float("inf") for x in n)
    for atoms in (0.99e-6, 1.01e4):
        with pytest.raises(ConfigError, match=r"targets\.0\.atoms_per_molecule"):
            _ge(atoms)


def test_formulas_and_shipped_presets_keep_working_and_a_formula_count_out_of_range_is_named():
    det = Detector(name="C3F8", mass_kg=10.0, threshold_keVnr=1.0, formula="C3F8")
    assert [(t.element, t.atoms_per_molecule) for t in det.targets] == [("C", 3.0), ("F", 8.0)]
    doped = Detector(name="CsITl", mass_kg=10.0, threshold_keVnr=1.0, formula="CsITl0.001")
    assert [t.atoms_per_molecule for t in doped.targets] == pytest.approx([1.0, 1.0, 0.001])
    cat = Catalogue.builtin()
    assert all(cat.detector(name).number_of_targets().all() for name in cat.detector_names())
    with pytest.raises(ConfigError, match=r"atoms_per_molecule: .*less than or equal to 10000"):
        Detector(name="x", mass_kg=10.0, threshold_keVnr=1.0, formula="C3F100000")


# -- 2. a Poisson-PE threshold no recoil's mean signal comes near ----------------------------------

def _poisson(light_yield: float) -> dict:
    return dict(name="Mine", formula="Ge", mass_kg=10.0, response={
        "quenching": {"model": "lindhard", "k": 0.16},
        "smearing": {"model": "poisson-pe", "light_yield": light_yield},
        "threshold": {"value": 1, "unit": "PE"},
        "bins": {"unit": "PE", "width": 1, "stop": 9}})


@pytest.mark.parametrize("light_yield", [1e-6, 1e-300])
def test_a_poisson_threshold_far_above_the_mean_signal_is_refused(light_yield):
    # 1e-6 was accepted, then "internal error: ValueError: need at least one array to
    # concatenate" when the response was built: it had no recoil to integrate (1e-3 too, when the
    # floor of a photoelectron response was 0.05 of the threshold; now it is counted, below)
    with pytest.raises(KinematicsError, match=r"response\.threshold \(1 PE\) is far above the "
                                              r"largest mean signal .*light_yield"):
        Detector(**_poisson(light_yield))


def test_a_floor_fraction_above_the_largest_recoil_is_a_clear_error():
    # an API caller's floor_fraction: the same empty integration range, the same ValueError;
    # with the default floor, the reachable threshold builds its response
    det = Detector(**_poisson(0.01))
    assert build_response(det).matrix.size > 0
    with pytest.raises(KinematicsError, match=r"floor_fraction = 0\.9 .* above the largest recoil"):
        build_response(det, floor_fraction=0.9)


# -- 3. detector names: reserved labels, renames, clashes ---------------------------------------------

@pytest.mark.parametrize(("name", "near_miss"), [("combined", "combined2"),
                                               ("Combined", "CsI_combined"),
                                               ("status_CsI", "status"), ("STATUS_x", "xstatus_")])
def test_names_the_outputs_reserve_are_refused_and_only_those(name, near_miss):
    # a preset detector named "combined" was merged into the real combination; a detector
    # "status_x" had its χ² dropped with the profiler statuses
    with pytest.raises(ConfigError, match=r"name: .*is reserved"):
        CSI.replace(name=name)
    assert CSI.replace(name=near_miss).name == near_miss


def _profile(**extra) -> dict:
    return {"schema_version": 1, "name": "p1", "title": "t", "kind": "profile",
            "detectors": ["CsI", "Xe"], "scenario": {"name": "sm"},
            "scan": {"parameter": "sin2_theta_w", "start": 0.18, "stop": 0.30, "num": 5}, **extra}


@pytest.mark.parametrize("new", ["Xe", "combined", "Foo", "CsI"])
def test_a_name_in_detector_overrides_is_refused(new):
    # CsI renamed Xe lost CsI's row and wrote p1_profile_Xe.csv twice; renamed "combined" it was
    # merged into the combination; even a fresh name lost the row (results go by `detectors`)
    with pytest.raises(ConfigError, match=r"detector_overrides\.CsI\.name: a detector cannot be "
                                          r"renamed"):
        parse_analysis(_profile(detector_overrides={"CsI": {"name": new}}))


def test_a_name_in_a_variants_detector_overrides_is_refused():
    doc = _profile(detectors=["CsI"], detector_overrides={}, kind="scan2d",
                   x={"parameter": "sin2_theta_w", "start": 0.18, "stop": 0.30, "num": 3},
                   y={"parameter": "neutron_radius_fm", "start": 4.0, "stop": 6.0, "num": 3},
                   scenario={"name": "sm", "options": {"form_factor": "separate"}},
                   variants=[{"label": "v", "detector_overrides": {"CsI": {"name": "Foo"}}}])
    del doc["scan"]
    with pytest.raises(ConfigError, match=r"detector_overrides\.CsI\.name"):
        parse_analysis(doc)


def test_build_detector_list_refuses_names_that_differ_only_in_case():
    body = CSI.model_dump(mode="json", exclude={"name"})
    with pytest.raises(ConfigError, match=r"'CsI' and 'csi' differ only in letter case"):
        build_detector_list(["CsI", "csi"], {"CsI": body, "csi": body}, {})


def test_a_preset_detector_named_combined_is_refused_when_its_file_is_read(tmp_path):
    path = tmp_path / "comb.toml"
    path.write_text('schema_version = 1\n[detector.combined]\nformula = "NaI"\nmass_kg = 10.0\n'
                    "threshold_keVnr = 5.0\n")
    with pytest.raises(ConfigError, match=r"detector\.combined\.name: .*'combined' is reserved"):
        Catalogue.from_file(path)


# -- 4. a reference interval upside down -----------------------------------------------------------

def test_a_reference_interval_with_its_lower_end_above_the_upper_is_refused():
    # it was accepted and tabulated as the paper's interval
    with pytest.raises(ConfigError, match=r"reference: CsI = \[0\.3, 0\.2\]: the lower end is "
                                          r"above the upper end"):
        parse_analysis(_profile(reference={"CsI": [0.3, 0.2]}))
    for interval in ([0.2, 0.3], [0.25, 0.25]):
        an = parse_analysis(_profile(reference={"CsI": interval}))
        assert an.reference["CsI"] == tuple(interval)


# -- 5. default_source of a preset detector ------------------------------------------------------------

MINE = 'schema_version = 1\n[detector.Mine]\nformula = "Ge"\nmass_kg = 10.0\nthreshold_keVnr = 1.0\n'
NEAR = ('[source.near]\npot_per_year = 2.8e23\nnu_per_flavour_per_pot = 0.3\nbaseline_m = 10.0\n'
        'beam_days_per_year = 208.0\nduty_factor = 0.04\n')


def test_an_unknown_default_source_is_refused_when_the_preset_file_is_read(tmp_path):
    # it was accepted, and failed only when the detector was used without a source
    path = tmp_path / "p.toml"
    path.write_text(MINE + 'default_source = "nowhere"\n')
    with pytest.raises(ConfigError, match=r"p\.toml: detector\.Mine\.default_source: unknown "
                                          r"source 'nowhere'; the catalogue has: ess, "):
        Catalogue.from_files(path)
    # a source defined later than its detector is refused too: it is read after it
    late = tmp_path / "late.toml"
    late.write_text(MINE + 'default_source = "near"\n')
    src = tmp_path / "src.toml"
    src.write_text("schema_version = 1\n" + NEAR)
    with pytest.raises(ConfigError, match=r"late\.toml: detector\.Mine\.default_source: unknown "
                                          r"source 'near'"):
        Catalogue.from_files(late, src)
    # a built-in source, one of the same file and one of a file read before are accepted
    same = tmp_path / "same.toml"
    same.write_text(MINE + 'default_source = "near"\n' + NEAR)
    assert Catalogue.from_files(same).detector("Mine").default_source == "near"
    assert Catalogue.from_files(src, late).detector("Mine").default_source == "near"
    # an analysis's inline tables are not checked: its config.json, run again without the preset
    # files, holds the detector's definition and the definition of the analysis's source only
    first = parse_analysis({"schema_version": 1, "name": "ev", "title": "t", "kind": "event-table",
                            "detectors": ["Mine"], "presets": [str(src), str(late)]})
    again = parse_analysis(first.model_dump(mode="json"))
    assert again.detector["Mine"]["default_source"] == "near"
    plain = tmp_path / "plain.toml"
    plain.write_text(MINE + 'default_source = "sns-csi"\n')
    assert Catalogue.from_files(plain).detector("Mine").default_source == "sns-csi"


# -- 6. one message for a refused target ------------------------------------------------------------

@pytest.mark.parametrize(("target", "words"), [
    ({"element": "Ge", "enrichment": {"Ge76": -0.5, "Ge74": 0.12}}, "fraction of Ge76 must be"),
    ({"element": "Ge", "enrichment": {}}, "enrichment of Ge: empty"),
    ({"element": "Ge", "atoms_per_molecule": -1}, "atoms_per_molecule"),
    ({"element": "Gx"}, "unknown element"),
])
def test_a_refused_target_gives_one_message(tmp_path, target, words):
    # pydantic also reported "targets: Tuple should have at least 1 item after validation, not 0"
    with pytest.raises(ConfigError) as info:
        Detector(name="Mine", mass_kg=10.0, threshold_keVnr=1.0, targets=[target])
    message = str(info.value)
    assert words in message
    assert "at least 1 item" not in message and "Tuple should have" not in message


def test_no_target_at_all_is_refused_with_a_message_of_its_own():
    with pytest.raises(ConfigError, match=r"targets: no target: give at least one"):
        Detector(name="Mine", mass_kg=10.0, threshold_keVnr=1.0, targets=[])


def test_a_photoelectron_response_counts_the_recoils_far_below_its_threshold():
    """A recoil of mean μ ≪ 1 PE passes a 1-PE threshold with probability ≈ μ, so the response of
    a photoelectron-counting smearing integrates from 10⁻³ of the threshold (0.05 for Gaussian
    smearing). Reference: the same count with the floor at 10⁻⁵, set by the detector's own
    ``response.floor_fraction`` (numerical convergence). The floor of 0.05 used before missed 35 %
    at 0.01 PE/keVee and 0.04 % at 1 PE/keVee."""
    import cevns.experiment.response_models as rm
    from cevns.rates import sm_spectrum

    def count(light_yield, floor=None):
        spec = _poisson(light_yield)
        if floor is not None:
            spec["response"] = {**spec["response"], "floor_fraction": floor}
        return sm_spectrum(Detector(**spec)).total_signal

    for light_yield, tol in ((0.01, 3e-4), (0.1, 1e-5), (1.0, 1e-6)):
        default, reference = count(light_yield), count(light_yield, 1e-5)
        assert default == pytest.approx(reference, rel=tol), light_yield
        assert count(light_yield, rm.PE_RESPONSE_FLOOR_FRACTION) == default  # the default is 1e-3
    # the old floor, now asked for explicitly, misses a third at 0.01 PE/keVee
    assert count(0.01, 0.05) == pytest.approx(0.65 * count(0.01, 1e-5), abs=0.02 * count(0.01))
    assert Detector(**_poisson(1e-3)).smeared  # now accepted: a small, counted signal
    assert 0 < sm_spectrum(Detector(**_poisson(1e-3))).total_signal < 100
    assert rm.response_floor_fraction(CSI.response) == rm.RESPONSE_FLOOR_FRACTION


@pytest.mark.parametrize("bad", [0, 1, 1.5, -1e-3, float("nan"), float("inf"), True, "0.01"])
def test_a_floor_fraction_outside_zero_to_one_is_refused_naming_the_field(bad):
    spec = _poisson(0.1)
    spec["response"] = {**spec["response"], "floor_fraction": bad}
    with pytest.raises(ConfigError, match="floor_fraction"):
        Detector(**spec)


def test_a_floor_fraction_without_smearing_is_refused():
    spec = _poisson(0.1)
    spec["response"] = {"quenching": {"model": "lindhard", "k": 0.16},
                        "threshold": {"value": 1, "unit": "keVee"},
                        "bins": {"unit": "keVee", "width": 1, "stop": 9}, "floor_fraction": 0.01}
    with pytest.raises(ConfigError, match="floor_fraction: applies to a smeared response only"):
        Detector(**spec)


def test_a_floor_fraction_no_recoil_reaches_is_refused_when_the_detector_is_made():
    spec = _poisson(0.01)
    spec["response"] = {**spec["response"], "floor_fraction": 0.9}
    with pytest.raises(KinematicsError, match=r"at least 0\.9 × the threshold"):
        Detector(**spec)

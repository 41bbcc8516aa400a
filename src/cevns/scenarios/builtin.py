"""Built-in scenarios: the Standard Model and neutrino generalized interactions.

Options are validated pydantic models (``extra="forbid"``), so a typo in an analysis file's
``[scenario]`` table is an error naming the key.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import model_validator

from cevns.config import StrictModel, _FieldTypeError, validate
from cevns.physics.basis import SMBasis
from cevns.physics.constants import (
    MAX_COUPLING,
    MAX_MASS_MEV,
    SIN2_THETA_W,
    SIN2_THETA_W_RANGE,
)
from cevns.physics.cross_sections import SM_BASIS, sm_basis_coefficients
from cevns.physics.form_factors import helm_form_factors
from cevns.physics.kinematics import momentum_transfer
from cevns.physics.ngi import NGI_PROPAGATOR_POWER, NGI_TERMS, NGIBasis, ngi_basis_coefficients
from cevns.physics.units import MeV, fm
from cevns.scenarios.base import Parameter, Scenario, register_scenario

#: sin²θ_W as a scenario parameter: the one range of the package (constants.SIN2_THETA_W_RANGE)
SIN2W = Parameter("sin2_theta_w", "strength", SIN2_THETA_W, "", *SIN2_THETA_W_RANGE, False,
                  r"$\sin^2\theta_W$",
                  f"sin²θ_W is a squared sine, in [{SIN2_THETA_W_RANGE[0]:g}, "
                  f"{SIN2_THETA_W_RANGE[1]:g}]")


class SMOptions(StrictModel):
    """Options of the SM scenario.

    ``form_factor = "common"``: one Helm form factor (default radius) for protons and neutrons, as
    in all of the paper's analyses but the neutron-radius ones. ``"separate"``: F_p at the proton
    (charge) radius R_p of the nuclei table, F_n at the parameter ``neutron_radius_fm`` (one common
    value for all nuclei of a compound detector: an average radius), paper Eq. (6).
    """

    form_factor: Literal["common", "separate"] = "common"


@register_scenario
class StandardModel(Scenario):
    """SM CEvNS with sin²θ_W (strength) and, with separate form factors, R_n (shape)."""

    name = "sm"
    description = "Standard Model: weak mixing angle and neutron rms radius"

    def __init__(self, **options):
        self.options = validate(SMOptions, options, where="scenario")

    @property
    def parameters(self) -> dict[str, Parameter]:
        params = {"sin2_theta_w": SIN2W}
        if self.options.form_factor == "separate":
            # default NaN = each nucleus's default Helm radius (the Asimov truth, docs/physics.md#likelihood)
            params["neutron_radius_fm"] = Parameter("neutron_radius_fm", "shape", math.nan, "fm",
                                                    0.0, 20.0, True, r"$R_n$ [fm]")
        return params

    def basis(self, shape):
        if self.options.form_factor == "common":
            return SMBasis()
        rn = shape.get("neutron_radius_fm", math.nan)
        return SMBasis(proton_radius="charge", neutron_radius=None if math.isnan(rn) else rn * fm)

    def coefficients(self, strength):
        return sm_basis_coefficients(strength["sin2_theta_w"])

    def reference_basis(self):
        if self.options.form_factor == "common":
            return None
        return SMBasis(proton_radius="charge", unit_neutron_form_factor=True)

    def recoil_factors(self, shape, reference, detector):
        radii = np.asarray(shape["neutron_radius_fm"], dtype=float)  # (P,)
        nodes = reference.response.nodes
        out = np.ones((radii.size, len(SM_BASIS), len(detector.nuclei), nodes.size))
        for k, (nuc, _) in enumerate(detector.nuclei):
            q = momentum_transfer(nodes, nuc.mass)
            r = [nuc.default_helm_rms_radius() if math.isnan(rn) else rn * fm for rn in radii]
            fn = helm_form_factors(q, r, nuc.helm_skin)  # (P, nodes), all radii at once
            out[:, 1, k] = fn  # "ZN" ∝ F_p F_n
            out[:, 2, k] = fn * fn  # "NN" ∝ F_n²
        return out


class NGIOptions(StrictModel):
    """Options of the NGI scenario (docs/physics.md#ngi; docs/scenarios/ngi.md)."""

    interaction: Literal["scalar", "vector", "axial", "tensor"]
    vector_charge: Literal["universal", "B-L"] = "B-L"
    coupling_sign: Literal[1, -1] = 1
    contact: bool = False

    @model_validator(mode="after")
    def _options_used(self) -> NGIOptions:
        """Refuse an option given (``model_fields_set``: the defaults are not "given") that the
        chosen interaction does not use, as it would change nothing: ``vector_charge`` and
        ``coupling_sign`` are read by the vector interaction only (scalar, axial and tensor enter
        with g^ν g^q = g²), and ``coupling_sign`` only with ``vector_charge = "universal"`` (for B−L
        the charges fix the product). ``contact`` applies to every interaction."""
        given = self.model_fields_set
        for field in ("vector_charge", "coupling_sign"):
            if field in given and self.interaction != "vector":
                raise _FieldTypeError(field, "used by interaction 'vector' only (it sets the "
                                      "vector mediator's product g^ν g^q); interaction "
                                      f"{self.interaction!r} does not read it: remove {field}")
        if "coupling_sign" in given and self.vector_charge != "universal":
            raise _FieldTypeError("coupling_sign", "used with vector_charge 'universal' only; for "
                                  "'B-L' the product g^ν g^q = −g²/3 is fixed by the charges "
                                  "(lepton −1, quark +1/3): remove coupling_sign or give "
                                  "vector_charge = \"universal\"")
        return self

    def read_options(self) -> dict[str, object]:
        """The options the chosen interaction reads, by name (what a summary shows): the vector
        interaction's charge, and its sign for universal charges; ``contact`` always."""
        out: dict[str, object] = {"interaction": self.interaction}
        if self.interaction == "vector":
            out["vector_charge"] = self.vector_charge
            if self.vector_charge == "universal":
                out["coupling_sign"] = self.coupling_sign
        out["contact"] = self.contact
        return out

    def replace(self, **changes) -> NGIOptions:
        """A validated copy with ``changes`` applied; only the options given to this one are
        carried over (an option left at its default stays "not given", see
        :meth:`_options_used`)."""
        return type(self)(**{**{k: getattr(self, k) for k in self.model_fields_set}, **changes})


#: Why the NGI mediator mass is bounded above (added to the message of a larger value).
_NGI_MASS_RANGE = ("a mass > 0, at most 1e9 MeV: far above, the mediator acts as a contact "
                   "interaction whose effect falls as 1/m_X²; masses are in MeV")

#: Why a coupling is bounded above (added to the message of a larger value; shared by the NGI and
#: up-scattering scenarios).
COUPLING_RANGE = ("a coupling ≥ 0, at most 4π ≈ 12.57, the strong-coupling limit beyond any "
                  "perturbative cross section (cevns.physics.constants.MAX_COUPLING)")


def coupling_parameter() -> Parameter:
    """The coupling g ≥ 0 of the NGI and up-scattering scenarios, capped at 4π
    (:data:`~cevns.physics.constants.MAX_COUPLING`)."""
    return Parameter("coupling", "strength", 0.0, "", 0.0, MAX_COUPLING, False, r"$g_X$",
                     reason=COUPLING_RANGE, upper_is_cap=True)


@register_scenario
class NGI(Scenario):
    """SM + one light mediator of Lorentz structure S, V, A or T.

    Parameters: ``coupling`` g = √|g^ν g^q| (strength, in [0, 4π]), ``mediator_mass_MeV``
    (shape, > 0), ``sin2_theta_w`` (strength). The mediator mass enters only through the
    propagator, so all masses share one set of E integrals (recoil re-weighting fast path).
    """

    name = "ngi"
    description = "neutrino generalized interactions with a light mediator (S, V, A, T)"
    _REF_MASS = 1.0 * MeV

    def __init__(self, **options):
        self.options = validate(NGIOptions, options, where="scenario")

    @property
    def parameters(self) -> dict[str, Parameter]:
        return {
            "coupling": coupling_parameter(),
            "mediator_mass_MeV": Parameter("mediator_mass_MeV", "shape", 1e3, "MeV", 0.0,
                                           MAX_MASS_MEV, True, r"$m_X$ [MeV]",
                                           reason=_NGI_MASS_RANGE),
            "sin2_theta_w": SIN2W,
        }

    def basis(self, shape):
        o = self.options
        return NGIBasis(o.interaction, mediator_mass=shape["mediator_mass_MeV"] * MeV,
                        contact=o.contact, vector_charge=o.vector_charge,
                        coupling_sign=o.coupling_sign)

    def coefficients(self, strength):
        o = self.options
        return ngi_basis_coefficients(o.interaction, strength["coupling"],
                                      strength["sin2_theta_w"], vector_charge=o.vector_charge,
                                      coupling_sign=o.coupling_sign)

    def reference_basis(self):
        o = self.options
        return NGIBasis(o.interaction, mediator_mass=self._REF_MASS, contact=True,
                        vector_charge=o.vector_charge, coupling_sign=o.coupling_sign)

    def recoil_factors(self, shape, reference, detector):
        masses = np.asarray(shape["mediator_mass_MeV"], dtype=float) * MeV  # (P,)
        nodes = reference.response.nodes
        names = SM_BASIS + NGI_TERMS[self.options.interaction]
        # powers of the propagator 1/D of each term, as cevns.physics.ngi defines them (SM: 0)
        powers = np.array([NGI_PROPAGATOR_POWER.get(n, 0) for n in names])
        nuclear_masses = np.array([nuc.mass for nuc, _ in detector.nuclei])
        if self.options.contact:
            denom = np.broadcast_to(masses[:, None, None] ** 2,
                                    (masses.size, nuclear_masses.size, nodes.size))
        else:
            denom = 2.0 * nuclear_masses[None, :, None] * nodes[None, None, :] \
                + masses[:, None, None] ** 2
        ratio = self._REF_MASS**2 / denom  # (P, K, N)
        return ratio[:, None, :, :] ** powers[None, :, None, None]

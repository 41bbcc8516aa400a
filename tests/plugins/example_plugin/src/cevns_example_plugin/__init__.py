"""Example cevns plug-in: the Standard Model rate times a free normalisation ``scale``."""

from __future__ import annotations

import numpy as np

from cevns.physics.basis import SMBasis
from cevns.physics.cross_sections import sm_basis_coefficients
from cevns.scenarios import Parameter, Scenario


class ScaledSM(Scenario):
    """SM CEvNS with an overall rate normalisation (a strength parameter)."""

    name = "scaled-sm"
    description = "Standard Model times a free normalisation (example plug-in)"

    def __init__(self, **options):
        if options:
            raise TypeError(f"scaled-sm takes no options, got {sorted(options)}")

    @property
    def parameters(self):
        return {
            "scale": Parameter("scale", "strength", 1.0, "", 0.0, None, False, "rate scale"),
            "sin2_theta_w": Parameter("sin2_theta_w", "strength", 0.23857, "", 0.0, 1.0, True,
                                      r"$\sin^2\theta_W$"),
        }

    def basis(self, shape):
        return SMBasis()

    def coefficients(self, strength):
        scale = np.asarray(strength["scale"], dtype=float)
        return scale * sm_basis_coefficients(strength["sin2_theta_w"])


class Broken(ScaledSM):
    """A deliberately wrong scenario: one coefficient too few."""

    name = "broken"

    def coefficients(self, strength):
        return super().coefficients(strength)[:-1]

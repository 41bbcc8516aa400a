"""Example cevns plug-in: the Standard Model rate times a free normalisation ``scale``, and an
analysis kind that writes an analysis's title to a text file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cevns.analyses.base import AnalysisBase, Kind
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


class EchoAnalysis(AnalysisBase):
    """The schema of the example kind: the common header only."""


def run_echo(analysis: EchoAnalysis, out: Path, options) -> list[Path]:
    """Write the analysis's title to ``OUT/NAME.txt``."""
    path = Path(out) / f"{analysis.name}.txt"
    path.write_text(analysis.title + "\n")
    return [path]


#: An analysis kind for the entry-point group ``cevns.analysis_kinds``.
ECHO_KIND = Kind(model=EchoAnalysis, run=run_echo, description="writes the title (example)")

"""The overlay registry: registration, lookup errors, shape checks."""

import numpy as np
import pytest

from cevns.analyses import overlays
from cevns.errors import ConfigError


def test_unknown_overlay_names_the_registered_ones():
    with pytest.raises(ConfigError, match="unknown overlay 'nope'"):
        overlays.get_overlay("nope")


def test_register_and_get(monkeypatch):
    monkeypatch.setattr(overlays, "_REGISTRY", {})

    def fn(request):
        return [overlays.Overlay("x", "test", request.x, request.y,
                                 delta_chi2=np.zeros((request.x.size, request.y.size)))]

    overlays.register_overlay("test-overlay", fn)
    assert overlays.get_overlay("test-overlay") is fn
    req = overlays.OverlayRequest(analysis=None, variant=None, x=np.arange(3.0), y=np.arange(2.0))
    (ov,) = overlays.get_overlay("test-overlay")(req)
    assert ov.delta_chi2.shape == (3, 2)
    with pytest.raises(ConfigError, match="already registered"):
        overlays.register_overlay("test-overlay", lambda r: [])


def test_grid_shape_mismatch_is_an_error():
    with pytest.raises(ConfigError, match="does not match"):
        overlays.Overlay("x", "s", np.arange(3.0), np.arange(2.0), delta_chi2=np.zeros((2, 3)))
    with pytest.raises(ConfigError, match="differ in shape"):
        overlays.Overlay("x", "s", np.arange(3.0), np.arange(2.0))

"""The embedded image set's looks: v1 (the measured set) is the default and unchanged; v2 renders closer to photographs."""
import numpy as np
import pytest

from nas.data.forgery_faces import donor_of, random_face, render
from nas.data.forgery_synthetic import ForgerySpec, make_forgeries
from nas.errors import NasError


def _set(look, n=48, seed=0):
    return make_forgeries(n, ForgerySpec(look=look), np.random.default_rng(seed))


def test_v1_is_the_default_and_v2_is_seeded_and_labelled_like_v1():
    default, v1 = make_forgeries(48, ForgerySpec(), np.random.default_rng(0)), _set("v1")
    assert all(np.array_equal(a, b) for a, b in zip(default, v1))
    v2, again = _set("v2"), _set("v2")
    assert all(np.array_equal(a, b) for a, b in zip(v2, again))
    assert not np.array_equal(v1[0], v2[0])
    images, maps, methods = v2
    assert np.array_equal(methods, v1[2])  # the same methods drawn: only the rendering differs
    assert maps[methods == 0].max() == 0 and (maps[methods > 0].reshape(int((methods > 0).sum()), -1).max(1) > 0).all()


def _high_frequency(images):
    g = images.astype(np.float32).mean(-1)
    return float(np.abs(np.diff(g, axis=2)).mean())


def test_v2_backgrounds_are_smooth_and_images_are_blurred_and_shaded():
    rng = np.random.default_rng(1)
    face = random_face(rng, 32, 64)
    v1 = render(face, 64, np.random.default_rng(2), noise=0.0)
    v2 = render(face, 64, np.random.default_rng(2), noise=0.0, look="v2")
    # the stripes of v1 and its unblurred edges carry more pixel-to-pixel change than v2's smooth scene and lens
    assert _high_frequency(v2 * 255) < 0.8 * _high_frequency(v1 * 255)
    # v2 shades the head as a lit ellipsoid: the face's rim is darker than its centre on average
    y, x = np.mgrid[0:64, 0:64] / 64.0
    t = ((x - face.cx) / face.a) ** 2 + ((y - face.cy) / face.b) ** 2  # (n, 64, 64)
    lum = v2.mean(-1)
    centre, rim = (lum * (t < 0.2)).sum((1, 2)) / (t < 0.2).sum((1, 2)), \
        (lum * ((t > 0.6) & (t < 0.9))).sum((1, 2)) / ((t > 0.6) & (t < 0.9)).sum((1, 2))
    assert float(np.mean(centre - rim)) > 0.02


def test_v2_donors_are_lit_from_elsewhere_and_a_bad_look_is_refused():
    face = random_face(np.random.default_rng(3), 16, 64)
    assert np.array_equal(donor_of(face, np.random.default_rng(4), 64).light, face.light)
    turned = donor_of(face, np.random.default_rng(4), 64, "v2").light - face.light
    assert np.abs(turned).max() <= 0.6 and np.abs(turned).mean() > 0.05
    with pytest.raises(NasError, match="forgery.look must be one of v1|v2"):
        ForgerySpec(look="v3").validate()

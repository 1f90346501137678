"""Kernel density: binned estimate against the exact sum over points, and the bandwidth rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rasure.hotspots import HotspotInputError, bandwidth_nrd, kernel_density, kernel_value
from rasure.hotspots.density import DensitySurface

N_POINTS = 2000


@pytest.fixture(scope="module")
def clustered_points() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240401)
    centres = rng.uniform(0, 5000, size=(8, 2))
    which = rng.integers(0, 8, size=N_POINTS)
    pts = centres[which] + rng.normal(0, 300, size=(N_POINTS, 2))
    return pts[:, 0] + 430_000, pts[:, 1] + 170_000


def _exact(surface: DensitySurface, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Direct sum Σ_i K(|s − s_i|) at every cell centre (the definition, no binning)."""
    gx, gy = surface.cell_centres()
    sx, sy = gx.ravel(), gy.ravel()
    out = np.zeros(sx.size)
    for start in range(0, x.size, 250):
        d = np.hypot(sx[:, None] - x[None, start : start + 250], sy[:, None] - y[None, start : start + 250])
        out += kernel_value(d, bandwidth_m=surface.bandwidth_m, kernel=surface.kernel).sum(axis=1)
    return out.reshape(gx.shape)


@pytest.mark.parametrize(
    ("kernel", "bandwidth_m", "max_rel", "l1_rel"),
    [
        # Stated tolerances at oversample=2 (lattice δ = 25 m). Measured on these points:
        # h = 150 m (3 cells): max 0.90%, L1 0.73%;  h = 400 m: max 0.10%, L1 0.07%;
        # rule-of-thumb h ≈ 1,304 m: max 0.02%;  Gaussian σ = 150 m: max 0.09%.
        ("quartic", 150.0, 0.02, 0.01),
        ("quartic", 400.0, 0.005, 0.003),
        ("quartic", None, 0.005, 0.003),
        ("gaussian", 150.0, 0.005, 0.003),
    ],
)
def test_binned_kde_matches_exact_kde(
    clustered_points: tuple[np.ndarray, np.ndarray],
    kernel: str,
    bandwidth_m: float | None,
    max_rel: float,
    l1_rel: float,
) -> None:
    x, y = clustered_points
    surface = kernel_density(x, y, cell_size_m=50.0, bandwidth_m=bandwidth_m, kernel=kernel, oversample=2)  # type: ignore[arg-type]
    exact = _exact(surface, x, y)
    err = np.abs(surface.density - exact)
    assert err.max() / exact.max() < max_rel
    assert err.sum() / exact.sum() < l1_rel


@pytest.mark.clock_free  # kernel density on fixed points: no dates at all
def test_finer_lattice_reduces_error(clustered_points: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = clustered_points
    errs = []
    for oversample in (1, 2, 4):
        s = kernel_density(x, y, cell_size_m=50.0, bandwidth_m=150.0, oversample=oversample)
        errs.append(np.abs(s.density - _exact(s, x, y)).max())
    assert errs[0] > errs[1] > errs[2]  # O(δ²): about 4× smaller each time the lattice halves


def test_surface_integrates_to_total_weight(clustered_points: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = clustered_points
    h = 300.0
    bounds = (x.min() - h, y.min() - h, x.max() + h, y.max() + h)  # the kernel's whole support
    s = kernel_density(x, y, cell_size_m=25.0, bandwidth_m=h, bounds=bounds)
    assert s.density.sum() * 25.0**2 == pytest.approx(N_POINTS, rel=0.005)
    assert s.total_weight == N_POINTS
    # Weights scale the surface; units are weight per m², per_km2 is ×1e6.
    w = kernel_density(x, y, weights=np.full(x.size, 365.0), cell_size_m=25.0, bandwidth_m=h, bounds=bounds)
    np.testing.assert_allclose(w.density, 365.0 * s.density, rtol=1e-9, atol=1e-10 * w.density.max())
    np.testing.assert_allclose(s.per_km2, s.density * 1e6)


def test_single_point_peak_and_symmetry() -> None:
    s = kernel_density(
        [1005.0], [2005.0], cell_size_m=10.0, bandwidth_m=50.0, bounds=(940.0, 1940.0, 1069.0, 2069.0)
    )
    assert s.density.shape == (13, 13)
    assert (s.x0, s.y0) == (940.0, 1940.0)
    peak = np.unravel_index(s.density.argmax(), s.density.shape)
    assert peak == (6, 6)  # the cell centred on the point
    assert s.density[6, 6] == pytest.approx(3 / (math.pi * 50.0**2), rel=1e-9)
    np.testing.assert_allclose(s.density, s.density[::-1, :], atol=1e-15)
    np.testing.assert_allclose(s.density, s.density.T, atol=1e-15)
    assert s.density[6, 0] == 0.0  # 60 m away, beyond the 50 m radius


def test_bandwidth_rule_by_hand() -> None:
    """MASS::bandwidth.nrd written out for x = 0, 10, 20, 30, 1000 and y = 0, 0, 0, 5, 5:
    x: sd = √var (n − 1), IQR = 30 − 10 = 20 → 20/1.34 = 14.93 < sd → h_x = 4·1.06·14.93·5^(−1/5)
    y: IQR = 5 − 0 = 5 → 3.731, sd = 2.739 is smaller → h_y = 4·1.06·2.739·5^(−1/5)."""
    x = np.array([0.0, 10.0, 20.0, 30.0, 1000.0])
    y = np.array([0.0, 0.0, 0.0, 5.0, 5.0])
    factor = 4 * 1.06 * 5 ** (-0.2)
    h_x = factor * min(np.std(x, ddof=1), 20 / 1.34)
    h_y = factor * min(np.std(y, ddof=1), 5 / 1.34)
    assert np.std(y, ddof=1) == pytest.approx(math.sqrt(7.5))  # ȳ = 2, Σ(y−ȳ)² = 3·4 + 2·9 = 30; 30/4
    assert bandwidth_nrd(x, y) == pytest.approx((h_x + h_y) / 2, rel=1e-12)


def test_bandwidth_rule_when_iqr_is_zero_uses_sd() -> None:
    x = np.array([0.0, 0.0, 0.0, 0.0, 100.0])  # police.uk-style snapped points: IQR 0
    y = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    factor = 4 * 1.06 * 5 ** (-0.2)
    h_y = factor * min(np.std(y, ddof=1), 2 / 1.34)
    assert bandwidth_nrd(x, y) == pytest.approx((factor * np.std(x, ddof=1) + h_y) / 2)
    s = kernel_density(x, y, cell_size_m=10.0)
    assert s.bandwidth_rule.startswith("MASS::bandwidth.nrd")
    assert s.bandwidth_m == pytest.approx(bandwidth_nrd(x, y))


def test_errors_say_how_to_fix() -> None:
    with pytest.raises(HotspotInputError, match="increase cell_size_m"):
        kernel_density([0.0, 100_000.0], [0.0, 100_000.0], cell_size_m=1.0, bandwidth_m=100.0)
    with pytest.raises(HotspotInputError, match="no point"):
        kernel_density([np.nan], [1.0], bandwidth_m=100.0)
    with pytest.raises(HotspotInputError, match="harm_days"):
        kernel_density([0.0, 1.0], [0.0, 1.0], weights=[1.0, np.nan], bandwidth_m=100.0)
    with pytest.raises(HotspotInputError, match="pass bandwidth_m"):
        kernel_density([5.0, 5.0], [5.0, 5.0])
    with pytest.raises(HotspotInputError, match="kernel"):
        kernel_density([5.0], [5.0], bandwidth_m=10.0, kernel="epanechnikov")  # type: ignore[arg-type]


def test_restrict_to_area_clears_cells_outside_and_keeps_the_rest(
    clustered_points: tuple[np.ndarray, np.ndarray],
) -> None:
    from shapely.geometry import Polygon

    from rasure.hotspots.density import restrict_to_area

    x, y = clustered_points
    surf = kernel_density(x, y, cell_size_m=100.0, bandwidth_m=400.0)
    # an L-shaped force area over part of the points
    x0, y0 = 431_000.0, 171_000.0
    area = Polygon(
        [
            (x0, y0),
            (x0 + 3000, y0),
            (x0 + 3000, y0 + 1000),
            (x0 + 1000, y0 + 1000),
            (x0 + 1000, y0 + 3000),
            (x0, y0 + 3000),
        ]
    )
    out = restrict_to_area(surf, area)
    gx, gy = surf.cell_centres()
    # inside the L, worked out with plain comparisons: the bottom bar or the left bar, edges included
    in_bottom = (gx >= x0) & (gx <= x0 + 3000) & (gy >= y0) & (gy <= y0 + 1000)
    in_left = (gx >= x0) & (gx <= x0 + 1000) & (gy >= y0) & (gy <= y0 + 3000)
    inside = in_bottom | in_left
    assert (out.density[~inside] == 0).all()
    assert np.array_equal(out.density[inside], surf.density[inside]) and (out.density[inside] > 0).any()
    assert (surf.density[~inside] > 0).any()  # there was density outside to clear
    assert (out.x0, out.y0, out.cell_size_m, out.bandwidth_m) == (surf.x0, surf.y0, 100.0, 400.0)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.integers(1, 40),
    cols=st.integers(1, 40),
    taps=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    step=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_strided_convolution_is_fftconvolve_subsampled(
    rows: int, cols: int, taps: tuple[int, int], step: int, seed: int
) -> None:
    """The polyphase convolution gives SciPy's valid FFT convolution, every step-th row and column,
    for any lattice, kernel shape (odd or even taps, not square) and step."""
    from scipy.signal import fftconvolve

    from rasure.hotspots.density import _strided_convolution

    rng = np.random.default_rng(seed)
    lattice = rng.random((rows + taps[0] - 1, cols + taps[1] - 1))
    kern = rng.random(taps)
    want = fftconvolve(lattice, kern, mode="valid")[::step, ::step]
    got = _strided_convolution(lattice, kern, step)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * max(1.0, float(np.abs(want).max())))

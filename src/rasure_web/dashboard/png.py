"""A tiny PNG writer for map overlays (no imaging library needed)."""

from __future__ import annotations

import struct
import zlib

import numpy as np
from numpy.typing import NDArray

# yellow -> orange -> deep red, readable over a light base map
_STOPS = np.array([[255, 237, 160], [254, 178, 76], [240, 59, 32], [128, 0, 38]], dtype=float)


def heat_png(values: NDArray[np.float64]) -> bytes:
    """RGBA PNG of ``values`` (row 0 at the top): transparent where low, opaque red where high."""
    v = np.nan_to_num(np.asarray(values, dtype=float))
    top = float(np.quantile(v[v > 0], 0.999)) if (v > 0).any() else 1.0
    t = np.sqrt(np.clip(v / (top or 1.0), 0, 1))  # square root: the spread shows, not only the peaks
    pos = t * (len(_STOPS) - 1)
    i = np.minimum(pos.astype(int), len(_STOPS) - 2)
    f = (pos - i)[..., None]
    rgb = _STOPS[i] * (1 - f) + _STOPS[i + 1] * f
    alpha = np.where(t < 0.12, 0, 40 + 180 * t)
    rgba = np.concatenate([rgb, alpha[..., None]], axis=-1).astype(np.uint8)
    h, w = rgba.shape[:2]
    raw = b"".join(b"\x00" + rgba[r].tobytes() for r in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )

"""QR images of licence codes: rendering with ``segno`` (alphanumeric mode, error correction M)
and reading codes back from uploaded images with ``zxing-cpp`` — a decoder independent of the
encoder, so a rendering fault cannot hide itself."""

from __future__ import annotations

import io
from typing import Final

import segno

MAX_IMAGE_BYTES: Final = 4 * 1024 * 1024
MAX_IMAGE_PIXELS: Final = 25_000_000


class QRImageError(ValueError):
    """An image that is not readable or holds no QR code."""


def make(text: str) -> segno.QRCode:
    return segno.make(text, error="m", micro=False)


def png(text: str, *, scale: int = 5, border: int = 4) -> bytes:
    out = io.BytesIO()
    make(text).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def svg_data_uri(text: str, *, scale: int = 5) -> str:
    return str(make(text).svg_data_uri(scale=scale, border=4))


def version_of(text: str) -> int:
    """QR version (size class 1–40) the text needs."""
    return int(make(text).version)


def decode_image(data: bytes) -> str:
    """The text of the first QR code in an image (PNG, JPEG …)."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_IMAGE_BYTES:
        raise QRImageError("图片过大（最大 4 MB）")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise QRImageError("图片像素过多")
            results = zxingcpp.read_barcodes(image.convert("L"))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise QRImageError("无法读取该图片") from exc
    for result in results:
        if result.format == zxingcpp.BarcodeFormat.QRCode and result.text:
            return str(result.text)
    raise QRImageError("图片中没有找到二维码")

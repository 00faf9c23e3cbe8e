"""The licence as a PDF (版式文件): the type's name as title, the licence number, holder, the
fields with their labels, validity, the issuing department with its e-seal image, and the
signed static QR code — laid out by ``tongban.core.pdf`` with an embedded Chinese font.

The seal image is drawn (a red ring with the department's name and a star), not a scanned
stamp: the legal seal is the SM2 signature the QR carries; the image shows where it belongs.
"""

from __future__ import annotations

import io
import math

from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from tongban.core import pdf
from tongban.licences import qr, tokens
from tongban.licences.models import Licence

SEAL_SIZE = 320
RED = (200, 16, 16, 230)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = pdf.chinese_font().path
    if path:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default()


def seal_png(department: str) -> bytes:
    """A round seal image (transparent PNG) with ``department`` along the upper arc."""
    image = Image.new("RGBA", (SEAL_SIZE, SEAL_SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    centre = SEAL_SIZE / 2
    draw.ellipse((8, 8, SEAL_SIZE - 8, SEAL_SIZE - 8), outline=RED, width=10)
    star = [
        (
            centre + (46 if i % 2 == 0 else 19) * math.sin(i * math.pi / 5),
            centre - (46 if i % 2 == 0 else 19) * math.cos(i * math.pi / 5),
        )
        for i in range(10)
    ]
    draw.polygon(star, fill=RED)
    font = _font(34)
    text = department[:14]
    span = math.radians(220)
    for index, char in enumerate(text):
        angle = -span / 2 + span * (index + 0.5) / max(len(text), 1)
        x = centre + 112 * math.sin(angle)
        y = centre - 112 * math.cos(angle)
        glyph = Image.new("RGBA", (44, 44), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((22, 22), char, font=font, fill=RED, anchor="mm")
        rotated = glyph.rotate(-math.degrees(angle), resample=Image.Resampling.BICUBIC)
        image.alpha_composite(rotated, (int(x - 22), int(y - 22)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def licence_pdf(licence: Licence) -> bytes:
    """The licence PDF with a freshly signed static QR code."""
    text = tokens.make_token(licence)
    labels = {f.get("key"): f.get("label", f.get("key")) for f in licence.licence_type.fields}
    document = pdf.GovernmentDocument(
        title=licence.licence_type.name,
        number=f"编号：{licence.number}",
        issued_at=licence.issued_at,
        author=licence.department.name,
        subject="电子证照",
    )
    rows = [
        ["持证人", licence.holder_name],
        ["证件号码", tokens.masked_identifier(licence)],
    ]
    rows += [[str(labels.get(key, key)), str(value)] for key, value in licence.data.items()]
    until = licence.valid_until.isoformat() if licence.valid_until else "长期"
    rows.append(["有效期限", f"{licence.valid_from.isoformat()} 至 {until}"])
    rows.append(["版本", f"第 {licence.version} 版（{licence.get_state_display()}）"])
    document.table(["项目", "内容"], rows, widths=[0.3, 0.7])
    document.signature(
        licence.department.name,
        timezone.localdate(licence.issued_at),
        seal_png=seal_png(licence.department.name),
    )
    document.qr(
        pdf.QrCode(caption="扫码核验：电子印章签名（SM2/SM3）与撤销状态", png=qr.png(text, scale=4))
    )
    return document.render()

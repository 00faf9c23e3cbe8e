"""PDF documents with Chinese text (公文式版面): the one place tongban draws PDFs.

Owns the Chinese font (a real TrueType/TTC font embedded as a subset, found through the
``TONGBAN_PDF_FONT`` setting or the usual Debian font paths, else reportlab's built-in
``STSong-Light`` CID font, which is not embedded and is logged as a warning), the page layout
after GB/T 9704 (A4, 二号 title, 四号 body so a notice fits on one page, two-character
first-line indent, CJK line breaking, page numbers ``— 1 —``), and the building blocks of a government notice: title, document
number (文号), addressee, paragraphs, headings, tables, signature block with issuing department,
Chinese date and optional seal image, and a QR code. The same input gives the same bytes: the
PDF's creation date and file ID come from the document's own data, never from the clock.
"""

from __future__ import annotations

import io
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape

import structlog
from django.conf import settings
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.textsplit import ALL_CANNOT_END, ALL_CANNOT_START
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, TimeStamp
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

logger = structlog.get_logger(__name__)

# Debian packages with TrueType CJK glyphs reportlab can embed (OpenType/CFF fonts such as
# Noto CJK cannot be embedded by reportlab). First found wins; `scripts/ensure-fonts` installs
# the first one.
DEBIAN_FONT_PATHS: Final = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
BUILTIN_CID_FONT: Final = "STSong-Light"
EMBEDDED_FONT_NAME: Final = "TongbanCJK"

PAGE_SIZE: Final = A4
MARGIN_TOP: Final = 30 * mm
MARGIN_BOTTOM: Final = 28 * mm
MARGIN_LEFT: Final = 28 * mm
MARGIN_RIGHT: Final = 26 * mm
TEXT_WIDTH: Final = PAGE_SIZE[0] - MARGIN_LEFT - MARGIN_RIGHT

TITLE_SIZE: Final = 22  # 二号
BODY_SIZE: Final = 14  # 四号: a notice fits on one page
TABLE_SIZE: Final = 12  # 小四
SEAL_SIZE: Final = 42 * mm  # a round official seal is 42 mm across
QR_SIZE: Final = 30 * mm


class PdfFontError(RuntimeError):
    """The configured ``TONGBAN_PDF_FONT`` cannot be used (missing, or not TrueType)."""


@dataclass(frozen=True)
class ChineseFont:
    """The registered font: its reportlab name, the file it came from, whether it is embedded."""

    name: str
    path: str | None
    embedded: bool


_register_lock = threading.Lock()


@lru_cache(maxsize=4)
def _load_font(configured: str) -> ChineseFont:
    with _register_lock:
        if configured:
            return _register_ttf(configured, source="TONGBAN_PDF_FONT")
        for candidate in DEBIAN_FONT_PATHS:
            if Path(candidate).is_file():
                try:
                    return _register_ttf(candidate, source="Debian font path")
                except PdfFontError as exc:
                    logger.warning("pdf_font_unusable", path=candidate, error=str(exc))
        logger.warning(
            "pdf_font_not_embedded",
            font=BUILTIN_CID_FONT,
            hint="install Debian's fonts-wqy-microhei (scripts/ensure-fonts) or set "
            "TONGBAN_PDF_FONT to a TrueType font; readers without Chinese fonts may show "
            "blank text",
        )
        pdfmetrics.registerFont(UnicodeCIDFont(BUILTIN_CID_FONT))
        return ChineseFont(name=BUILTIN_CID_FONT, path=None, embedded=False)


def _register_ttf(path: str, *, source: str) -> ChineseFont:
    if not Path(path).is_file():
        raise PdfFontError(f"{source} {path}: no such font file")
    # each path gets its own name, so switching fonts in one process never mixes glyph tables
    name = f"{EMBEDDED_FONT_NAME}-{zlib.crc32(path.encode()):08x}"
    try:
        font = TTFont(name, path, subfontIndex=0)
    except (TTFError, OSError) as exc:
        raise PdfFontError(
            f"{source} {path}: reportlab cannot embed it ({exc}); use a TrueType .ttf/.ttc "
            "font with Chinese glyphs (OpenType/CFF fonts such as Noto CJK do not work)"
        ) from exc
    pdfmetrics.registerFont(font)
    return ChineseFont(name=name, path=path, embedded=True)


def chinese_font() -> ChineseFont:
    """The font documents are drawn with (registered once per process and configured path)."""
    return _load_font(str(getattr(settings, "TONGBAN_PDF_FONT", "") or ""))


_DIGITS: Final = "〇一二三四五六七八九"


def _chinese_number(value: int) -> str:
    """1–31 as written in dates: 一 … 十, 十一 … 十九, 二十, 二十一 … 三十一."""
    tens, ones = divmod(value, 10)
    if tens == 0:
        return _DIGITS[ones]
    prefix = "" if tens == 1 else _DIGITS[tens]
    return prefix + "十" + (_DIGITS[ones] if ones else "")


def chinese_date(day: date) -> str:
    """The date as written under a signature: ``2025-01-24`` → ``二〇二五年一月二十四日``."""
    year = "".join(_DIGITS[int(digit)] for digit in f"{day.year:04d}")
    return f"{year}年{_chinese_number(day.month)}月{_chinese_number(day.day)}日"


def numeric_date(day: date) -> str:
    """The date in body text: ``2025年1月24日``."""
    return f"{day.year}年{day.month}月{day.day}日"


# Chinese line-breaking rules (GB/T 15834 标点; 避头尾): closing punctuation never starts a line,
# opening punctuation never ends one. reportlab's own lists follow Japanese rules and miss most
# Chinese full-width marks; they are extended here.
CANNOT_START: Final = frozenset(ALL_CANNOT_START + "，。、；：？！）》」』】〕〉”’％…")
CANNOT_END: Final = frozenset(ALL_CANNOT_END + "“‘（《「『【〔〈")
_FUZZ: Final = 1e-6


def _in_run(char: str) -> bool:
    """Part of a number, code or Latin word that should not be split (2025, 330100-…-00001)."""
    return char.isascii() and (char.isalnum() or char in "-./:_")


def break_chinese(
    text: str, widths: Sequence[float], max_widths: Sequence[float]
) -> list[tuple[float, str]]:
    """Split ``text`` (one width per character) into lines no wider than ``max_widths`` (the last
    one repeats): at any character, except that a closing mark may hang one character past the
    margin (悬挂) or otherwise takes the character before it to the next line, an opening mark
    goes to the next line, and an ASCII run (a number, a case number) stays whole when it fits.
    Returns ``(unused width, line)`` pairs; the unused width is negative for a hung mark."""
    lines: list[tuple[float, str]] = []
    start, count = 0, len(text)
    while start < count:
        limit = max_widths[min(len(lines), len(max_widths) - 1)]
        end, used = start, 0.0
        while end < count and used + widths[end] <= limit + _FUZZ:
            used += widths[end]
            end += 1
        end = max(end, start + 1)
        if end < count:
            end = _line_end(text, start, end)
        lines.append((limit - sum(widths[start:end]), text[start:end]))
        start = end
    return lines


def _line_end(text: str, start: int, end: int) -> int:
    """Where a full line from ``start`` should end, given that ``text[:end]`` is what fits."""
    if (
        text[end] in CANNOT_START
        and text[end - 1] not in CANNOT_END
        and (end + 1 == len(text) or text[end + 1] not in CANNOT_START)
    ):
        return end + 1  # hang one closing mark
    best = end
    while best - 1 > start and (
        text[best] in CANNOT_START
        or text[best - 1] in CANNOT_END
        or (_in_run(text[best - 1]) and _in_run(text[best]))
    ):
        best -= 1
    if best - 1 == start and _in_run(text[start]) and _in_run(text[start + 1]):
        return end  # a run longer than the line: split it where the line is full
    return best


class ChineseParagraph(Paragraph):
    """A paragraph broken by :func:`break_chinese` (plain text in one style, as every block of
    a ``GovernmentDocument`` is); anything else falls back to reportlab's CJK breaking."""

    def breakLinesCJK(self, max_widths: Any) -> Any:  # noqa: N802 (reportlab's name)
        frags = self.frags
        if (
            len(frags) != 1
            or hasattr(frags[0], "cbDefn")
            or self.style.endDots
            or getattr(self, "_splitpara", 0)
            or not isinstance(getattr(frags[0], "text", None), str)
        ):
            return super().breakLinesCJK(max_widths)
        if not isinstance(max_widths, list | tuple):
            max_widths = [max_widths]
        self.height = 0
        frag = frags[0]
        text = frag.text
        widths = [pdfmetrics.stringWidth(c, frag.fontName, frag.fontSize) for c in text]
        lines = break_chinese(text, widths, max_widths)
        return frag.clone(
            kind=0,
            lines=[(space, [line]) for space, line in lines],
            ascent=frag.fontSize,
            descent=-0.2 * frag.fontSize,
        )


@dataclass(frozen=True)
class _Styles:
    title: ParagraphStyle
    number: ParagraphStyle
    addressee: ParagraphStyle
    body: ParagraphStyle
    plain: ParagraphStyle
    heading: ParagraphStyle
    cell: ParagraphStyle
    cell_head: ParagraphStyle
    caption: ParagraphStyle


def _styles(font: str) -> _Styles:
    body = ParagraphStyle(
        "body",
        fontName=font,
        fontSize=BODY_SIZE,
        leading=BODY_SIZE * 1.7,
        alignment=TA_JUSTIFY,
        firstLineIndent=2 * BODY_SIZE,
        wordWrap="CJK",
        spaceAfter=0,
    )
    cell = ParagraphStyle(
        "cell", fontName=font, fontSize=TABLE_SIZE, leading=TABLE_SIZE * 1.4, wordWrap="CJK"
    )
    return _Styles(
        title=ParagraphStyle(
            "title",
            fontName=font,
            fontSize=TITLE_SIZE,
            leading=TITLE_SIZE * 1.5,
            alignment=TA_CENTER,
            wordWrap="CJK",
            spaceAfter=4 * mm,
        ),
        number=ParagraphStyle(
            "number",
            fontName=font,
            fontSize=BODY_SIZE - 2,
            leading=BODY_SIZE * 1.5,
            alignment=TA_CENTER,
            wordWrap="CJK",
            spaceAfter=6 * mm,
        ),
        addressee=ParagraphStyle(
            "addressee", parent=body, firstLineIndent=0, alignment=TA_LEFT, spaceAfter=2 * mm
        ),
        body=body,
        plain=ParagraphStyle("plain", parent=body, firstLineIndent=0),
        heading=ParagraphStyle(
            "heading", parent=body, firstLineIndent=2 * BODY_SIZE, spaceBefore=2 * mm
        ),
        cell=cell,
        cell_head=ParagraphStyle("cell_head", parent=cell, alignment=TA_CENTER),
        caption=ParagraphStyle(
            "caption",
            fontName=font,
            fontSize=TABLE_SIZE - 2,
            leading=(TABLE_SIZE - 2) * 1.4,
            alignment=TA_LEFT,
            wordWrap="CJK",
        ),
    )


class _SignatureBlock(Flowable):
    """Issuing department above the Chinese date, right-aligned four characters in from the
    right margin (成文日期右空四字), the seal image centred over both when given."""

    def __init__(self, font: str, department: str, on: date, seal_png: bytes | None = None) -> None:
        super().__init__()
        self.font = font
        self.lines = [department, chinese_date(on)]
        self.seal = ImageReader(io.BytesIO(seal_png)) if seal_png else None
        self.height = max(2 * BODY_SIZE * 1.7, SEAL_SIZE if self.seal else 0) + 8 * mm

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        return avail_width, self.height

    def draw(self) -> None:
        canvas = self.canv
        widths = [pdfmetrics.stringWidth(line, self.font, BODY_SIZE) for line in self.lines]
        block_width = max(widths)
        right = self.width - 4 * BODY_SIZE
        centre = right - block_width / 2
        top = self.height - 8 * mm
        canvas.setFont(self.font, BODY_SIZE)
        for index, (line, width) in enumerate(zip(self.lines, widths, strict=True)):
            baseline = top - (index + 1) * BODY_SIZE * 1.5
            canvas.drawString(centre - width / 2, baseline, line)
        if self.seal is not None:
            middle = top - BODY_SIZE * 1.5
            canvas.drawImage(
                self.seal,
                centre - SEAL_SIZE / 2,
                middle - SEAL_SIZE / 2,
                width=SEAL_SIZE,
                height=SEAL_SIZE,
                mask="auto",
                preserveAspectRatio=True,
            )


class _QrBlock(Flowable):
    """A QR code (from text, drawn as vectors, or from a PNG) with its caption beside it."""

    def __init__(self, *, text: str | None, png: bytes | None, caption: Paragraph) -> None:
        super().__init__()
        self.text = text
        self.image = ImageReader(io.BytesIO(png)) if png else None
        self.caption = caption
        self.caption_height = 0.0

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        _, self.caption_height = self.caption.wrap(avail_width - QR_SIZE - 4 * mm, avail_height)
        self.height = max(QR_SIZE, self.caption_height) + 4 * mm
        return avail_width, self.height

    def draw(self) -> None:
        canvas = self.canv
        bottom = (self.height - QR_SIZE) / 2
        if self.image is not None:
            canvas.drawImage(self.image, 0, bottom, width=QR_SIZE, height=QR_SIZE, mask="auto")
        elif self.text is not None:
            widget = QrCodeWidget(self.text, barLevel="M")
            x0, y0, x1, y1 = widget.getBounds()
            scale = [QR_SIZE / (x1 - x0), 0, 0, QR_SIZE / (y1 - y0), 0, 0]
            drawing = Drawing(QR_SIZE, QR_SIZE, transform=scale)
            drawing.add(widget)
            drawing.drawOn(canvas, 0, bottom)
        self.caption.drawOn(canvas, QR_SIZE + 4 * mm, (self.height - self.caption_height) / 2)


def _fixed_timestamp(moment: datetime) -> TimeStamp:
    stamp = TimeStamp(invariant=True)
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    stamp.t = moment.timestamp() if moment.tzinfo else 0.0
    stamp.YMDhms = (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
    )
    stamp.dhh, stamp.dmm = divmod(minutes, 60)
    stamp.tzname = moment.tzname() or "UTC"
    return stamp


class GovernmentDocument:
    """A notice or decision laid out as a government document. Add blocks in reading order,
    then ``render()`` to PDF bytes::

        doc = GovernmentDocument(title="受理通知书", number="〔2025〕受字第 … 号",
                                 issued_at=accepted_at, author="杭州市上城区市场监督管理局")
        doc.addressee("张三：")
        doc.paragraph("你（单位）于2025年1月23日提出的……申请，本机关决定予以受理。")
        doc.table(["材料", "问题"], [["营业执照", "已过期"]], widths=[0.4, 0.6])
        doc.signature("杭州市上城区市场监督管理局", accepted_at.date())
        pdf = doc.render()

    ``issued_at`` becomes the PDF's creation date, so rendering the same case event twice gives
    identical bytes.
    """

    def __init__(
        self,
        *,
        title: str,
        issued_at: datetime,
        number: str = "",
        author: str = "",
        subject: str = "",
        keywords: Sequence[str] = (),
    ) -> None:
        self.font = chinese_font()
        self.styles = _styles(self.font.name)
        self.title = title
        self.number = number
        self.issued_at = issued_at
        self.author = author
        self.subject = subject
        self.keywords = list(keywords)
        self.story: list[Flowable] = [ChineseParagraph(escape(title), self.styles.title)]
        if number:
            self.story.append(ChineseParagraph(escape(number), self.styles.number))
        else:
            self.story.append(Spacer(0, 4 * mm))

    def addressee(self, text: str) -> None:
        """The 主送 line (``张三：``), flush left."""
        self.story.append(ChineseParagraph(escape(text), self.styles.addressee))

    def paragraph(self, text: str, *, indent: bool = True) -> None:
        """A body paragraph; Chinese text wraps at any character, punctuation kept off line
        starts. ``indent`` gives the customary two-character first-line indent."""
        style = self.styles.body if indent else self.styles.plain
        self.story.append(ChineseParagraph(escape(text), style))

    def heading(self, text: str) -> None:
        """A numbered part heading inside the body (``一、补正内容``)."""
        self.story.append(ChineseParagraph(escape(text), self.styles.heading))

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        widths: Sequence[float] | None = None,
    ) -> None:
        """A ruled table; ``widths`` are fractions of the text width (equal when omitted).
        Cells wrap Chinese text; the header row repeats on each page."""
        if widths is None:
            widths = [1 / len(header)] * len(header)
        if len(widths) != len(header) or any(len(row) != len(header) for row in rows):
            raise ValueError("every table row needs one cell per column")
        data = [[ChineseParagraph(escape(cell), self.styles.cell_head) for cell in header]]
        data += [[ChineseParagraph(escape(cell), self.styles.cell) for cell in row] for row in rows]
        table = Table(data, colWidths=[TEXT_WIDTH * w for w in widths], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ]
            )
        )
        self.story += [Spacer(0, 2 * mm), table, Spacer(0, 3 * mm)]

    def signature(self, department: str, on: date, *, seal_png: bytes | None = None) -> None:
        """Issuing department and Chinese date (``二〇二五年一月二十四日``), with the seal image
        (a PNG with transparency) over them when given. Kept on one page."""
        block = _SignatureBlock(self.font.name, department, on, seal_png)
        # the 落款 never stands alone on a page: it keeps the block before it company
        before: list[Flowable] = []
        while len(self.story) > 2:  # the title and number stay where they are
            before.insert(0, self.story.pop())
            if not isinstance(before[0], Spacer):
                break
        self.story.append(KeepTogether([*before, Spacer(0, 6 * mm), block]))

    def qr(self, *, caption: str, text: str | None = None, png: bytes | None = None) -> None:
        """A QR code with a caption: drawn from ``text`` (e.g. a verification URL), or a
        ready PNG (e.g. a signed licence QR)."""
        if (text is None) == (png is None):
            raise ValueError("give the QR code's text or its PNG image, not both")
        caption_paragraph = ChineseParagraph(escape(caption), self.styles.caption)
        self.story.append(_QrBlock(text=text, png=png, caption=caption_paragraph))

    def note(self, text: str) -> None:
        """A small flush-left line after the signature (联系人、联系电话、抄送)."""
        style = ParagraphStyle("note", parent=self.styles.plain, fontSize=TABLE_SIZE)
        style.leading = TABLE_SIZE * 1.6
        style.alignment = TA_LEFT
        self.story.append(ChineseParagraph(escape(text), style))

    def render(self) -> bytes:
        buffer = io.BytesIO()
        template = SimpleDocTemplate(
            buffer,
            pagesize=PAGE_SIZE,
            topMargin=MARGIN_TOP,
            bottomMargin=MARGIN_BOTTOM,
            leftMargin=MARGIN_LEFT,
            rightMargin=MARGIN_RIGHT,
            title=self.title,
            author=self.author,
            subject=self.subject,
            keywords=self.keywords,
            creator="tongban",
            producer="tongban",
            lang="zh-CN",
            invariant=True,
            initialFontName=self.font.name,
            initialFontSize=BODY_SIZE,
        )
        stamp = _fixed_timestamp(self.issued_at)
        font = self.font.name

        def page_number(canvas: Canvas, doc: Any) -> None:
            canvas.saveState()
            canvas.setFont(font, TABLE_SIZE + 2)
            canvas.drawCentredString(PAGE_SIZE[0] / 2, MARGIN_BOTTOM - 14 * mm, f"— {doc.page} —")
            canvas.restoreState()

        def first_page(canvas: Canvas, doc: Any) -> None:
            canvas._doc._timeStamp = stamp  # creation date from the data, not the clock
            page_number(canvas, doc)

        template.build(list(self.story), onFirstPage=first_page, onLaterPages=page_number)
        return buffer.getvalue()

"""The PDF layer: Chinese dates, an embedded Chinese font (or the logged CID fallback), CJK
line breaking, tables, signature, QR, and identical bytes for identical input."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from structlog.testing import capture_logs

from tongban.core import pdf

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _fresh_font_choice() -> Iterator[None]:
    pdf._load_font.cache_clear()
    yield
    pdf._load_font.cache_clear()


def installed_font() -> str:
    found = [path for path in pdf.DEBIAN_FONT_PATHS if Path(path).is_file()]
    if not found:
        pytest.fail(
            "no TrueType Chinese font installed: run scripts/ensure-fonts "
            "(Debian package fonts-wqy-microhei)"
        )
    return found[0]


def text_of(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def fonts_of(data: bytes) -> dict[str, bool]:
    """Base font name → whether its file is embedded."""
    fonts: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            face = descendants[0].get_object() if descendants else font
            descriptor = face.get("/FontDescriptor")
            embedded = descriptor is not None and any(
                key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
            fonts[str(font["/BaseFont"])] = embedded
    return fonts


def sample_document(**kwargs: object) -> pdf.GovernmentDocument:
    doc = pdf.GovernmentDocument(
        title="补正材料告知书",
        number="〔2025〕补字第 330102-20250124-00001 号",
        issued_at=datetime(2025, 1, 24, 10, 30, tzinfo=SHANGHAI),
        author="杭州市上城区市场监督管理局（样例）",
    )
    doc.addressee("张三：")
    doc.paragraph(
        "你（单位）于2025年1月23日提出的食品经营许可申请，经审查，申请材料不齐全。"
        "根据《中华人民共和国行政许可法》第三十二条第一款第（四）项的规定，请一次性补正下列材料："
    )
    doc.table(
        ["序号", "材料名称", "需补正的内容"],
        [["1", "营业执照", "复印件不清晰，无法辨认统一社会信用代码。"]],
        widths=[0.12, 0.3, 0.58],
    )
    doc.signature("杭州市上城区市场监督管理局（样例）", date(2025, 1, 24))
    return doc


@pytest.mark.parametrize(
    ("day", "written"),
    [
        (date(2025, 1, 24), "二〇二五年一月二十四日"),
        (date(2025, 10, 10), "二〇二五年十月十日"),
        (date(2026, 11, 30), "二〇二六年十一月三十日"),
        (date(2000, 12, 31), "二〇〇〇年十二月三十一日"),
        (date(2019, 2, 20), "二〇一九年二月二十日"),
    ],
)
def test_chinese_date(day: date, written: str) -> None:
    assert pdf.chinese_date(day) == written


def test_the_installed_truetype_font_is_embedded_and_the_text_extracts(settings) -> None:
    settings.TONGBAN_PDF_FONT = ""
    font_path = installed_font()
    data = sample_document().render()
    assert pdf.chinese_font() == pdf.ChineseFont(
        name=pdf.chinese_font().name, path=font_path, embedded=True
    )
    cjk_fonts = {name: embedded for name, embedded in fonts_of(data).items() if "+" in name}
    assert cjk_fonts, fonts_of(data)
    assert all(cjk_fonts.values())
    text = text_of(data)
    for expected in (
        "补正材料告知书",
        "〔2025〕补字第 330102-20250124-00001 号",
        "张三：",
        "《中华人民共和国行政许可法》第三十二条",
        "营业执照",
        "复印件不清晰",
        "二〇二五年一月二十四日",
    ):
        assert expected in text.replace("\n", "")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    assert reader.metadata is not None
    assert reader.metadata.title == "补正材料告知书"
    assert reader.metadata.creation_date is not None
    assert reader.metadata.creation_date.replace(tzinfo=None) == datetime(2025, 1, 24, 10, 30)


def test_the_same_input_gives_the_same_bytes() -> None:
    assert sample_document().render() == sample_document().render()
    other = pdf.GovernmentDocument(
        title="补正材料告知书", issued_at=datetime(2025, 1, 25, 9, 0, tzinfo=SHANGHAI)
    )
    assert (
        other.render()
        != pdf.GovernmentDocument(
            title="补正材料告知书", issued_at=datetime(2025, 1, 24, 9, 0, tzinfo=SHANGHAI)
        ).render()
    )


def test_without_a_truetype_font_the_builtin_cid_font_is_used_and_logged(
    settings, monkeypatch
) -> None:
    settings.TONGBAN_PDF_FONT = ""
    monkeypatch.setattr(pdf, "DEBIAN_FONT_PATHS", ("/nonexistent/font.ttc",))
    with capture_logs() as logs:
        data = sample_document().render()
    assert pdf.chinese_font() == pdf.ChineseFont(name="STSong-Light", path=None, embedded=False)
    assert [entry["event"] for entry in logs] == ["pdf_font_not_embedded"]
    assert fonts_of(data)["/STSong-Light"] is False
    assert "二〇二五年一月二十四日" in text_of(data)


def test_a_configured_font_that_reportlab_cannot_embed_names_the_setting(
    settings, tmp_path
) -> None:
    not_a_font = tmp_path / "NotoSansCJK-Regular.otf"
    not_a_font.write_bytes(b"OTTO" + bytes(60))
    settings.TONGBAN_PDF_FONT = str(not_a_font)
    with pytest.raises(pdf.PdfFontError, match="TONGBAN_PDF_FONT"):
        sample_document()


def test_a_configured_truetype_font_is_used(settings) -> None:
    settings.TONGBAN_PDF_FONT = installed_font()
    data = sample_document().render()
    assert pdf.chinese_font().path == installed_font()
    assert any(embedded for name, embedded in fonts_of(data).items() if "+" in name)


def test_long_text_wraps_without_starting_a_line_with_closing_punctuation() -> None:
    doc = pdf.GovernmentDocument(
        title="不予受理决定书", issued_at=datetime(2025, 1, 24, tzinfo=SHANGHAI)
    )
    sentence = "根据《中华人民共和国行政许可法》第三十二条第一款第（一）项的规定，决定不予受理。"
    for _ in range(40):
        doc.paragraph(sentence * 3)
    data = doc.render()
    reader = PdfReader(io.BytesIO(data))
    assert 2 <= len(reader.pages) <= 12
    lines = [line for page in reader.pages for line in page.extract_text().splitlines()]
    assert all(not line.startswith(("，", "。", "》", "）", "：")) for line in lines)
    assert "— 2 —" in reader.pages[1].extract_text()


def test_table_rows_must_match_the_header() -> None:
    doc = sample_document()
    with pytest.raises(ValueError, match="one cell per column"):
        doc.table(["材料", "问题"], [["营业执照"]])


def test_seal_and_qr_images_are_drawn(tmp_path) -> None:
    from PIL import Image, ImageDraw

    seal = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(seal).ellipse((5, 5, 195, 195), outline=(200, 0, 0, 255), width=8)
    buffer = io.BytesIO()
    seal.save(buffer, format="PNG")
    doc = pdf.GovernmentDocument(
        title="准予行政许可决定书", issued_at=datetime(2025, 1, 24, tzinfo=SHANGHAI)
    )
    doc.paragraph("准予许可。")
    doc.signature(
        "杭州市上城区市场监督管理局（样例）", date(2025, 1, 24), seal_png=buffer.getvalue()
    )
    doc.qr(caption="扫码核验", text="https://zwfw.example.invalid/v/1")
    qr_png = io.BytesIO()
    Image.new("RGB", (64, 64), (0, 0, 0)).save(qr_png, format="PNG")
    doc.qr(caption="电子证照", png=qr_png.getvalue())
    with pytest.raises(ValueError, match="not both"):
        doc.qr(caption="x")
    data = doc.render()
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert len(page.images) == 2  # the seal and the PNG QR; the text QR is vector paths
    assert "扫码核验" in page.extract_text()


def _break(text: str, per_line: int) -> list[str]:
    """Break with every character one unit wide and ``per_line`` units per line."""
    return [line for _, line in pdf.break_chinese(text, [1.0] * len(text), [float(per_line)])]


def test_line_breaking_keeps_chinese_punctuation_and_numbers_in_place() -> None:
    # a closing mark that would start a line hangs at the end of the one before
    assert _break("一二三四，五六", 4) == ["一二三四，", "五六"]
    # two closing marks in a row: the character before them goes down with them
    assert _break("一二三四五）”六", 5) == ["一二三四", "五）”六"]
    assert _break("一二三（四）”五六", 5) == ["一二三", "（四）”五", "六"]
    # an opening mark never ends a line
    assert _break("一二三“四五六", 4) == ["一二三", "“四五六"]
    # a number or case number stays whole when it fits on a line
    assert _break("受理日期2025年", 6) == ["受理日期", "2025年"]
    assert _break("编号330100-20250124-00001号", 10) == [
        "编号",
        "330100-202",
        "50124-0000",
        "1号",
    ]
    # every character is kept, in order
    text = "根据《中华人民共和国行政许可法》第三十二条第一款第（四）项的规定，请一次性补正。" * 3
    for width in range(2, 30):
        assert "".join(_break(text, width)) == text

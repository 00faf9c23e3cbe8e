"""``tongban bench notices``: how long one PDF notice takes to render (``tongban.core.pdf``).

A one-page 受理通知书 as ``tongban.cases.documents`` lays it out (title, 文号, addressee, two
paragraphs, an eight-row table, 落款 with a QR code) is rendered again and again with the
embedded TrueType font and, side by side in the same run, with reportlab's built-in
``STSong-Light`` CID font (nothing embedded): the ratio is what embedding a font subset costs.
Reading the TrueType font when a process first draws a PDF is timed once. Needs no database.
"""

from __future__ import annotations

import datetime as dt
import time
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from tongban.bench.base import Benchmark, Log, Option, Stopwatch, benchmarks, percentiles
from tongban.core import pdf

ISSUED = dt.datetime(2025, 1, 24, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def acceptance_notice(font: pdf.ChineseFont, n: int) -> bytes:
    number = f"330100-20250124-{n:05d}"
    doc = pdf.GovernmentDocument(
        title="受理通知书",
        number=f"〔2025〕受字第 {number} 号",
        issued_at=ISSUED,
        author="杭州市市场监督管理局（样例）",
        font=font,
    )
    doc.addressee("王伟（样例）：")
    doc.paragraph(
        f"你（单位）于2025年1月24日提出的“食品经营许可（餐饮服务）”申请（办件编号：{number}），"
        "经审查，申请事项属于本机关职权范围，申请材料齐全、符合法定形式，根据《中华人民共和国"
        "行政许可法》第三十二条第一款第（五）项的规定，决定予以受理。"
    )
    doc.paragraph(
        "本机关将自受理之日起10个工作日内（2025年2月13日前）作出决定。依法需要听证、招标、"
        "拍卖、检验、检测、检疫、鉴定和专家评审的，所需时间不计算在上述期限内。"
    )
    doc.table(
        ["项目", "内容"],
        [
            ["事项名称", "食品经营许可（餐饮服务）"],
            ["办件编号", number],
            ["申请人", "王伟（样例）"],
            ["身份证件号码", "330106195001010001"],
            ["申请日期", "2025年1月24日"],
            ["受理日期", "2025年1月24日"],
            ["承诺办结时限", "10个工作日"],
            ["办结期限", "2025年2月13日"],
        ],
        widths=[0.3, 0.7],
    )
    qr = pdf.QrCode(caption="扫码查看办理进度", text=f"https://zwfw.example.invalid/my/{number}/")
    doc.signature("杭州市市场监督管理局（样例）", ISSUED.date(), qr=qr)
    return doc.render()


@benchmarks.register("notices")
class NoticesBenchmark(Benchmark):
    summary = "PDF notice rendering: embedded TrueType font vs built-in CID font, ms per notice"
    options = {
        "documents": Option(int, 100, "notices rendered with each font"),
    }

    def run(self, options: dict[str, Any], log: Log) -> dict[str, Any]:
        pdf._load_font.cache_clear()
        started = time.perf_counter()
        embedded = pdf.chinese_font()
        font_load_ms = (time.perf_counter() - started) * 1000
        if not embedded.embedded:
            raise RuntimeError(
                "no TrueType Chinese font: run scripts/ensure-fonts or set TONGBAN_PDF_FONT"
            )
        builtin = pdf.builtin_font()
        watches = {"embedded": Stopwatch(), "builtin": Stopwatch()}
        fonts = {"embedded": embedded, "builtin": builtin}
        sizes = {}
        for name, font in fonts.items():  # warm-up
            sizes[name] = len(acceptance_notice(font, 0))
        log(f"rendering {options['documents']} notices with each font, interleaved")
        for n in range(options["documents"]):
            for name, font in fonts.items():
                watches[name].time(partial(acceptance_notice, font, n))
        figures: dict[str, Any] = {
            "benchmark": "notices",
            "documents": options["documents"],
            "font": embedded.path,
            "font_load_ms": round(font_load_ms, 1),
            "embedded_bytes": sizes["embedded"],
            "builtin_bytes": sizes["builtin"],
        }
        figures.update(percentiles(watches["embedded"].samples_ms, "embedded_"))
        figures.update(percentiles(watches["builtin"].samples_ms, "builtin_"))
        figures["embedded_per_s"] = round(1000 / figures["embedded_mean_ms"], 1)
        figures["ratio_embedded_to_builtin"] = round(
            figures["embedded_mean_ms"] / figures["builtin_mean_ms"], 2
        )
        return figures

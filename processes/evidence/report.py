"""The evidence report: what the package proves, for a person, in Chinese and English (each
label in both; the values as recorded). Drawn with reportlab in the CJK font the seals use;
:mod:`processes.evidence.package` then seals it with the system seal."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

import signer

_DECISIONS = {"approve": "同意 approved", "reject": "驳回 rejected", "return": "退回 returned"}


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
    return {"body": base,
            "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=10),
            "title": ParagraphStyle("title", parent=base, fontSize=16, leading=22),
            "h2": ParagraphStyle("h2", parent=base, fontSize=11, leading=16, spaceBefore=8,
                                 spaceAfter=3)}


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape("" if text is None else str(text)), style)


def _table(rows: list[list[Any]], widths: list[float], style: ParagraphStyle,
           header: bool = False) -> Table:
    table = Table([[_p(cell, style) for cell in row] for row in rows], colWidths=widths,
                  repeatRows=1 if header else 0)
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP")]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
    table.setStyle(TableStyle(commands))
    return table


def draw(summary: dict[str, Any], files: dict[str, str], *, generated_at: str,
         font_path: str | None = None) -> bytes:
    """The report's PDF (unsealed): ``summary`` as :func:`processes.evidence.contents.gather`
    makes it, ``files`` the package's files and their SHA-256."""
    font = signer.cjk_font_name(font_path)
    s = _styles(font)
    wide = 170 * mm
    process = summary["process"]
    seal = summary["seal"]
    story: list[Any] = [
        _p("电子用印存证报告", s["title"]),
        _p("Evidence report of a sealed document", s["h2"]),
        _p(f"申请 Request #{summary['request']} · {summary['organisation']} · "
           f"生成于 generated {generated_at}", s["body"]),
        Spacer(1, 4 * mm),
        _p("用印申请 The request", s["h2"]),
        _table([
            ["文件 Document", summary["filename"]],
            ["页数 Pages", summary["pages"]],
            ["业务类型 Business type", summary["business_type"]],
            ["用途 Purpose", summary["purpose"]],
            ["申请人 Requester", summary["requester"]],
            ["印章 Seal", f"{seal['name']} ({seal['type']})"],
            ["证书序列号 Certificate serial", seal["certificate_serial"]],
            ["流程 Process", f"{process['name']} · {process['key']} v{process['version']}"],
            ["流程文件 SHA-256 Process files", process["sha256"]],
            ["批准的文件 SHA-256 Approved document", summary["approved_sha256"]],
            ["盖章后文件 SHA-256 Sealed document", summary["sealed_sha256"]],
            ["盖章时间 Sealed at", summary["sealed_at"]],
        ], [48 * mm, wide - 48 * mm], s["body"]),
        _p("审批记录 Approvals", s["h2"]),
    ]
    decisions = [["时间 Time", "步骤 Step", "审批人 By", "决定 Decision",
                  "意见与表单 Comment, form"]]
    for entry in summary["decisions"]:
        form = "; ".join(f"{key}: {value}" for key, value in (entry.get("data") or {}).items())
        said = " · ".join(part for part in (entry.get("comment"), form) if part)
        decisions.append([entry.get("at"), entry.get("name"), entry.get("by"),
                          _DECISIONS.get(entry.get("decision") or "", entry.get("decision")),
                          said])
    story.append(_table(decisions, [30 * mm, 28 * mm, 24 * mm, 24 * mm, wide - 106 * mm],
                        s["small"], header=True))
    anchor = summary["anchor"]
    story += [
        _p("审计链与时间戳 Audit chain and timestamps", s["h2"]),
        _table([
            ["本申请的审计事件 The request's audit events", summary["events"]],
            ["证明中的事件 Events in the proof (others by digest only)", summary["run"]],
            ["锚定事件 Anchored event", anchor["seq"]],
            ["锚定哈希 Anchored hash", anchor["hash"]],
            ["锚定时间 (RFC 3161) Anchored at", anchor["stamped_at"]],
            *[[f"时间戳 Timestamp ({t['kind']})", t["time"]] for t in summary["timestamps"]],
        ], [60 * mm, wide - 60 * mm], s["body"]),
        _p("包中文件 Files of the package (SHA-256)", s["h2"]),
        _table([["文件 File", "SHA-256"], *[[name, digest] for name, digest in files.items()]],
               [55 * mm, wide - 55 * mm], s["small"], header=True),
        Spacer(1, 4 * mm),
        _p("本报告由系统章签章，其签名内载有上表；核验方法见 docs/evidence.md："
           "sealflow evidence verify FILE --root CA.pem。", s["body"]),
        _p("This report is sealed with Sealflow's system seal, whose signature carries the table "
           "above; to verify the package see docs/evidence.md: "
           "sealflow evidence verify FILE --root CA.pem.", s["body"]),
    ]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                      topMargin=18 * mm, bottomMargin=30 * mm,
                      title=f"Evidence report, request {summary['request']}",
                      invariant=1).build(story)
    return buf.getvalue()

"""The dashboard's charts (app/web/charts.py) are well-formed SVG images a screen reader can
name, with every label escaped and each bar as long as its value says."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from app.web import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - our own output


def test_bars_are_proportional_with_their_numbers_beside():
    svg = _parse(charts.bars("c", "标题 <b>", "desc & more", ("Open", "Overdue"), [
        charts.BarRow("法务部 <script>", [10, 5], ["10", "5"]),
        charts.BarRow("sales", [4, 0], ["4", "0"])]))
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c-t c-d"
    assert svg.find(f"{SVG}title").text == "标题 <b>"
    assert svg.find(f"{SVG}desc").text == "desc & more"
    bars = [r for r in svg.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    widths = [float(r.get("width")) for r in bars]
    assert widths[1:] == pytest.approx([widths[0] / 2, widths[0] * 4 / 10, 0], abs=0.1)
    assert bars[0].find(f"{SVG}title").text == "法务部 <script> · Open: 10"
    numbers = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "num"]
    assert numbers == ["10", "5", "4", "0"]


def test_lines_have_a_point_per_month_and_a_round_axis():
    svg = _parse(charts.lines("u", "Uses", "per month", ["2026-01", "2026-02", "2026-03"],
                              [("合同专用章", [3, 0, 7]), ("公章", [1, 1, 1])]))
    assert len(list(svg.iter(f"{SVG}polyline"))) == 2
    points = list(svg.iter(f"{SVG}circle"))
    assert [p.find(f"{SVG}title").text for p in points[:3]] == [
        "合同专用章 · 2026-01: 3", "合同专用章 · 2026-02: 0", "合同专用章 · 2026-03: 7"]
    axis = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "axis"]
    assert axis[:3] == ["0", "5", "10"]  # 7 rounds up to 10


def test_a_long_label_is_cut_in_the_chart_and_kept_whole_in_its_tooltip():
    label = "某某集团有限公司合同专用章" * 4
    svg = _parse(charts.bars("l", "t", "d", ("n",), [charts.BarRow(label, [1], ["1"])]))
    shown = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") is None][0]
    assert shown.endswith("…") and charts.text_width(shown) <= charts.WIDTH
    assert label in [r.find(f"{SVG}title").text for r in svg.iter(f"{SVG}rect")][0]

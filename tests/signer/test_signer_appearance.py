import io
import os
import subprocess

import pytest
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader

from signer import FontMissing, draw_seal, find_cjk_font
from signer import appearance as appearance_module


def _is_red(pixel) -> bool:
    r, g, b, a = pixel
    return a > 200 and r > 180 and g < 80 and b < 80


def test_find_cjk_font():
    path, index = find_cjk_font()
    assert os.path.isfile(path) and index == 0


def test_no_font_installed(monkeypatch):
    monkeypatch.setattr(appearance_module, "CJK_FONT_CANDIDATES", (("/nonexistent.ttc", 0),))
    with pytest.raises(FontMissing, match="apt-get install fonts-wqy-zenhei"):
        find_cjk_font()
    with pytest.raises(FontMissing):
        draw_seal("示例科技有限公司")


def test_font_without_chinese_glyphs():
    with pytest.raises(FontMissing, match="no glyph"):
        draw_seal("示例科技有限公司", font_path="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.mark.parametrize("size_mm", [42, 40])
def test_pdf_is_one_square_page(size_mm):
    seal = draw_seal("示例科技有限公司", "合同专用章", size_mm=size_mm)
    reader = PdfFileReader(io.BytesIO(seal.pdf))
    assert reader.root["/Pages"]["/Count"] == 1
    x1, y1, x2, y2 = (float(v) for v in reader.root["/Pages"]["/Kids"][0]["/MediaBox"])
    side = size_mm * 72 / 25.4
    assert x2 - x1 == pytest.approx(side, abs=0.01)
    assert y2 - y1 == pytest.approx(side, abs=0.01)


def test_font_is_embedded(appearance, tmp_path):
    path = tmp_path / "seal.pdf"
    path.write_bytes(appearance.pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    fonts = out.stdout.splitlines()[2:]
    assert fonts, out.stdout
    for line in fonts:
        emb, sub = line.split()[-5:-3]
        assert (emb, sub) == ("yes", "yes"), line


def test_png_is_transparent_with_red_seal(appearance):
    with Image.open(io.BytesIO(appearance.png)) as image:
        image = image.convert("RGBA") if image.mode != "RGBA" else image.copy()
    width, height = image.size
    assert width == height and width > 300
    for corner in [(0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1)]:
        assert image.getpixel(corner)[3] == 0
    # The border crosses the middle of the top edge, the star fills the centre.
    assert any(_is_red(image.getpixel((width // 2, y))) for y in range(0, height // 20))
    assert _is_red(image.getpixel((width // 2, height // 2)))
    data = image.tobytes()
    red = sum(
        1 for p in zip(data[0::4], data[1::4], data[2::4], data[3::4], strict=True) if _is_red(p)
    )
    assert 0.08 < red / (width * height) < 0.5


def test_long_and_short_names_draw():
    for name in ["示例公司", "北京示例网络信息技术股份有限公司"]:
        seal = draw_seal(name, "财务专用章", serial="1101080012345")
        assert seal.pdf.startswith(b"%PDF") and seal.png.startswith(b"\x89PNG")
    with pytest.raises(ValueError):
        draw_seal("  ")

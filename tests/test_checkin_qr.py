"""`cityhall qr`: the URL, the PNG and the A4 poster PDF, rendered and decoded back to the URL,
and a resident scanning the printed poster in the emulator."""

from __future__ import annotations

import io
import shutil
import subprocess
from urllib.parse import unquote

import pytest
import zxingcpp
from PIL import Image

from cityhall.cli import main
from tests.chat import Resident
from tests.checkin_support import family, open_all_day, visits
from tests.flows_helpers import seed_city


@pytest.fixture
def cli(app):
    seed_city(app)
    open_all_day(app)
    return app.test_cli_runner()


def decode(image: Image.Image) -> str:
    [found] = zxingcpp.read_barcodes(image.convert("RGB"))
    return found.text


def render_pdf(path) -> Image.Image:
    """Render the poster's page with poppler (Debian's poppler-utils; .ci/run installs it)."""
    assert shutil.which("pdftoppm"), "pdftoppm is missing: apt-get install poppler-utils"
    done = subprocess.run(["pdftoppm", "-png", "-r", "100", "-singlefile", str(path)],
                          capture_output=True, timeout=60, check=True)
    return Image.open(io.BytesIO(done.stdout))


def test_qr_url_holds_the_oa_message_with_readable_text(cli):
    result = cli.invoke(main, ["qr", "central", "--format", "url"])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith("https://line.me/R/oaMessage/@cityhall/?")
    text = unquote(url.split("?", 1)[1])
    assert text.startswith("チェックイン C1.central.p1.") and len(text) < 45


def test_png_and_poster_pdf_decode_back_to_the_url(cli, tmp_path):
    url = cli.invoke(main, ["qr", "central", "--format", "url"]).output.strip()
    png, pdf = tmp_path / "code.png", tmp_path / "poster.pdf"
    assert cli.invoke(main, ["qr", "central", "--format", "png", "--out", str(png)]).exit_code == 0
    assert decode(Image.open(png)) == url
    assert cli.invoke(main, ["qr", "central", "--format", "pdf", "--out", str(pdf)]).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    page = render_pdf(pdf)
    assert abs(page.width / page.height - 210 / 297) < 0.01  # A4 portrait
    assert decode(page) == url


def test_the_poster_embeds_its_one_japanese_font(cli, tmp_path):
    pdf = tmp_path / "poster.pdf"
    assert cli.invoke(main, ["qr", "central", "--format", "pdf", "--out", str(pdf)]).exit_code == 0
    assert shutil.which("pdffonts"), "pdffonts is missing: apt-get install poppler-utils"
    done = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, timeout=60,
                          check=True)
    header, _rule, *rows = done.stdout.splitlines()
    emb = header.index("emb")
    assert rows and all(row[emb:emb + 3] == "yes" for row in rows), done.stdout
    assert len(rows) == 1 and "TrueType" in rows[0]


def test_a_missing_poster_font_is_a_clear_error(cli, app, tmp_path):
    app.config["CITYHALL_POSTER_FONT"] = str(tmp_path / "nope.ttf")
    result = cli.invoke(main, ["qr", "central", "--format", "pdf", "--out", str(tmp_path / "p")])
    assert result.exit_code == 1
    assert f"CITYHALL_POSTER_FONT is not a file: {tmp_path / 'nope.ttf'}" in result.output
    assert not (tmp_path / "p").exists()


def test_unknown_center_is_refused(cli):
    result = cli.invoke(main, ["qr", "nowhere"])
    assert result.exit_code != 0 and "unknown center" in result.output


def test_scanning_the_printed_poster_checks_in(cli, live_app, app, line, tmp_path):
    person = Resident(line)
    household = family(app, [person.user_id])
    pdf = tmp_path / "poster.pdf"
    assert cli.invoke(main, ["qr", "east", "--format", "pdf", "--out", str(pdf)]).exit_code == 0
    buffer = io.BytesIO()
    render_pdf(pdf).save(buffer, format="PNG")
    scanned = line.scan(person.user_id, buffer.getvalue())
    assert scanned["sent"] is True and scanned["text"].startswith("チェックイン C1.east.")
    assert person.last().startswith("東子育て支援センターにチェックインしました")
    assert visits(app, household)[0]["center"] == "east"

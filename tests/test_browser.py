"""The headless-browser helper (tests/browser.py) on small generated pages."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

import pytest
from browser import Rendered, chromium_path, render, require_chromium

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A red RGB PNG, written with the standard library only."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\xff\x00\x00" * width  # filter byte 0, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b"")


def page(tmp_path: Path, body: str, title: str = "test page") -> Path:
    path = tmp_path / "page.html"
    head = f'<head><meta charset="utf-8"><title>{title}</title></head>'
    path.write_text(f"<!DOCTYPE html>\n<html>{head}\n<body>{body}</body></html>\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module", autouse=True)
def chromium() -> str:
    return require_chromium()


def test_chromium_path_finds_an_executable() -> None:
    path = chromium_path()
    assert path is not None and Path(path).exists()


def test_clean_page_with_an_embedded_png(tmp_path: Path) -> None:
    data = base64.b64encode(tiny_png()).decode("ascii")
    html = page(tmp_path, f'<h1>Report</h1><p>All good.</p><img alt="plot" src="data:image/png;base64,{data}">')
    shot = tmp_path / "shots" / "clean.png"

    rendered = render(html, shot)

    assert isinstance(rendered, Rendered)
    assert rendered.title == "test page"
    assert "Report" in rendered.text and "All good." in rendered.text
    assert rendered.images == 1
    assert rendered.broken_images == []
    assert rendered.console_errors == []
    assert rendered.failed_requests == []
    assert rendered.problems == []
    assert rendered.screenshot == shot
    assert shot.stat().st_size > 0 and shot.read_bytes().startswith(PNG_SIGNATURE)


def test_console_error_and_uncaught_exception_are_reported(tmp_path: Path) -> None:
    html = page(tmp_path, "<p>x</p><script>console.error('something broke'); null.boom();</script>")

    rendered = render(html, tmp_path / "shot.png")

    assert "something broke" in rendered.console_errors
    assert any(m.startswith("uncaught: ") for m in rendered.console_errors), rendered.console_errors
    assert rendered.failed_requests == []


def test_broken_images_are_reported(tmp_path: Path) -> None:
    html = page(tmp_path, '<img src="data:image/png;base64,AAAA"><img src="missing.png">')

    rendered = render(html, tmp_path / "shot.png")

    assert rendered.images == 2
    assert rendered.broken_images == ["data:image/png;base64,AAAA", (tmp_path / "missing.png").as_uri()]
    # the missing local file is a failed request too
    assert any("missing.png" in r for r in rendered.failed_requests), rendered.failed_requests


def test_remote_resources_are_blocked_and_reported(tmp_path: Path) -> None:
    html = page(tmp_path, '<p>remote</p><script src="https://example.com/x.js"></script>')

    rendered = render(html, tmp_path / "shot.png")

    assert len(rendered.failed_requests) == 1, rendered.failed_requests
    assert rendered.failed_requests[0].startswith("https://example.com/x.js")
    assert "BLOCKED_BY_CLIENT" in rendered.failed_requests[0]
    assert rendered.problems
    assert rendered.text == "remote"

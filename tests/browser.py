"""Open a self-contained local HTML file in headless Chromium and check that it renders.

Tests use :func:`render` to load a page (a ``file://`` URL, nothing served), take a PNG screenshot and
collect what went wrong: console errors, uncaught exceptions, failed requests and images that did not load.
Any request for a remote resource (``http``, ``https``, ``ws`` ...) is blocked and reported as a failed
request, so a page that passes is known to need nothing from the network.

The browser is Debian's Chromium (``apt-get install chromium``, ``/usr/bin/chromium``), driven by the
Python ``playwright`` package; no browser is downloaded (never run ``playwright install``). ``.ci/run``
installs Chromium. Without it, :func:`require_chromium` skips a test on a developer's machine and fails
it in CI (the environment variable ``CI`` set), so that a missing browser never passes silently there.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: environment variable that may name the Chromium executable, before the usual places are searched
CHROMIUM_ENV = "AUTOML_CHROMIUM"

#: command names tried on PATH, then absolute paths, in this order
_CANDIDATES = ("chromium", "chromium-browser", "/usr/bin/chromium", "/usr/lib/chromium/chromium")

#: URL schemes a self-contained page may load; a request for any other scheme is blocked
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

# Runs in the page after the load event: every image, with whether it loaded.
_IMAGES_JS = """
() => Array.from(document.images, (img) => ({
    src: img.currentSrc || img.getAttribute("src") || "",
    ok: img.complete && img.naturalWidth > 0,
}))
"""

# Lazy images outside the viewport would never load in a screenshot-only visit: load them all now.
_EAGER_JS = "() => { for (const img of document.images) img.loading = 'eager'; }"
_ALL_COMPLETE_JS = "() => Array.from(document.images).every((img) => img.complete)"


@dataclass
class Rendered:
    """What Chromium made of a page.

    Attributes
    ----------
    title : str
        The document's title.
    text : str
        The body's ``innerText``, as a person would read it.
    images : int
        How many ``<img>`` elements the page has.
    broken_images : list of str
        The sources (cut to 80 characters) of the images that did not load: not complete, or
        ``naturalWidth`` 0.
    console_errors : list of str
        Messages the page logged with level ``error`` (``console.error``, a resource that failed), and
        uncaught exceptions, prefixed with ``"uncaught: "``.
    failed_requests : list of str
        ``"URL (reason)"`` for every request that failed, remote requests (blocked) included.
    screenshot : Path
        The PNG screenshot of the whole page.
    """

    title: str
    text: str
    images: int
    screenshot: Path
    broken_images: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Every problem found, one line each: empty for a page that rendered cleanly."""
        return (
            [f"console error: {m}" for m in self.console_errors]
            + [f"failed request: {r}" for r in self.failed_requests]
            + [f"broken image: {s}" for s in self.broken_images]
        )


def chromium_path() -> str | None:
    """Find a Chromium executable.

    Returns
    -------
    str or None
        The path named by the ``AUTOML_CHROMIUM`` environment variable if set, else the first of
        ``chromium``, ``chromium-browser`` (on PATH), ``/usr/bin/chromium`` and ``/usr/lib/chromium/chromium``
        that exists; None when there is none.
    """
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return shutil.which(named)
    for candidate in _CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def require_chromium() -> str:
    """Return Chromium's path, or skip the calling test, or fail it in CI.

    A test that needs the browser calls this first. On a developer's machine without Chromium or the
    ``playwright`` package the test is skipped; with the environment variable ``CI`` set it fails
    instead, since CI installs both (``.ci/run``).

    Returns
    -------
    str
        The path of the Chromium executable.
    """
    path = chromium_path()
    missing = None
    if path is None:
        missing = "Chromium not found (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (pip install -e '.[test]')"
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: CI must run the browser tests")
        pytest.skip(missing)
    assert path is not None
    return path


def _short(url: str, limit: int = 80) -> str:
    return url if len(url) <= limit else url[: limit - 3] + "..."


def render(
    html_path: str | os.PathLike[str],
    screenshot_path: str | os.PathLike[str],
    *,
    viewport: tuple[int, int] = (1280, 800),
    timeout: float = 15.0,
    executable: str | None = None,
) -> Rendered:
    """Open a local HTML file in headless Chromium, take a screenshot and report what went wrong.

    Parameters
    ----------
    html_path : path
        The HTML file, opened as a ``file://`` URL.
    screenshot_path : path
        Where to write the PNG screenshot of the whole page; its folder is made if missing.
    viewport : (int, int), default (1280, 800)
        Width and height of the window, in CSS pixels.
    timeout : float, default 15.0
        Seconds allowed for loading the page; images still loading after it count as broken.
    executable : str, optional
        The Chromium executable; by default :func:`chromium_path`.

    Returns
    -------
    Rendered
        The title, text, image counts, errors and the screenshot's path.

    Raises
    ------
    FileNotFoundError
        If ``html_path`` does not exist, or no Chromium is found.
    """
    from playwright.sync_api import Request, Route, sync_playwright
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    html = Path(html_path).resolve(strict=True)
    shot = Path(screenshot_path)
    shot.parent.mkdir(parents=True, exist_ok=True)
    executable = executable or chromium_path()
    if executable is None:
        raise FileNotFoundError("Chromium not found (apt-get install chromium)")
    ms = timeout * 1000

    console_errors: list[str] = []
    failed_requests: list[str] = []

    def block_remote(route: Route, request: Request) -> None:
        if request.url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    with sync_playwright() as pw:
        # --no-sandbox: Chromium refuses to start its sandbox as root, which tests and CI run as.
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"], timeout=ms)
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            context.route("**/*", block_remote)
            page = context.new_page()
            page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: console_errors.append(f"uncaught: {exc}"))
            page.on("requestfailed", lambda req: failed_requests.append(f"{_short(req.url)} ({req.failure})"))
            page.goto(html.as_uri(), wait_until="load", timeout=ms)
            page.evaluate(_EAGER_JS)
            try:
                page.wait_for_function(_ALL_COMPLETE_JS, timeout=ms)
            except PlaywrightTimeout:
                pass  # the images still loading are reported as broken below
            images = page.evaluate(_IMAGES_JS)
            page.screenshot(path=str(shot), full_page=True, timeout=ms)
            title = page.title()
            text = page.evaluate("() => document.body ? document.body.innerText : ''")
        finally:
            browser.close()

    return Rendered(
        title=title,
        text=text,
        images=len(images),
        screenshot=shot,
        broken_images=[_short(img["src"]) for img in images if not img["ok"]],
        console_errors=console_errors,
        failed_requests=failed_requests,
    )

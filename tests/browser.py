"""Shared pieces of the browser tests: Debian's Chromium driven by Playwright's sync API."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "browser"
# Without the background-networking flags Chromium keeps dialling out, and this network refuses.
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run"]
# Every Content-Security-Policy violation a page meets, reported to the test as it happens.
REPORT_CSP = """document.addEventListener("securitypolicyviolation", (e) => window.reportCsp(
  [e.violatedDirective, e.blockedURI, e.sourceFile + ":" + e.lineNumber, e.sample].join(" ")));"""

# axe-core, vendored from its npm package (tests/vendor/axe-core: version and licence beside it).
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")

marks = [
    pytest.mark.browser,
    # In CI a missing browser is a failure, never a skip (.ci/run installs it).
    pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
                       reason=f"{CHROMIUM} is not installed (apt-get install chromium)"),
]


# One Chromium per test process (each xdist worker), launched by the first browser test and
# closed at the end of the session (tests/conftest.py); each test gets its own browser context,
# which shares no cookies, storage or cache with another's. Launching Playwright's driver and
# Chromium for every test cost about a second of CPU each.
_shared: dict = {}


def shared_browser():
    """This process's headless Chromium, launched on first use (again if it went away)."""
    browser = _shared.get("browser")
    if browser is not None and browser.is_connected():
        return browser
    close_shared_browser()
    from playwright.sync_api import sync_playwright

    _shared["playwright"] = playwright = sync_playwright().start()
    _shared["browser"] = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                    args=LAUNCH_ARGS)
    return _shared["browser"]


def close_shared_browser() -> None:
    """Close this process's Chromium and Playwright's driver, if they were started."""
    browser, playwright = _shared.pop("browser", None), _shared.pop("playwright", None)
    try:
        if browser is not None and browser.is_connected():
            browser.close()
    finally:
        if playwright is not None:
            playwright.stop()


@contextmanager
def chromium_page(base_url: str, locale: str = "ja-JP",
                  viewport: tuple[int, int] = (1024, 768)) -> Iterator:
    """Open a page in a fresh context of headless Chromium; console errors and CSP violations
    are collected.

    They are on page.console_errors and page.csp_violations.
    """
    context = shared_browser().new_context(locale=locale, base_url=base_url,
                                           viewport={"width": viewport[0], "height": viewport[1]})
    try:
        page = context.new_page()
        page.console_errors, page.csp_violations = [], []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        page.expose_function("reportCsp", lambda text: page.csp_violations.append(text))
        page.add_init_script(REPORT_CSP)
        yield page
    finally:
        context.close()


def docs_image(target, name: str) -> None:
    """Write a small palette PNG of a page or element to docs/img/ for the README.

    Only when CITYHALL_DOCS_IMAGES=1, so an ordinary run never changes tracked files.
    """
    if os.environ.get("CITYHALL_DOCS_IMAGES") != "1":
        return
    from PIL import Image

    picture = Image.open(io.BytesIO(target.screenshot())).convert("RGB")
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    picture.quantize(colors=64).save(DOCS_IMG / f"{name}.png", optimize=True)


def screenshot(page, name: str, request) -> Path:
    """Save a full-page screenshot under artifacts/browser/, named by test parameters."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    backend = request.node.callspec.id if hasattr(request.node, "callspec") else "run"
    path = ARTIFACTS / f"{backend}-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page, tags: tuple[str, ...] = WCAG_AA) -> list[str]:
    """Run axe-core on the page for WCAG 2.1 A and AA; return each violation and its elements.

    Injected through the DevTools protocol, which the page's CSP does not govern, so the page
    needs no exception for it.
    """
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           list(tags))
    assert result["passes"], "axe-core checked nothing"
    return [f"{v['id']}: {[node['target'] for node in v['nodes']]}" for v in result["violations"]]

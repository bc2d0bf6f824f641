"""Write the CSS plotly.js would inject as files, so the pages need no inline <style>.

plotly.js adds two <style> elements, both refused by the staff Content-Security-Policy: its
own rules (mode bar, hover labels), skipped when the page holds an element with the id
`plotly.js-style-global` and the class `no-inline-styles`; and MapLibre's rules, added at load
time unless an element with a fixed id (a hash, per plotly.js release) exists. The page links
the two files below under those ids, and plotly.js then injects nothing. Rerun after upgrading
plotly: `python -m dashboards.plotly_css` (a test fails until the files match the bundle).
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib.resources import files
from pathlib import Path

STATIC = Path(__file__).parent / "static"
GLOBAL_ID = "plotly.js-style-global"
RULES = re.compile(r'=\{("X,X div":.*?)\};')
MAPLIBRE = re.compile(r'getElementById\("([0-9a-f]{64})"\)\)\{var \w+=document\.createElement'
                      r'\("style"\);\w+\.id="\1",\w+\.textContent=\'([^\']*)\'')
IMAGE_RENDERING = re.compile(r"CSS_DECLARATIONS=(\[\[\"image-rendering\".*?\]\])")


@cache
def bundle() -> str:
    """Return the installed plotly.min.js."""
    return (files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")


def plotly_css() -> str:
    """Return the style rules bundled in the installed plotly.min.js, as CSS."""
    body = RULES.search(bundle()).group(1)
    # The object literal mixes quote styles; normalise to JSON.
    pairs = re.findall(r'"([^"]+)":(?:"([^"]*)"|\'([^\']*)\')', body)
    rules = {selector: double or single for selector, double, single in pairs}
    css = [f"{_selector(selector)}{{{style}}}" for selector, style in rules.items()]
    return "/* Generated from plotly.js by dashboards/plotly_css.py. */\n" + "\n".join(css) + "\n"


def maplibre_css() -> str:
    """Return the MapLibre rules plotly.min.js would inject, as CSS."""
    return ("/* Generated from plotly.js by dashboards/plotly_css.py (MapLibre's rules). */\n"
            + MAPLIBRE.search(bundle()).group(2) + "\n")


@cache
def injected_style_ids() -> dict[str, str]:
    """Return the id plotly.js looks for before injecting each stylesheet, by file name."""
    return {"plotly.css": GLOBAL_ID, "maplibre.css": MAPLIBRE.search(bundle()).group(1)}


def attribute_styles() -> list[str]:
    """Return the style attribute values plotly.js sets with setAttribute on our charts.

    The heatmap's colour bar clears its cells with `style=""`, and plotly.js probes whether
    the browser draws pixelated images with a fixed list of `image-rendering` declarations.
    """
    declarations = re.findall(r'\["([^"]+)","([^"]+)"\]', IMAGE_RENDERING.search(bundle()).group(1))
    return ["", "".join(f"{name}: {value}; " for name, value in declarations)]


def csp_hash(text: str) -> str:
    """Return the CSP source expression for the SHA-256 of a text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _selector(selector: str) -> str:
    selector = re.sub(r"^,", " ,", selector)
    return selector.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")


def write() -> None:
    """Write both stylesheets into the package's static folder."""
    for name, css in (("plotly.css", plotly_css()), ("maplibre.css", maplibre_css())):
        (STATIC / name).write_text(css, encoding="utf-8")
        print(f"wrote {STATIC / name} ({len(css)} characters)")


if __name__ == "__main__":
    write()

"""Write Plotly's own style rules as a stylesheet, so the pages need no inline <style>.

plotly.js adds its CSS (mode bar, hover labels) by injecting a <style> element, which the
staff Content-Security-Policy refuses. The page links this file under the id plotly.js looks
for, with the class `no-inline-styles`, and plotly.js then injects nothing. Rerun after
upgrading plotly: `python -m dashboards.plotly_css`.
"""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path

OUT = Path(__file__).parent / "static" / "plotly.css"
RULES = re.compile(r'=\{("X,X div":.*?)\};')


def plotly_css() -> str:
    """Return the style rules bundled in the installed plotly.min.js, as CSS."""
    source = (files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")
    body = RULES.search(source).group(1)
    # The object literal mixes quote styles; normalise to JSON.
    pairs = re.findall(r'"([^"]+)":(?:"([^"]*)"|\'([^\']*)\')', body)
    rules = {selector: double or single for selector, double, single in pairs}
    css = [f"{_selector(selector)}{{{style}}}" for selector, style in rules.items()]
    return "/* Generated from plotly.js by dashboards/plotly_css.py. */\n" + "\n".join(css) + "\n"


def _selector(selector: str) -> str:
    selector = re.sub(r"^,", " ,", selector)
    return selector.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")


if __name__ == "__main__":
    OUT.write_text(plotly_css(), encoding="utf-8")
    print(f"wrote {OUT} ({len(json.dumps(plotly_css()))} bytes)")

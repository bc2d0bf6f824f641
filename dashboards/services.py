"""What other features may use of the dashboards: declare a chart, read its filters.

A feature lists `Chart`s in its declaration (`Feature.charts`); the dashboards feature gives
each a page, JSON, CSV and Excel, scoped by role and center like its own. `Filters` is what
a chart's build function receives; `visit_heatmap` and `age_band` let a chart set its
figures beside the visits'.
"""

from __future__ import annotations

from dashboards.aggregate import AGE_BANDS
from dashboards.charts import AGE_BAND_LABELS, Chart, weekday_names
from dashboards.queries import Filters
from dashboards.queries import heatmap as visit_heatmap


def age_band(months: int) -> str:
    """Return the age band key ("0", "1", "2", "3-5", "6+") of an age in months."""
    for key, _low, below in AGE_BANDS:
        if below is None or months < below:
            return key
    return AGE_BANDS[-1][0]


__all__ = ["AGE_BAND_LABELS", "AGE_BANDS", "Chart", "Filters", "age_band", "visit_heatmap",
           "weekday_names"]

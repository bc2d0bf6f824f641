"""Visitors per weekday and hour for the next four weeks, and how wrong that was on past weeks.

The model is one staff can check by hand: the forecast for, say, Wednesday 10:00 is the mean
number of check-ins in that hour over the last eight Wednesdays. Before trusting it we fit it
on the eight weeks *before* the last four, predict those four held-out weeks, and report the
mean absolute error (MAE) per hour slot, beside the error of the naive "same hour last week".
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboards.queries import Filters, total
from models.rollup import HourlyUsage

if TYPE_CHECKING:  # pandas loads where a frame is built, never in the worker or clock
    import pandas as pd

HISTORY_WEEKS = 8
HELD_OUT_WEEKS = 4
HORIZON_WEEKS = 4


def hourly_grid(session: Session, f: Filters, first: date, last: date) -> pd.DataFrame:
    """Return visits per local day and hour from first to last, with zeros where none came."""
    import pandas as pd

    query = select(HourlyUsage.day, HourlyUsage.hour, total(HourlyUsage.visits)).where(
        HourlyUsage.center_id.in_(f.center_ids), HourlyUsage.day.between(first, last)).group_by(
        HourlyUsage.day, HourlyUsage.hour)
    counts = pd.DataFrame(session.execute(query).all(), columns=["day", "hour", "visits"])
    index = pd.MultiIndex.from_product([pd.date_range(first, last).date, range(24)],
                                       names=["day", "hour"])
    grid = counts.set_index(["day", "hour"]).reindex(index, fill_value=0).reset_index()
    grid["weekday"] = pd.to_datetime(grid["day"]).dt.day_of_week
    return grid


def profile(grid: pd.DataFrame) -> pd.Series:
    """Return the mean visits per (weekday, hour): the model."""
    return grid.groupby(["weekday", "hour"])["visits"].mean()


def evaluate(grid: pd.DataFrame, held_from: date) -> dict[str, float | int]:
    """Fit on the days before held_from, predict the rest, and measure the errors."""
    import pandas as pd

    train, held = grid[grid["day"] < held_from], grid[grid["day"] >= held_from].copy()
    model = profile(train.tail(HISTORY_WEEKS * 7 * 24))
    held["predicted"] = model.reindex(pd.MultiIndex.from_frame(held[["weekday", "hour"]])).values
    held["last_week"] = grid.set_index(["day", "hour"])["visits"].reindex(
        pd.MultiIndex.from_arrays([held["day"] - timedelta(days=7), held["hour"]])).values
    # Only hours when anyone ever came: a closed night would flatter any model with zeros.
    busy = grid.groupby(["weekday", "hour"])["visits"].transform("sum").loc[held.index] > 0
    held = held[busy]
    if held.empty:
        return {"mae": 0.0, "naive_mae": 0.0, "mean_actual": 0.0, "slots": 0}
    return {"mae": round(float((held["predicted"] - held["visits"]).abs().mean()), 2),
            "naive_mae": round(float((held["last_week"] - held["visits"]).abs().mean()), 2),
            "mean_actual": round(float(held["visits"].mean()), 2), "slots": int(len(held))}


def forecast(session: Session, f: Filters, today: date) -> tuple[pd.DataFrame, dict]:
    """Return the forecast per date and hour of the next four weeks, and its held-out error."""
    import pandas as pd

    last = today - timedelta(days=1)
    first = last - timedelta(weeks=HISTORY_WEEKS + HELD_OUT_WEEKS) + timedelta(days=1)
    grid = hourly_grid(session, f, first, last)
    evaluation = evaluate(grid, last - timedelta(weeks=HELD_OUT_WEEKS) + timedelta(days=1))
    model = profile(grid.tail(HISTORY_WEEKS * 7 * 24))
    days = pd.date_range(today, periods=HORIZON_WEEKS * 7).date
    future = pd.DataFrame([(d, d.weekday(), h) for d in days for h in range(24)],
                          columns=["date", "weekday", "hour"])
    future["forecast"] = model.reindex(
        pd.MultiIndex.from_frame(future[["weekday", "hour"]])).fillna(0).round(2).values
    evaluation |= {"train_weeks": HISTORY_WEEKS, "held_out_weeks": HELD_OUT_WEEKS,
                   "from": str(days[0]), "to": str(days[-1])}
    return future[future["forecast"] > 0].reset_index(drop=True), evaluation

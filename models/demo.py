"""Which feature's synthetic demo data a database holds (`cityhall demo-data`).

One row per feature whose demo data was loaded; its primary key is what makes a second run,
even one racing the first, add nothing (docs/demo-data.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class DemoDataLoad(Base):
    """A feature's demo data was loaded into this database, with these settings."""

    __tablename__ = "demo_data_loads"

    feature: Mapped[str] = mapped_column(String(64), primary_key=True)
    seed: Mapped[int]
    households: Mapped[int]
    months: Mapped[int]
    loaded_at: Mapped[datetime]

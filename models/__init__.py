"""SQLAlchemy models, one module per aggregate.

Importing this package imports every module in it, so Alembic and `create_all` see every
table; a feature adds a module here and nothing else needs editing.
"""

import importlib
import pkgutil

from models.base import Base, utcnow
from models.center import Center, Department, District
from models.outbox import OutboxMessage, OutboxStatus
from models.resident import Resident
from models.webhook import ProcessedEvent

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "Base", "Center", "Department", "District", "OutboxMessage", "OutboxStatus",
    "ProcessedEvent", "Resident", "utcnow",
]

"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from models.base import Base, utcnow
from models.center import Center, Department, District
from models.outbox import OutboxMessage, OutboxStatus
from models.resident import Resident
from models.webhook import ProcessedEvent

__all__ = [
    "Base", "Center", "Department", "District", "OutboxMessage", "OutboxStatus",
    "ProcessedEvent", "Resident", "utcnow",
]

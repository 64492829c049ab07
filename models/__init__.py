"""SQLAlchemy tables; importing this package registers every table on Base.metadata."""

from models import auth, cases, customers, events, field_service, itsm, people, service  # noqa: F401
from models.base import Base

metadata = Base.metadata

"""SQLAlchemy tables; importing this package registers every table on Base.metadata."""

from models import (  # noqa: F401
    auth,
    cases,
    customers,
    field_service,
    itsm,
    knowledge,
    mail,
    merges,
    people,
    scheduled,
    service,
)
from models.base import Base

metadata = Base.metadata

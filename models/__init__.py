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
    service,
)
from models.base import Base

metadata = Base.metadata

"""SQLAlchemy tables; importing this package registers every table on Base.metadata."""

import models.scheduled  # noqa: F401 (maintenance plans, scheduled runs)
from models import auth, cases, customers, field_service, itsm, people, service  # noqa: F401
from models.base import Base

metadata = Base.metadata

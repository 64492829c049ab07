"""SQLAlchemy tables; importing this package registers every table on Base.metadata."""

import models.mail  # noqa: F401  (inbound email)
from models import auth, cases, customers, field_service, itsm, people, service  # noqa: F401
from models.base import Base

metadata = Base.metadata

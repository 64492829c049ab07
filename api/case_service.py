"""The old home of open_case, kept because tests/workflows import it from here."""

from api.services.intake import open_case

__all__ = ["open_case"]

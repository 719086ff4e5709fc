"""Store exceptions: environment problems to tell the user about, and bad input."""


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or is locked/full: the environment is at fault."""


class DatabaseTooNew(StoreError):
    """The database was migrated by a newer Runbell; it is left untouched."""


class ValidationError(StoreError, ValueError):
    """Input that the store refuses; the message is meant for the user."""


class NotFound(StoreError, LookupError):
    """A requested row does not exist."""


class SecretBackendUnavailable(StoreError):
    """The OS keyring has no usable backend; secrets cannot be stored or read."""


class PermissionDenied(StoreError, PermissionError):
    """The user's role does not allow this change; the message is meant for the user."""

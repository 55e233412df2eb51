"""Errors of the account and site domain, each with a message a user can act on."""


class DomainError(ValueError):
    """Bad input or a conflict; `field` names the input at fault when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass

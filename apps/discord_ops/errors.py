class OpsError(ValueError):
    """A refusal of the operators' console, in words an operator can act on (shown as is by both
    front-ends)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotAnOperator(OpsError):
    pass

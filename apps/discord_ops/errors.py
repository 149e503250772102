class OpsError(ValueError):
    """A refusal of the operators' console, in words an operator can act on (shown as is by both
    front-ends)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotAnOperator(OpsError):
    pass


def quoted(value, limit: int = 60) -> str:
    """An operator's input quoted in a refusal, cut: a 2,000-character value must not make the refusal
    itself too long to send."""
    value = str(value)
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")

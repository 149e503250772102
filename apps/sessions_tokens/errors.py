"""Errors of accounts and tokens. Each carries a stable `code` and a message a visitor can read."""


class TokenError(Exception):
    code = "token_error"
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InsufficientTokens(TokenError):
    code = "no_tokens"
    status = 402

    @classmethod
    def for_owner(cls, *, is_user: bool) -> "InsufficientTokens":
        """A guest can still sign up for more; an account asks the team."""
        if is_user:
            return cls("You have no tokens left. Ask the Narcis team for more.")
        return cls("You have no tokens left. Sign up or log in to get more.")


class GuestSessionExpired(TokenError):
    code = "guest_session_expired"
    status = 403


class UnknownReference(TokenError):
    code = "unknown_reference"
    status = 404


class DuplicateReference(TokenError):
    code = "duplicate_reference"
    status = 409


class InvalidAmount(TokenError):
    code = "invalid_amount"
    status = 400


class WrongPassword(TokenError):
    code = "wrong_password"
    status = 403

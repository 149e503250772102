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

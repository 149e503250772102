"""One webhook POST, guarded against server-side request forgery: the URL's host is resolved when the
request is sent and every address it resolves to must be public (not private, loopback, link-local such
as the cloud metadata service 169.254.169.254, shared, reserved or multicast), unless
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES. The connection then goes to the vetted address itself, so a second DNS
answer cannot swap it. 5 s to connect and to answer; redirects are not followed (a 3xx is a failure)."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

from django.conf import settings

TIMEOUT_S = 5
MAX_URL = 500


class WebhookUrlError(ValueError):
    """The URL cannot receive webhooks; the message says why, in words for the API's caller."""


def check_url(url: str) -> str:
    """The URL's shape, checked when a job is submitted (its addresses are checked again at each send)."""
    if len(url) > MAX_URL:
        raise WebhookUrlError(f"webhook_url must be at most {MAX_URL} characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise WebhookUrlError("webhook_url is not a valid URL.") from None
    schemes = ("https", "http") if settings.WEBHOOKS_ALLOW_HTTP else ("https",)
    if parts.scheme not in schemes:
        raise WebhookUrlError("webhook_url must be an https:// URL.")
    if not parts.hostname or parts.username or parts.password or not url.isascii() or " " in url:
        raise WebhookUrlError("webhook_url needs a host name, without credentials or spaces.")
    literal = _literal_address(parts.hostname)
    if literal is not None:
        _check_address(literal)
    return url


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _check_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    if settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        return
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:10.0.0.1 is 10.0.0.1
    if not (mapped or address).is_global or address.is_multicast:
        raise WebhookUrlError(f"webhook_url resolves to a non-public address ({address}).")


def resolve(host: str, port: int) -> str:
    """An address for `host` after checking all of them; WebhookUrlError when any is not allowed."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise WebhookUrlError(f"webhook_url's host does not resolve ({error.strerror}).") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
    for address in addresses:
        _check_address(address)
    return str(addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self):
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(
            raw, server_hostname=self.host
        )  # the certificate names the host


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POSTs `body`; the HTTP status. Raises WebhookUrlError (refused address) or OSError (network)."""
    check_url(url)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve(parts.hostname, port)
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = kind(parts.hostname, port, address, timeout=TIMEOUT_S)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        response.read(64 * 1024)  # the receiver's answer is not ours to keep
        return response.status
    finally:
        connection.close()

"""One webhook POST, guarded against server-side request forgery. Every address the URL's host resolves
to when the request is sent must be public (`address_allowed`: a table of the IANA special-purpose
ranges, the IPv4 addresses IPv6 forms carry, and Python's own `is_global`), unless
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES. The connection then goes to the vetted address itself, so a second DNS
answer (DNS rebinding) cannot swap it. 5 s to connect and to answer; redirects are not followed (a 3xx
is a failure).

What a user reads (API errors, the Webhooks page) never holds a resolved address or socket error text:
a refused address, a host without a public address and a failed connection each have one fixed
message (USER_MESSAGES); the detail goes to the server log."""

from __future__ import annotations

import http.client
import ipaddress
import logging
import re
import socket
import ssl
from urllib.parse import urlsplit

from django.conf import settings

logger = logging.getLogger("narcis.webhooks")

TIMEOUT_S = 5
MAX_URL = 500

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

TOO_LONG = f"webhook_url must be at most {MAX_URL} characters."
NOT_A_URL = "webhook_url is not a valid URL."
NOT_HTTPS = "webhook_url must be an https:// URL."
BAD_HOST = "webhook_url needs a host name, without credentials or spaces."
NOT_ALLOWED = "webhook_url's address is not allowed: webhooks go to public internet addresses only."
NUMERIC_HOST = (
    "webhook_url's address is not allowed: write an IP address in its usual form (dotted IPv4 or "
    "bracketed IPv6), or use a host name."
)
# One message whether a name does not resolve or resolves to an address that is not allowed, so the
# delivery log cannot be used to learn which internal names exist.
NO_PUBLIC_ADDRESS = "webhook_url's host has no public address: webhooks go to public internet hosts only."
COULD_NOT_CONNECT = (
    "Could not connect to webhook_url (refused, timed out, or its TLS certificate was not accepted): "
    "check that it is reachable from the internet."
)
_SHAPE = (TOO_LONG, NOT_A_URL, NOT_HTTPS, BAD_HOST)
USER_MESSAGES = frozenset((*_SHAPE, NOT_ALLOWED, NUMERIC_HOST, NO_PUBLIC_ADDRESS, COULD_NOT_CONNECT))


class WebhookUrlError(ValueError):
    """The URL cannot receive webhooks; the message (one of USER_MESSAGES) says why, for the user."""


# Ranges that never receive webhooks, most specific first (the first match names the class in the log).
# From the IANA IPv4 and IPv6 special-purpose address registries (RFC 6890 and its updates).
_REFUSED = tuple(
    (ipaddress.ip_network(network), name)
    for network, name in (
        ("0.0.0.0/8", "this network"),  # 0.0.0.0 itself is the unspecified address
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local (cloud metadata services)"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation (TEST-NET-1)"),
        ("192.88.99.0/24", "6to4 relay anycast (deprecated)"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation (TEST-NET-2)"),
        ("203.0.113.0/24", "documentation (TEST-NET-3)"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "limited broadcast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::ffff:0:0/96", "IPv4-mapped"),
        ("::/96", "IPv4-compatible (deprecated)"),
        ("64:ff9b::/96", "NAT64 well-known prefix"),
        ("64:ff9b:1::/48", "NAT64 local-use prefix"),
        ("100::/64", "discard-only"),
        ("2001::/32", "Teredo"),
        ("2001:2::/48", "benchmarking"),
        ("2001:10::/28", "ORCHID (deprecated)"),
        ("2001:20::/28", "ORCHIDv2"),
        ("2001::/23", "IETF protocol assignments"),
        ("2001:db8::/32", "documentation"),
        # 6to4 is refused whole rather than by its embedded IPv4: it is deprecated (RFC 7526), and a
        # packet to it is unwrapped by whichever relay the network picks, possibly one inside ours.
        ("2002::/16", "6to4"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "SRv6 segment identifiers"),
        ("fc00::/7", "unique-local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
    )
)
_IPV6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")  # the only IPv6 space allocated for the internet
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")


def address_allowed(address: Address) -> bool:
    """Whether a webhook may be sent to `address`."""
    return refusal(address) is None


def refusal(address: Address) -> str | None:
    """Why `address` may not receive webhooks (words for the server log), or None when it may."""
    if getattr(address, "scope_id", None):
        return "scoped IPv6 address"
    for inner in _embedded_ipv4(address):
        if (why := refusal(inner)) is not None:
            return f"embeds {inner}, {why}"
    for network, name in _REFUSED:
        if address in network:
            return name
    if address.version == 6 and address not in _IPV6_GLOBAL_UNICAST:
        return "outside IPv6 global unicast (2000::/3)"
    if not address.is_global:
        return "not global (Python's ipaddress)"
    return None


def _embedded_ipv4(address: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: IPv4-mapped and -compatible (RFC 4291), 6to4
    (RFC 3056), NAT64's well-known /96 (RFC 6052; the local-use /48 places it by the operator's prefix
    length, and is refused whole), Teredo's server and client (RFC 4380)."""
    if address.version == 4:
        return []
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    carried = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if (address in _IPV4_COMPATIBLE and int(address) > 1) or address in _NAT64_WELL_KNOWN:  # not :: or ::1
        carried.append(low32)
    return [inner for inner in carried if inner is not None]


def check_url(url: str) -> str:
    """The URL's shape and, for an IP literal, its address: checked when a job is submitted. A name is
    not resolved here; its addresses are checked at each send."""
    if len(url) > MAX_URL:
        raise WebhookUrlError(TOO_LONG)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise WebhookUrlError(NOT_A_URL) from None
    schemes = ("https", "http") if settings.WEBHOOKS_ALLOW_HTTP else ("https",)
    if parts.scheme not in schemes:
        raise WebhookUrlError(NOT_HTTPS)
    if not parts.hostname or parts.username or parts.password or not url.isascii() or " " in url:
        raise WebhookUrlError(BAD_HOST)
    literal = _literal_address(parts.hostname)
    if literal is not None:
        _check_address(literal, host=parts.hostname, refused=NOT_ALLOWED)
    elif _looks_numeric(parts.hostname):
        logger.warning("webhook address refused", extra={"host": parts.hostname, "reason": "numeric host"})
        raise WebhookUrlError(NUMERIC_HOST)
    return url


def _literal_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


# A host whose last label is a number is an IPv4 address to resolvers and browsers, in forms Python's
# ipaddress does not read (2130706433, 0177.0.0.1, 0x7f.1, 127.1): no DNS name ends in a number.
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)


def _looks_numeric(host: str) -> bool:
    return bool(_NUMERIC_LABEL.fullmatch(host.rstrip(".").rsplit(".", 1)[-1]))


def _check_address(address: Address, *, host: str, refused: str) -> None:
    if settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        return
    why = refusal(address)
    if why is not None:
        logger.warning(
            "webhook address refused", extra={"host": host, "address": str(address), "reason": why}
        )
        raise WebhookUrlError(refused)


def resolve(host: str, port: int) -> str:
    """An address for `host` after checking all of them; WebhookUrlError when any is not allowed."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        logger.warning("webhook host does not resolve", extra={"host": host, "reason": str(error)})
        raise WebhookUrlError(NO_PUBLIC_ADDRESS) from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
    refused = NOT_ALLOWED if _literal_address(host) else NO_PUBLIC_ADDRESS
    for address in addresses:
        _check_address(address, host=host, refused=refused)
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
    """POSTs `body`; the HTTP status. Raises WebhookUrlError (refused address, its message for the user)
    or OSError / http.client.HTTPException (network, TLS, a malformed answer: not for the user's eyes)."""
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

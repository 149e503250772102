"""Which webhook addresses are refused: every non-public class of the IANA special-purpose registries,
the IPv4 addresses IPv6 forms carry (mapped, compatible, 6to4, NAT64, Teredo), and IPv4 written in the
forms resolvers read but Python's ipaddress does not. Literal addresses only: nothing here touches the
network; a name's answer comes from a patched socket.getaddrinfo (the resolver is the outside system).
What the user is told never holds a resolved address."""

from __future__ import annotations

import socket

import pytest

from apps.generation import webhook_http
from apps.generation.webhook_http import NO_PUBLIC_ADDRESS, NOT_ALLOWED, NUMERIC_HOST, WebhookUrlError

OK = None

# (host as written in the URL, what check_url says: OK or the message of its refusal)
ADDRESSES = [
    # IPv4, refused
    ("0.0.0.0", NOT_ALLOWED),  # unspecified
    ("0.1.2.3", NOT_ALLOWED),  # this network 0/8
    ("10.0.0.1", NOT_ALLOWED),
    ("10.255.255.255", NOT_ALLOWED),
    ("100.64.0.1", NOT_ALLOWED),  # shared 100.64/10
    ("100.127.255.254", NOT_ALLOWED),
    ("127.0.0.1", NOT_ALLOWED),
    ("127.255.255.254", NOT_ALLOWED),
    ("169.254.169.254", NOT_ALLOWED),  # the cloud metadata service
    ("169.254.0.1", NOT_ALLOWED),
    ("172.16.0.1", NOT_ALLOWED),
    ("172.31.255.255", NOT_ALLOWED),
    ("192.0.0.1", NOT_ALLOWED),  # IETF protocol assignments
    ("192.0.0.170", NOT_ALLOWED),
    ("192.0.2.10", NOT_ALLOWED),  # TEST-NET-1
    ("192.88.99.1", NOT_ALLOWED),  # 6to4 relay anycast
    ("192.168.1.1", NOT_ALLOWED),
    ("198.18.0.1", NOT_ALLOWED),  # benchmarking 198.18/15
    ("198.19.255.255", NOT_ALLOWED),
    ("198.51.100.7", NOT_ALLOWED),  # TEST-NET-2
    ("203.0.113.7", NOT_ALLOWED),  # TEST-NET-3
    ("224.0.0.1", NOT_ALLOWED),  # multicast
    ("239.255.255.250", NOT_ALLOWED),
    ("240.0.0.1", NOT_ALLOWED),  # reserved 240/4
    ("255.255.255.255", NOT_ALLOWED),  # broadcast
    # IPv4 in forms that resolvers read as numbers: refused whatever they stand for
    ("2130706433", NUMERIC_HOST),  # 127.0.0.1 in decimal
    ("0177.0.0.1", NUMERIC_HOST),  # octal
    ("0x7f.0.0.1", NUMERIC_HOST),
    ("0x7f000001", NUMERIC_HOST),
    ("127.1", NUMERIC_HOST),
    ("017700000001", NUMERIC_HOST),
    ("010.0.0.1", NUMERIC_HOST),
    ("127.0.0.1.", NUMERIC_HOST),  # a trailing dot
    ("134744072", NUMERIC_HOST),  # 8.8.8.8, public, but not written as an address
    # IPv6, refused
    ("[::]", NOT_ALLOWED),
    ("[::1]", NOT_ALLOWED),
    ("[::127.0.0.1]", NOT_ALLOWED),  # IPv4-compatible
    ("[::8.8.8.8]", NOT_ALLOWED),
    ("[::ffff:127.0.0.1]", NOT_ALLOWED),  # IPv4-mapped
    ("[::ffff:7f00:1]", NOT_ALLOWED),
    ("[::ffff:10.0.0.1]", NOT_ALLOWED),
    ("[::ffff:169.254.169.254]", NOT_ALLOWED),
    ("[::ffff:8.8.8.8]", NOT_ALLOWED),
    ("[::ffff:0:7f00:1]", NOT_ALLOWED),  # IPv4-translated (RFC 2765)
    ("[2002:7f00:1::]", NOT_ALLOWED),  # 6to4 of 127.0.0.1
    ("[2002:808:808::1]", NOT_ALLOWED),  # 6to4 of 8.8.8.8: 6to4 is refused whole
    ("[64:ff9b::7f00:1]", NOT_ALLOWED),  # NAT64 of 127.0.0.1
    ("[64:ff9b::808:808]", NOT_ALLOWED),
    ("[64:ff9b:1::a00:1]", NOT_ALLOWED),  # NAT64 local-use
    ("[2001::]", NOT_ALLOWED),  # Teredo
    ("[2001:0:4136:e378:8000:63bf:3fff:fdd2]", NOT_ALLOWED),
    ("[2001:2::1]", NOT_ALLOWED),  # benchmarking
    ("[2001:10::1]", NOT_ALLOWED),  # ORCHID
    ("[2001:20::1]", NOT_ALLOWED),  # ORCHIDv2
    ("[2001:db8::1]", NOT_ALLOWED),  # documentation
    ("[3fff::1]", NOT_ALLOWED),
    ("[3fff:fff:ffff::1]", NOT_ALLOWED),
    ("[5f00::1]", NOT_ALLOWED),  # SRv6 SIDs
    ("[100::1]", NOT_ALLOWED),  # discard
    ("[fc00::1]", NOT_ALLOWED),  # unique-local
    ("[fd00:ec2::254]", NOT_ALLOWED),  # EC2's IPv6 metadata service
    ("[fe80::1]", NOT_ALLOWED),  # link-local
    ("[fe80::1%25eth0]", NOT_ALLOWED),
    ("[fec0::1]", NOT_ALLOWED),  # site-local
    ("[ff02::1]", NOT_ALLOWED),  # multicast
    ("[ff0e::1]", NOT_ALLOWED),
    ("[4000::1]", NOT_ALLOWED),  # outside 2000::/3
    # IPv4, allowed (public, and the first addresses past the edges of refused ranges)
    ("8.8.8.8", OK),
    ("1.1.1.1", OK),
    ("93.184.216.34", OK),
    ("11.0.0.1", OK),
    ("100.63.255.255", OK),
    ("100.128.0.1", OK),
    ("126.255.255.254", OK),
    ("128.0.0.1", OK),
    ("169.253.255.255", OK),
    ("172.15.255.255", OK),
    ("172.32.0.1", OK),
    ("192.0.3.1", OK),
    ("192.167.255.255", OK),
    ("192.169.0.1", OK),
    ("198.17.255.255", OK),
    ("198.20.0.1", OK),
    ("203.0.114.1", OK),
    ("223.255.255.254", OK),
    # IPv6, allowed
    ("[2001:4860:4860::8888]", OK),
    ("[2001:4860:4860:0:0:0:0:8888]", OK),
    ("[2606:4700:4700::1111]", OK),
    ("[2a00:1450:4001:82b::200e]", OK),
    ("[2620:fe::fe]", OK),
    ("[2001:200::1]", OK),  # past 2001::/23
    ("[2001:db9::1]", OK),  # past documentation
    ("[2003::1]", OK),  # past 6to4
    ("[3fff:1000::1]", OK),  # past 3fff::/20
    # names: their addresses are checked when the webhook is sent
    ("hooks.example.com", OK),
    ("localhost", OK),
    ("10.0.0.1.nip.io", OK),
]


@pytest.fixture(autouse=True)
def strict(settings):
    settings.WEBHOOKS_ALLOW_HTTP = False
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False


def test_the_table_is_large_and_covers_both_outcomes():
    assert len(ADDRESSES) >= 60
    assert {expected for _, expected in ADDRESSES} == {OK, NOT_ALLOWED, NUMERIC_HOST}


@pytest.mark.parametrize("host,expected", ADDRESSES, ids=[host for host, _ in ADDRESSES])
def test_check_url(host, expected):
    url = f"https://{host}:8443/hook?x=1"
    if expected is OK:
        assert webhook_http.check_url(url) == url
        return
    with pytest.raises(WebhookUrlError) as refused:
        webhook_http.check_url(url)
    assert str(refused.value) == expected  # the fixed message: no address, ours or resolved


def test_allowing_private_addresses_lets_local_testing_through(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    assert webhook_http.check_url("https://[::127.0.0.1]:8443/") == "https://[::127.0.0.1]:8443/"


@pytest.mark.parametrize(
    "answer",
    [["10.0.0.5"], ["8.8.8.8", "10.0.0.5"], ["::ffff:10.0.0.5"], ["fe80::1%eth0"], ["::127.0.0.1"]],
)
def test_a_name_resolving_to_any_refused_address_is_refused_without_saying_which(monkeypatch, answer):
    _answer_names_with(monkeypatch, answer)
    with pytest.raises(WebhookUrlError) as refused:
        webhook_http.resolve("db.internal.example", 443)
    assert str(refused.value) == NO_PUBLIC_ADDRESS
    assert not any(address.split("%")[0] in str(refused.value) for address in answer)


def test_a_name_that_does_not_resolve_reads_the_same_as_a_refused_one(monkeypatch):
    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    with pytest.raises(WebhookUrlError) as refused:
        webhook_http.resolve("nothing.internal.example", 443)
    assert str(refused.value) == NO_PUBLIC_ADDRESS


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch):
    _answer_names_with(monkeypatch, ["8.8.4.4", "2001:4860:4860::8844"])
    assert webhook_http.resolve("hooks.example.com", 443) == "8.8.4.4"


def _answer_names_with(monkeypatch, addresses: list[str]):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(_family(a), socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _family(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET

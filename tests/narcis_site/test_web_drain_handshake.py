"""The drain closes every websocket, including one still in its handshake (its page is waiting to be let
in): autobahn refuses a close frame before the handshake ends, so the drain drops that connection instead.
It once raised there, and the process never stopped."""

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet.testing import StringTransport
from twisted.web.http import HTTPChannel

from narcis_site.daphne_drain import _close_socket


def test_a_socket_still_in_its_handshake_is_dropped():
    factory = WebSocketServerFactory()
    factory.protocol = WebSocketServerProtocol
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    # As under daphne: the HTTP channel that read the upgrade request stays the transport's producer.
    transport.registerProducer(HTTPChannel(), True)
    protocol.makeConnection(transport)
    assert protocol.state == protocol.STATE_CONNECTING
    _close_socket(protocol)
    assert transport.disconnecting

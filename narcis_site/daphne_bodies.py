"""daphne hands Django the raw request body; Twisted, under it, also parses every multipart POST into
`request.args` (which daphne never reads) before daphne sees the request. That doubles the memory of
each upload, and a body whose boundary does not match answers a bare, empty 400 that never reaches
Django and its JSON errors. Twisted has a switch for it (`parsePOSTFormSubmission`); daphne does not
expose it, so it is turned off here, once, when the ASGI application is imported.
"""

from __future__ import annotations


def skip_twisted_form_parsing() -> None:
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:  # not served by daphne (tests, other ASGI servers): nothing to do
        return
    original = WebRequest.__init__
    if getattr(original, "skips_form_parsing", False):
        return

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False  # read by twisted.web.http.Request.requestReceived

    __init__.skips_form_parsing = True
    WebRequest.__init__ = __init__

"""The in-process chat driver: the emulator and the app without sockets, for chat tests.

A chat test sends an event through the emulator's control API and reads what the resident
received. Over real HTTP each step costs several loopback connections, each a new werkzeug
thread. In-process, `requests` calls to the emulator's control API and the emulator's signed
webhook POST to the app go through WSGIAdapter, which calls the Flask app in the caller's
thread (as Flask's test client does), with the same method, path, headers and body. The app
still calls the emulator's Messaging API (reply, push, profile) over real HTTP through its
gateway, and the signature is checked as ever.

Tests marked `http` (a set per feature, and all of test_webhook.py) keep every hop on real
sockets; `live_app.url` serves over HTTP for every test (browsers, staff pages).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from werkzeug.test import Client

# Headers a WSGI test client computes itself from the URL and body.
OWN_HEADERS = {"host", "content-length"}


class WSGIAdapter(BaseAdapter):
    """A requests transport that hands each request to a WSGI app in this thread."""

    def __init__(self, app) -> None:
        super().__init__()
        self.client = Client(app, use_cookies=False)

    def send(self, request: requests.PreparedRequest, stream=False, timeout=None, verify=True,
             cert=None, proxies=None) -> requests.Response:
        parts = urlsplit(request.url)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in OWN_HEADERS}
        body = request.body.encode("utf-8") if isinstance(request.body, str) else request.body
        answer = self.client.open(parts.path or "/", base_url=f"{parts.scheme}://{parts.netloc}",
                                  query_string=parts.query, method=request.method,
                                  headers=headers, data=body or b"")
        response = requests.Response()
        response.status_code = answer.status_code
        response.reason = answer.status.partition(" ")[2]
        response.headers = CaseInsensitiveDict(answer.headers.items())
        response._content = answer.get_data()
        response.encoding = get_encoding_from_headers(response.headers)
        response.url = request.url
        response.request = request
        answer.close()
        return response

    def close(self) -> None:
        pass


def mount(session: requests.Session, base_url: str, app) -> None:
    """Send the session's requests under base_url to the WSGI app, in-process."""
    session.mount(base_url.rstrip("/") + "/", WSGIAdapter(app))


def unmount(session: requests.Session, base_url: str) -> None:
    session.adapters.pop(base_url.rstrip("/") + "/", None)

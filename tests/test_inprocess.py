"""The in-process chat driver hands requests to a Flask app unchanged, and `http` opts out."""

from __future__ import annotations

import pytest
import requests
from flask import Flask, jsonify, request

from emulator.core import EXTENSION_KEY
from tests import inprocess
from tests.chat import Resident


def echo_app() -> Flask:
    app = Flask("echo")

    @app.route("/echo/<path:rest>", methods=["GET", "POST"])
    def echo(rest):
        return jsonify(method=request.method, path=rest, query=request.args.to_dict(),
                       signature=request.headers.get("X-Line-Signature"),
                       host=request.host, body=request.get_data(as_text=True)), 201

    return app


def test_the_adapter_passes_method_path_query_headers_and_body():
    session = requests.Session()
    inprocess.mount(session, "http://127.0.0.1:9", echo_app())
    answer = session.post("http://127.0.0.1:9/echo/a/b?x=1&y=%E3%81%82",
                          data="本文".encode(), headers={"X-Line-Signature": "c2ln"})
    assert answer.status_code == 201 and answer.reason == "CREATED"
    assert answer.json() == {"method": "POST", "path": "a/b", "query": {"x": "1", "y": "あ"},
                             "signature": "c2ln", "host": "127.0.0.1:9", "body": "本文"}
    inprocess.unmount(session, "http://127.0.0.1:9")
    with pytest.raises(requests.ConnectionError):  # nothing listens on port 9: a real socket
        session.get("http://127.0.0.1:9/echo/x", timeout=2)


def webhook_adapter(emulator_server, live_app):
    http = emulator_server.app.extensions[EXTENSION_KEY].http
    return http.get_adapter(live_app.url + "/callback")


def test_a_chat_test_runs_in_process(emulator_server, live_app, line):
    assert isinstance(webhook_adapter(emulator_server, live_app), inprocess.WSGIAdapter)
    assert isinstance(line.http.get_adapter(emulator_server.url + "/_emulator/users"),
                      inprocess.WSGIAdapter)
    person = Resident(line)
    person.follow()
    assert person.last()


@pytest.mark.http
def test_a_test_marked_http_uses_real_sockets(emulator_server, live_app, line):
    assert not isinstance(webhook_adapter(emulator_server, live_app), inprocess.WSGIAdapter)
    assert not isinstance(line.http.get_adapter(emulator_server.url + "/_emulator/users"),
                          inprocess.WSGIAdapter)
    person = Resident(line)
    person.follow()
    assert person.last()

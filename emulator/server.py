"""Run the emulator on a loopback port in a background thread, or in the foreground."""
from __future__ import annotations

import logging
import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_app


class KeepAliveHandler(WSGIRequestHandler):
    """Speak HTTP/1.1 so clients keep their connections open, as LINE's servers allow."""

    protocol_version = "HTTP/1.1"


class EmulatorServer:
    """An emulated LINE platform served over real HTTP from a background thread."""

    # How often the serving loop looks for a stop request: `stop` waits up to this long.
    POLL_SECONDS = 0.05

    def __init__(self, channel_secret: str, access_token: str, webhook_url: str | None = None,
                 host: str = "127.0.0.1", port: int = 0, reply_token_ttl: float = 60.0) -> None:
        self.app = create_app(channel_secret, access_token, webhook_url, reply_token_ttl)
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Return the base URL, e.g. http://127.0.0.1:8001."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> "EmulatorServer":
        """Bind the port and start serving; return self."""
        self._server = make_server(self.host, self.port, self.app, threaded=True,
                                   request_handler=KeepAliveHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": self.POLL_SECONDS},
                                        name=f"line-emulator-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def run_emulator(channel_secret: str, access_token: str, webhook_url: str | None = None,
                 host: str = "127.0.0.1", port: int = 8001, quiet: bool = False,
                 rate_limits: dict[str, float] | None = None) -> None:
    """Serve the emulator in the foreground until interrupted."""
    if quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(channel_secret, access_token, webhook_url)
    if rate_limits:
        app.extensions["line_emulator"].store.set_rate_limits(rate_limits)
    server = make_server(host, port, app, threaded=True, request_handler=KeepAliveHandler)
    print(f"LINE emulator on http://{host}:{server.server_port}  "
          f"(chat page: http://{host}:{server.server_port}/chat)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

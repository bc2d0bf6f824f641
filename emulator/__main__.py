"""Command line: python -m emulator --port 8001 --webhook-url http://127.0.0.1:5000/callback."""
from __future__ import annotations

import argparse
import os
import sys

from .server import run_emulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line; secrets default to the app's environment variables."""
    parser = argparse.ArgumentParser(prog="python -m emulator",
                                     description="Serve a local LINE platform.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--webhook-url", default=None, help="where to post webhook events")
    parser.add_argument("--channel-secret", default=os.environ.get("LINE_CHANNEL_SECRET"))
    parser.add_argument("--access-token", default=os.environ.get("LINE_CHANNEL_ACCESS_TOKEN"))
    parser.add_argument("--quiet", action="store_true", help="do not log every request")
    parser.add_argument("--rate-limit", action="append", default=[], metavar="ENDPOINT=RATE",
                        type=rate_limit,
                        help="answer 429 past RATE requests a second to an endpoint, as LINE "
                             "does: push=2000, multicast=200, or a path prefix; repeatable")
    return parser.parse_args(argv)


ENDPOINTS = {"push": "/v2/bot/message/push", "multicast": "/v2/bot/message/multicast",
             "reply": "/v2/bot/message/reply", "broadcast": "/v2/bot/message/broadcast",
             "narrowcast": "/v2/bot/message/narrowcast"}


def rate_limit(text: str) -> tuple[str, float]:
    """Parse ENDPOINT=RATE (an endpoint name or a path prefix; a positive rate)."""
    name, _, rate = text.partition("=")
    path = ENDPOINTS.get(name, name)
    try:
        value = float(rate)
    except ValueError:
        value = 0.0
    if not path.startswith("/") or value <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give ENDPOINT=RATE with ENDPOINT one of {', '.join(ENDPOINTS)} or a "
            "path, and RATE a positive number of requests a second")
    return path, value


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until Ctrl-C."""
    args = parse_args(argv)
    if not args.channel_secret or not args.access_token:
        print("Set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN "
              "(or pass --channel-secret and --access-token).", file=sys.stderr)
        return 2
    run_emulator(args.channel_secret, args.access_token, args.webhook_url,
                 host=args.host, port=args.port, quiet=args.quiet,
                 rate_limits=dict(args.rate_limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())

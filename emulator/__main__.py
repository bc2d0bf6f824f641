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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until Ctrl-C."""
    args = parse_args(argv)
    if not args.channel_secret or not args.access_token:
        print("Set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN "
              "(or pass --channel-secret and --access-token).", file=sys.stderr)
        return 2
    run_emulator(args.channel_secret, args.access_token, args.webhook_url,
                 host=args.host, port=args.port, quiet=args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())

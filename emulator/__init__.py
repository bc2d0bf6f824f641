"""A local LINE platform: Messaging API double, signed webhook sender and chat page."""
from .app import create_app
from .client import EmulatorClient, EmulatorError
from .server import EmulatorServer, run_emulator

__all__ = ["create_app", "EmulatorClient", "EmulatorError", "EmulatorServer", "run_emulator"]

"""One module per event kind; importing this package registers them with the dispatcher."""

from bot.handlers import follow, message, postback, unfollow

__all__ = ["follow", "message", "postback", "unfollow"]

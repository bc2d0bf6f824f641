"""One module per event kind; importing this package registers them with the dispatcher.

What features add (commands, patterns, postback actions, rich-menu areas) comes from their
routers through the loaded features, never from an import here.
"""

from bot.handlers import follow, message, postback, unfollow

__all__ = ["follow", "message", "postback", "unfollow"]

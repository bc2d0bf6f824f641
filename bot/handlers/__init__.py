"""One module per event kind; importing this package registers them with the dispatcher.

Feature modules that add commands, postback actions and rich-menu items are imported last.
"""

from bot.flows import jobs as _flow_jobs  # noqa: F401  (registers the form expiry job)
from bot.flows.registry import forms
from bot.handlers import follow, message, postback, unfollow
from residents import chat as _residents_chat  # noqa: F401  (registers residents' commands)

# Read and check every form at start-up: a broken file stops the app with its name and field.
forms().all()

__all__ = ["follow", "message", "postback", "unfollow"]

"""The LINE side: webhook, dispatch, handlers, the one gateway, the outbox and its worker."""

"""The conversational form engine: forms declared as data, run by one engine."""

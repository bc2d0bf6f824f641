"""Chat routers: each feature builds one; the bot includes them in a declared order.

A router holds a feature's text commands (in any language), text patterns, postback actions
(typed by their PostbackData class) and rich-menu areas. `ChatRoutes.build` flattens the
routers into the tables the message and postback handlers read, and refuses a command word,
pattern name, postback prefix or menu area registered twice, naming both places.

    router = Router("checkin")

    @router.command("check in", "チェックイン")
    def status(ctx, text): ...

    @router.action(ChooseChildren)
    def chosen(ctx, data: ChooseChildren): ...
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.postback import PostbackData

TextHandler = Callable[[Any, str], None]
ActionHandler = Callable[[Any, Any], None]
MenuHandler = Callable[[Any], None]
# A feature's own conversation: takes any message (text, image, location), True if it did.
ConversationHandler = Callable[[Any, Any], bool]
ConversationCancel = Callable[[Any], bool]


class DuplicateRegistration(RuntimeError):
    """The same name registered twice: a start-up error naming both places."""

    def __init__(self, kind: str, key: str, first: str, second: str) -> None:
        super().__init__(f"{kind} {key!r} is registered twice: by {first} and by {second}")
        self.kind, self.key, self.first, self.second = kind, key, first, second


def origin(fn: Callable[..., Any], router: str) -> str:
    """Name where a handler is defined, for error messages: router, module and function."""
    return f"{fn.__module__}.{getattr(fn, '__qualname__', repr(fn))} (router {router!r})"


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]
    handler: TextHandler
    interrupts: bool
    origin: str


@dataclass(frozen=True)
class Pattern:
    name: str
    regex: re.Pattern[str]
    handler: TextHandler
    before_form: bool
    interrupts: bool
    origin: str


@dataclass(frozen=True)
class Action:
    data: type[PostbackData]
    handler: ActionHandler
    interrupts: bool
    origin: str


@dataclass(frozen=True)
class MenuArea:
    key: str
    handler: MenuHandler
    origin: str


@dataclass(frozen=True)
class ChatConversation:
    name: str
    handler: ConversationHandler
    cancel: ConversationCancel | None
    origin: str


@dataclass
class Router:
    """A feature's chat entry points; `include_router` nests another router after them."""

    name: str
    commands: list[Command] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    menu_areas: list[MenuArea] = field(default_factory=list)
    conversations: list[ChatConversation] = field(default_factory=list)
    children: list[Router] = field(default_factory=list)

    def command(self, *words: str, interrupts: bool = True) -> Callable[[TextHandler], TextHandler]:
        """Answer a text command under each of its words (any language, any case).

        A command that `interrupts` pauses the resident's running form and offers to resume
        it afterwards; "cancel" acts on the form itself, so it does not.
        """
        def register(fn: TextHandler) -> TextHandler:
            self.commands.append(Command(tuple(words), fn, interrupts, origin(fn, self.name)))
            return fn
        return register

    def pattern(self, name: str, regex: re.Pattern[str], *, before_form: bool = False,
                interrupts: bool = True) -> Callable[[TextHandler], TextHandler]:
        """Answer text of a shape (an invite code), tried when no form takes the text.

        A pattern `before_form` (a scanned check-in code) is tried before the running form;
        one that does not `interrupts` decides itself whether to pause the form.
        """
        def register(fn: TextHandler) -> TextHandler:
            self.patterns.append(Pattern(name, regex, fn, before_form, interrupts,
                                         origin(fn, self.name)))
            return fn
        return register

    def action(self, data: type[PostbackData], *,
               interrupts: bool = True) -> Callable[[ActionHandler], ActionHandler]:
        """Answer the postback buttons whose data is of this class (by its prefix)."""
        def register(fn: ActionHandler) -> ActionHandler:
            self.actions.append(Action(data, fn, interrupts, origin(fn, self.name)))
            return fn
        return register

    def menu(self, key: str) -> Callable[[MenuHandler], MenuHandler]:
        """Answer a tap on a rich-menu area (see bot.richmenu for the areas drawn)."""
        def register(fn: MenuHandler) -> MenuHandler:
            self.menu_areas.append(MenuArea(key, fn, origin(fn, self.name)))
            return fn
        return register

    def conversation(self, name: str, *, cancel: ConversationCancel | None = None
                     ) -> Callable[[ConversationHandler], ConversationHandler]:
        """Offer every message (photos and locations too) to a feature's own conversation.

        Tried after the running form and before the late text patterns; the handler returns
        True when the message was its to answer. `cancel(ctx)` ends that conversation on
        "cancel" when no form is running, returning True when there was one to end.
        """
        def register(fn: ConversationHandler) -> ConversationHandler:
            self.conversations.append(ChatConversation(name, fn, cancel, origin(fn, self.name)))
            return fn
        return register

    def include_router(self, router: Router) -> Router:
        """Route through another router after this one's own entries."""
        self.children.append(router)
        return router

    def walk(self) -> Iterable[Router]:
        """Yield this router and its included ones, depth first, in order."""
        yield self
        for child in self.children:
            yield from child.walk()


def normalize_word(word: str) -> str:
    """Commands match whatever the case and the surrounding spaces."""
    return word.strip().lower()


@dataclass
class ChatRoutes:
    """The flattened tables of the root dispatcher, built once at start-up."""

    commands: dict[str, Command] = field(default_factory=dict)
    patterns: list[Pattern] = field(default_factory=list)
    actions: dict[str, Action] = field(default_factory=dict)
    menu: dict[str, MenuArea] = field(default_factory=dict)
    conversations: dict[str, ChatConversation] = field(default_factory=dict)

    @classmethod
    def build(cls, routers: Iterable[Router]) -> ChatRoutes:
        """Flatten routers in order; raise DuplicateRegistration on any name used twice."""
        routes = cls()
        for root in routers:
            for router in root.walk():
                routes._add(router)
        return routes

    def _add(self, router: Router) -> None:
        for command in router.commands:
            for word in command.words:
                key = normalize_word(word)
                _claim(self.commands, "command", key, command)
        names = {p.name: p for p in self.patterns}
        for pattern in router.patterns:
            _claim(names, "text pattern", pattern.name, pattern)
            self.patterns.append(pattern)
        for action in router.actions:
            _claim(self.actions, "postback action", action.data.prefix, action)
        for area in router.menu_areas:
            _claim(self.menu, "rich-menu area", area.key, area)
        for conv in router.conversations:
            _claim(self.conversations, "chat conversation", conv.name, conv)

    def match_pattern(self, text: str, before_form: bool) -> Pattern | None:
        """Return the first pattern of this kind the text matches."""
        return next((p for p in self.patterns
                     if p.before_form == before_form and p.regex.match(text)), None)


def _claim(table: dict[str, Any], kind: str, key: str, entry: Any) -> None:
    if key in table:
        raise DuplicateRegistration(kind, key, table[key].origin, entry.origin)
    table[key] = entry

"""Check request bodies against the Messaging API's documented limits.

Each checker returns a list of LINE-style error details: {"message": ..., "property": ...}.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

from .ids import USER_ID_RE

Details = list[dict[str, str]]

MAX_MESSAGES = 5
MAX_MULTICAST = 500
MAX_QUICK_REPLY = 13
MAX_TEXT = 5000
MAX_POSTBACK_DATA = 300
MAX_LABEL = 20
MAX_ALT_TEXT = 1500
# Flex messages: LINE's documented limits (https://developers.line.biz/en/reference/messaging-api/#flex-message).
MAX_FLEX_ALT_TEXT = 400
MAX_CAROUSEL_BUBBLES = 12
MAX_BUBBLE_BYTES = 30 * 1024
MAX_CAROUSEL_BYTES = 50 * 1024
MAX_FLEX_DEPTH = 20
FLEX_COMPONENTS = ("box", "button", "image", "video", "icon", "text", "span", "separator",
                   "filler")
MAX_URL = 2000
RICH_MENU_MIN_WIDTH, RICH_MENU_MAX_WIDTH = 800, 2500
RICH_MENU_MIN_HEIGHT = 250
RICH_MENU_MIN_ASPECT = 1.45
MAX_RICH_MENU_AREAS = 20
MAX_RICH_MENU_NAME = 300
MAX_CHAT_BAR_TEXT = 14
RICH_MENU_ALIAS_RE = re.compile(r"^[a-z0-9_-]{1,32}$")
# Camera, camera roll and location actions work only in quick replies.
RICH_MENU_ACTIONS = ("postback", "message", "uri", "datetimepicker", "richmenuswitch",
                     "clipboard")


def detail(prop: str, message: str) -> dict[str, str]:
    """Return one error detail."""
    return {"message": message, "property": prop}


def check_length(value: Any, prop: str, low: int, high: int, required: bool = True) -> Details:
    """Check that value is a string of low..high characters."""
    if value is None:
        return [detail(prop, "Must not be empty")] if required else []
    if not isinstance(value, str):
        return [detail(prop, "Must be a string")]
    if not low <= len(value) <= high:
        return [detail(prop, f"Length must be between {low} and {high}")]
    return []


def check_size(items: Any, prop: str, low: int, high: int) -> Details:
    """Check that items is a list of low..high elements."""
    if not isinstance(items, list):
        return [detail(prop, "Must be an array")]
    if not low <= len(items) <= high:
        return [detail(prop, f"Size must be between {low} and {high}")]
    return []


def check_user_ids(ids: list[Any], prop: str) -> Details:
    """Check that every id looks like a LINE user id."""
    return [detail(f"{prop}[{i}]" if len(ids) > 1 else prop, "Invalid user ID")
            for i, uid in enumerate(ids) if not isinstance(uid, str) or not USER_ID_RE.match(uid)]


def check_messages(messages: Any, prop: str = "messages") -> Details:
    """Check a list of message objects."""
    problems = check_size(messages, prop, 1, MAX_MESSAGES)
    if problems:
        return problems
    for i, message in enumerate(messages):
        problems += check_message(message, f"{prop}[{i}]")
    return problems


def check_message(message: Any, prop: str) -> Details:
    """Check one message object by its type, and its quick reply."""
    if not isinstance(message, dict):
        return [detail(prop, "Must be an object")]
    checker = MESSAGE_CHECKERS.get(message.get("type"))
    if checker is None:
        return [detail(f"{prop}.type", "Invalid message type")]
    return checker(message, prop) + check_quick_reply(message.get("quickReply"), f"{prop}.quickReply")


def check_quick_reply(quick_reply: Any, prop: str) -> Details:
    """Check a quick reply: 1..13 items, each with a valid action."""
    if quick_reply is None:
        return []
    items = quick_reply.get("items") if isinstance(quick_reply, dict) else None
    problems = check_size(items, f"{prop}.items", 1, MAX_QUICK_REPLY)
    if problems:
        return problems
    for i, item in enumerate(items):
        item_prop = f"{prop}.items[{i}]"
        if not isinstance(item, dict) or item.get("type") != "action":
            problems.append(detail(f"{item_prop}.type", "Must be 'action'"))
            continue
        problems += check_action(item.get("action"), f"{item_prop}.action")
    return problems


def check_action(action: Any, prop: str, label_required: bool = True,
                 in_rich_menu: bool = False) -> Details:
    """Check an action object by its type; richmenuswitch exists only in rich menus."""
    if not isinstance(action, dict):
        return [detail(prop, "Must not be empty")]
    kind = action.get("type")
    if kind not in ACTION_CHECKERS or (kind == "richmenuswitch" and not in_rich_menu):
        return [detail(f"{prop}.type", "Invalid action type")]
    # Camera, camera roll and location actions show a default label when none is given.
    required = label_required and kind not in ("camera", "cameraRoll", "location")
    problems = check_length(action.get("label"), f"{prop}.label", 1, MAX_LABEL, required)
    return problems + ACTION_CHECKERS[kind](action, prop)


def _postback(action: dict, prop: str) -> Details:
    return (check_length(action.get("data"), f"{prop}.data", 1, MAX_POSTBACK_DATA)
            + check_length(action.get("displayText"), f"{prop}.displayText", 1, 300, False)
            + check_length(action.get("text"), f"{prop}.text", 1, 300, False))


def _message_action(action: dict, prop: str) -> Details:
    return check_length(action.get("text"), f"{prop}.text", 1, 300)


def _uri(action: dict, prop: str) -> Details:
    return check_length(action.get("uri"), f"{prop}.uri", 1, 1000)


def _datetimepicker(action: dict, prop: str) -> Details:
    problems = check_length(action.get("data"), f"{prop}.data", 1, MAX_POSTBACK_DATA)
    if action.get("mode") not in ("date", "time", "datetime"):
        problems.append(detail(f"{prop}.mode", "Must be one of date, time, datetime"))
    return problems


def _no_fields(*_: Any) -> Details:
    return []


def _richmenuswitch(action: dict, prop: str) -> Details:
    return (check_rich_menu_alias_id(action.get("richMenuAliasId"), f"{prop}.richMenuAliasId")
            + check_length(action.get("data"), f"{prop}.data", 1, MAX_POSTBACK_DATA))


def _clipboard(action: dict, prop: str) -> Details:
    return check_length(action.get("clipboardText"), f"{prop}.clipboardText", 1, 1000)


ACTION_CHECKERS: dict[str, Callable[[dict, str], Details]] = {
    "postback": _postback, "message": _message_action, "uri": _uri,
    "datetimepicker": _datetimepicker, "camera": _no_fields, "cameraRoll": _no_fields,
    "location": _no_fields, "richmenuswitch": _richmenuswitch, "clipboard": _clipboard,
}


def _text(message: dict, prop: str) -> Details:
    return check_length(message.get("text"), f"{prop}.text", 1, MAX_TEXT)


def _media(message: dict, prop: str) -> Details:
    problems = check_length(message.get("originalContentUrl"), f"{prop}.originalContentUrl", 1, MAX_URL)
    if message.get("type") in ("image", "video"):
        problems += check_length(message.get("previewImageUrl"), f"{prop}.previewImageUrl", 1, MAX_URL)
    return problems


def _sticker(message: dict, prop: str) -> Details:
    return [detail(f"{prop}.{key}", "Must not be empty")
            for key in ("packageId", "stickerId") if not message.get(key)]


def _location(message: dict, prop: str) -> Details:
    problems = (check_length(message.get("title"), f"{prop}.title", 1, 100)
                + check_length(message.get("address"), f"{prop}.address", 1, 100))
    for key in ("latitude", "longitude"):
        if not isinstance(message.get(key), (int, float)) or isinstance(message.get(key), bool):
            problems.append(detail(f"{prop}.{key}", "Must be a number"))
    return problems


def _imagemap(message: dict, prop: str) -> Details:
    problems = (check_length(message.get("baseUrl"), f"{prop}.baseUrl", 1, MAX_URL)
                + check_length(message.get("altText"), f"{prop}.altText", 1, MAX_ALT_TEXT))
    if not isinstance(message.get("baseSize"), dict):
        problems.append(detail(f"{prop}.baseSize", "Must not be empty"))
    return problems + check_size(message.get("actions", []), f"{prop}.actions", 0, 50)


def _flex(message: dict, prop: str) -> Details:
    """Check a Flex message: its alternative text, container, components and size."""
    problems = check_length(message.get("altText"), f"{prop}.altText", 1, MAX_FLEX_ALT_TEXT)
    contents = message.get("contents")
    kind = contents.get("type") if isinstance(contents, dict) else None
    if kind == "bubble":
        return problems + _flex_bubble(contents, f"{prop}.contents")
    if kind == "carousel":
        return problems + _flex_carousel(contents, f"{prop}.contents")
    return problems + [detail(f"{prop}.contents.type", "Must be bubble or carousel")]


def json_size(value: Any) -> int:
    """Return the size in bytes of a value as compact UTF-8 JSON, as LINE counts it."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _flex_carousel(carousel: dict, prop: str) -> Details:
    bubbles = carousel.get("contents")
    problems = check_size(bubbles, f"{prop}.contents", 1, MAX_CAROUSEL_BUBBLES)
    if problems:
        return problems
    for i, bubble in enumerate(bubbles):
        if not isinstance(bubble, dict) or bubble.get("type") != "bubble":
            problems.append(detail(f"{prop}.contents[{i}].type", "Must be bubble"))
        else:
            problems += _flex_bubble(bubble, f"{prop}.contents[{i}]")
    if json_size(carousel) > MAX_CAROUSEL_BYTES:
        problems.append(detail(prop, f"The carousel is larger than {MAX_CAROUSEL_BYTES} bytes"))
    return problems


def _flex_bubble(bubble: dict, prop: str) -> Details:
    problems: Details = []
    for block in ("header", "hero", "body", "footer"):
        component = bubble.get(block)
        if component is None:
            continue
        allowed = ("box", "image", "video") if block == "hero" else ("box",)
        kind = component.get("type") if isinstance(component, dict) else None
        if kind not in allowed:
            problems.append(detail(f"{prop}.{block}.type", f"Must be one of {', '.join(allowed)}"))
            continue
        problems += _flex_component(component, f"{prop}.{block}", parent=block, depth=0)
    if json_size(bubble) > MAX_BUBBLE_BYTES:
        problems.append(detail(prop, f"The bubble is larger than {MAX_BUBBLE_BYTES} bytes"))
    return problems


def _flex_component(component: Any, prop: str, parent: str, depth: int) -> Details:
    """Check one component and what it contains; `parent` is the box layout or block around it."""
    if depth > MAX_FLEX_DEPTH:
        return [detail(prop, "The components are nested too deeply")]
    kind = component.get("type") if isinstance(component, dict) else None
    if kind not in FLEX_COMPONENTS or kind == "span":
        return [detail(f"{prop}.type", "Invalid component type")]
    problems: Details = []
    if kind == "icon" and parent != "baseline":
        problems.append(detail(f"{prop}.type", "An icon can only be in a baseline box"))
    if kind == "video" and parent != "hero":
        problems.append(detail(f"{prop}.type", "A video can only be the hero block"))
    if kind == "button":
        problems += check_action(component.get("action"), f"{prop}.action")
    elif component.get("action") is not None:
        problems += check_action(component["action"], f"{prop}.action", label_required=False)
    return problems + FLEX_CHECKERS.get(kind, _no_fields)(component, prop, depth)


def _flex_box(box: dict, prop: str, depth: int) -> Details:
    layout = box.get("layout")
    if layout not in ("horizontal", "vertical", "baseline"):
        return [detail(f"{prop}.layout", "Must be one of horizontal, vertical, baseline")]
    contents = box.get("contents")
    if not isinstance(contents, list):
        return [detail(f"{prop}.contents", "Must be an array")]
    return [p for i, child in enumerate(contents)
            for p in _flex_component(child, f"{prop}.contents[{i}]", layout, depth + 1)]


def _flex_text(text: dict, prop: str, depth: int) -> Details:
    spans = text.get("contents")
    if spans:
        if not isinstance(spans, list):
            return [detail(f"{prop}.contents", "Must be an array")]
        return [p for i, span in enumerate(spans) for p in (
            [detail(f"{prop}.contents[{i}].type", "Must be span")]
            if not isinstance(span, dict) or span.get("type") != "span"
            else check_length(span.get("text"), f"{prop}.contents[{i}].text", 1, MAX_TEXT))]
    return check_length(text.get("text"), f"{prop}.text", 1, MAX_TEXT)


def _flex_media(component: dict, prop: str, depth: int) -> Details:
    problems = check_length(component.get("url"), f"{prop}.url", 1, MAX_URL)
    if component.get("type") == "video":
        problems += check_length(component.get("previewUrl"), f"{prop}.previewUrl", 1, MAX_URL)
        if not isinstance(component.get("altContent"), dict):
            problems.append(detail(f"{prop}.altContent", "Must not be empty"))
    return problems


FLEX_CHECKERS: dict[str, Callable[[dict, str, int], Details]] = {
    "box": _flex_box, "text": _flex_text, "image": _flex_media, "icon": _flex_media,
    "video": _flex_media,
}


def _template(message: dict, prop: str) -> Details:
    problems = check_length(message.get("altText"), f"{prop}.altText", 1, MAX_ALT_TEXT)
    template = message.get("template")
    kind = template.get("type") if isinstance(template, dict) else None
    if kind not in TEMPLATE_CHECKERS:
        return problems + [detail(f"{prop}.template.type", "Invalid template type")]
    return problems + TEMPLATE_CHECKERS[kind](template, f"{prop}.template")


def _actions(actions: Any, prop: str, low: int, high: int) -> Details:
    problems = check_size(actions, prop, low, high)
    if problems:
        return problems
    return [p for i, a in enumerate(actions) for p in check_action(a, f"{prop}[{i}]")]


def _buttons(template: dict, prop: str) -> Details:
    plain = not template.get("title") and not template.get("thumbnailImageUrl")
    return (check_length(template.get("text"), f"{prop}.text", 1, 160 if plain else 60)
            + check_length(template.get("title"), f"{prop}.title", 1, 40, required=False)
            + _actions(template.get("actions"), f"{prop}.actions", 1, 4))


def _confirm(template: dict, prop: str) -> Details:
    return (check_length(template.get("text"), f"{prop}.text", 1, 240)
            + _actions(template.get("actions"), f"{prop}.actions", 2, 2))


def _columns(template: dict, prop: str, check_column) -> Details:
    """Check a carousel's 1-10 columns, each an object checked by `check_column`."""
    columns = template.get("columns")
    problems = check_size(columns, f"{prop}.columns", 1, 10)
    if problems:
        return problems
    for i, column in enumerate(columns):
        column_prop = f"{prop}.columns[{i}]"
        if not isinstance(column, dict):
            problems.append(detail(column_prop, "Must be an object"))
        else:
            problems += check_column(column, column_prop)
    return problems


def _carousel(template: dict, prop: str) -> Details:
    return _columns(template, prop, lambda column, column_prop: (
        check_length(column.get("text"), f"{column_prop}.text", 1, 120)
        + _actions(column.get("actions"), f"{column_prop}.actions", 1, 3)))


def _image_carousel(template: dict, prop: str) -> Details:
    return _columns(template, prop, lambda column, column_prop: (
        check_length(column.get("imageUrl"), f"{column_prop}.imageUrl", 1, MAX_URL)
        + check_action(column.get("action"), f"{column_prop}.action", label_required=False)))


TEMPLATE_CHECKERS: dict[str, Callable[[dict, str], Details]] = {
    "buttons": _buttons, "confirm": _confirm, "carousel": _carousel,
    "image_carousel": _image_carousel,
}

MESSAGE_CHECKERS: dict[str, Callable[[dict, str], Details]] = {
    "text": _text, "textV2": _text, "image": _media, "video": _media, "audio": _media,
    "sticker": _sticker, "location": _location, "imagemap": _imagemap, "flex": _flex,
    "template": _template,
}


def check_rich_menu(menu: Any) -> Details:
    """Check a rich menu object: size, name, chat bar text and its areas."""
    if not isinstance(menu, dict):
        return [detail("", "Must be an object")]
    size = menu.get("size") if isinstance(menu.get("size"), dict) else {}
    problems = _rich_menu_size(size)
    if not isinstance(menu.get("selected"), bool):
        problems.append(detail("selected", "Must be a boolean"))
    problems += check_length(menu.get("name"), "name", 1, MAX_RICH_MENU_NAME)
    problems += check_length(menu.get("chatBarText"), "chatBarText", 1, MAX_CHAT_BAR_TEXT)
    return problems + _rich_menu_areas(menu.get("areas"), size if not problems else {})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _rich_menu_size(size: dict) -> Details:
    """Check LINE's size rule: width 800-2500, height 250 or more, width/height at least 1.45."""
    width, height = size.get("width"), size.get("height")
    problems = []
    if not _is_int(width) or not RICH_MENU_MIN_WIDTH <= width <= RICH_MENU_MAX_WIDTH:
        problems.append(detail("size.width",
                               f"Must be between {RICH_MENU_MIN_WIDTH} and {RICH_MENU_MAX_WIDTH}"))
    if not _is_int(height) or height < RICH_MENU_MIN_HEIGHT:
        problems.append(detail("size.height", f"Must be at least {RICH_MENU_MIN_HEIGHT}"))
    if not problems and width / height < RICH_MENU_MIN_ASPECT:
        problems.append(detail("size", f"Width / height must be at least {RICH_MENU_MIN_ASPECT}"))
    return problems


def _rich_menu_areas(areas: Any, size: dict) -> Details:
    problems = check_size(areas, "areas", 0, MAX_RICH_MENU_AREAS)
    if problems:
        return problems
    for i, area in enumerate(areas):
        area = area if isinstance(area, dict) else {}
        problems += _bounds(area.get("bounds"), f"areas[{i}].bounds", size)
        action = area.get("action")
        if isinstance(action, dict) and action.get("type") not in RICH_MENU_ACTIONS:
            problems.append(detail(f"areas[{i}].action.type",
                                   "Invalid action type for a rich menu"))
            continue
        problems += check_action(action, f"areas[{i}].action", label_required=False,
                                 in_rich_menu=True)
    return problems


def _bounds(bounds: Any, prop: str, size: dict) -> Details:
    """Check an area's box: whole pixels, not empty, inside the menu."""
    if not isinstance(bounds, dict):
        return [detail(prop, "Must not be empty")]
    problems = [detail(f"{prop}.{key}", "Must be a non-negative integer")
                for key in ("x", "y", "width", "height")
                if not _is_int(bounds.get(key)) or bounds[key] < 0]
    if problems:
        return problems
    problems = [detail(f"{prop}.{key}", "Must be greater than 0")
                for key in ("width", "height") if bounds[key] == 0]
    if size and bounds["x"] + bounds["width"] > size["width"]:
        problems.append(detail(f"{prop}.width", "The area extends beyond the rich menu's width"))
    if size and bounds["y"] + bounds["height"] > size["height"]:
        problems.append(detail(f"{prop}.height", "The area extends beyond the rich menu's height"))
    return problems


def check_rich_menu_alias_id(alias_id: Any, prop: str = "richMenuAliasId") -> Details:
    """Check an alias id: 1-32 of a-z, 0-9, underscore and hyphen."""
    if not isinstance(alias_id, str) or not RICH_MENU_ALIAS_RE.match(alias_id):
        return [detail(prop, "Must match ^[a-z0-9_-]{1,32}$")]
    return []

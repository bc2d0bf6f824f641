"""The Messaging API double: LINE's paths, JSON, limits and errors."""
from __future__ import annotations

import hmac
import io
import re
import time
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from PIL import Image, UnidentifiedImageError

from . import ids
from .core import platform
from .state import Delivery, RetryKeyConflict
from .validation import (
    Details, check_messages, check_rich_menu, check_rich_menu_alias_id, check_size, check_user_ids,
    detail,
)

bp = Blueprint("line_api", __name__)

MONTHLY_QUOTA = 30_000
MAX_RICH_MENU_IMAGE = 1024 * 1024
MAX_RICH_MENU_ALIASES = 1000
MAX_BULK_USERS = 500
IMAGE_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG"}
PUSH_TARGET_RE = re.compile(r"^[UCR][0-9a-f]{32}$")
QUOTABLE = {"text", "textV2", "sticker", "image", "video"}
FAULT_MESSAGES = {
    429: "The API rate limit has been exceeded. Try again later.",
    500: "Internal server error",
    503: "Service unavailable",
}


def error(status: int, message: str, details: Details | None = None,
          headers: dict[str, str] | None = None, **extra: Any) -> Response:
    """Return a LINE-style JSON error."""
    body: dict[str, Any] = {"message": message, **extra}
    if details:
        body["details"] = details
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def invalid_body(details: Details) -> Response:
    """Return LINE's 400 for a request body that breaks the rules."""
    return error(400, f"The request body has {len(details)} error(s)", details)


@bp.before_request
def check_auth_and_faults() -> Response | None:
    """Reject a bad bearer token, then apply any injected fault for this path."""
    g.request_id = ids.request_id()
    g.fault = None
    expected = f"Bearer {platform().access_token}"
    if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
        return error(401, "Authentication failed. Confirm that the access token "
                          "in the authorization header is valid.")
    if platform().store.over_rate_limit(request.path, time.time()):
        return fault_response(429)
    rule = platform().store.take_fault(request.path)
    if rule is None:
        return None
    if rule.get("delay"):
        time.sleep(float(rule["delay"]))
    if rule.get("status") and not rule.get("after_accept"):
        return fault_response(rule["status"])
    g.fault = rule
    return None


def fault_response(status: int) -> Response:
    """Return the answer LINE gives for this failure status (429 has no Retry-After)."""
    return error(status, FAULT_MESSAGES.get(status, "Emulated failure"))


@bp.after_request
def finish(response: Response) -> Response:
    """Swap in an after-accept fault, tag the request id, and log the request."""
    rule = g.get("fault")
    if rule and rule.get("status") and rule.get("after_accept"):
        response = fault_response(rule["status"])
    response.headers["x-line-request-id"] = g.get("request_id", "")
    entry = {
        "method": request.method, "path": request.path, "status": response.status_code,
        "retryKey": request.headers.get("X-Line-Retry-Key"), "at": time.time(),
        "requestId": g.get("request_id"),
    }
    if request.path == "/v2/bot/message/reply":
        # Which event a reply answered, so a benchmark can time each event to its reply.
        entry["replyToken"] = (json_body() or {}).get("replyToken")
    platform().store.log_request(entry)
    return response


# Sending messages


def json_body() -> dict[str, Any] | None:
    """Return the JSON object body, or None when the body is not one."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


def retry_key(allowed: bool) -> tuple[str | None, Response | None]:
    """Return the X-Line-Retry-Key header, or the 400 LINE gives for a bad one."""
    key = request.headers.get("X-Line-Retry-Key")
    if key is None:
        return None, None
    if not allowed:
        return None, error(400, "X-Line-Retry-Key is not supported for this API")
    if not ids.RETRY_KEY_RE.match(key):
        return None, error(400, "The value for the 'X-Line-Retry-Key' header is invalid")
    return key, None


def sent_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Return the sentMessages answer: an id per message, a quote token where quotable."""
    sent = []
    for message in messages:
        entry = {"id": ids.message_id()}
        if message.get("type") in QUOTABLE:
            entry["quoteToken"] = ids.quote_token()
        sent.append(entry)
    return sent


def accept(via: str, recipients: list[str], messages: list[dict[str, Any]],
           key: str | None, status: int = 200, answer_sent: bool = False) -> Response:
    """Record the delivery and answer; a repeated retry key gets 409."""
    sent = sent_messages(messages)
    delivery = Delivery(via=via, recipients=recipients, messages=messages,
                        request_id=g.request_id, sent_messages=sent, retry_key=key)
    try:
        platform().store.deliver(delivery)
    except RetryKeyConflict as conflict:
        extra = {"sentMessages": conflict.sent_messages} if answer_sent else {}
        return error(409, "The retry key is already accepted",
                     headers={"x-line-accepted-request-id": conflict.request_id}, **extra)
    response = jsonify({"sentMessages": sent} if answer_sent else {})
    response.status_code = status
    return response


def parse_send(key_allowed: bool) -> tuple[dict[str, Any] | None, str | None, Response | None]:
    """Read the body and retry key of a send request, checking the messages."""
    key, problem = retry_key(key_allowed)
    if problem:
        return None, None, problem
    body = json_body()
    if body is None:
        return None, None, invalid_body([detail("", "The request body is not a JSON object")])
    return body, key, None


@bp.post("/v2/bot/message/reply")
def reply() -> Response:
    """Answer an event with its reply token, once and in time."""
    body, _, problem = parse_send(key_allowed=False)
    if problem:
        return problem
    details = check_messages(body.get("messages"))
    if not isinstance(body.get("replyToken"), str):
        details.insert(0, detail("replyToken", "Must not be empty"))
    if details:
        return invalid_body(details)
    user_id = platform().store.use_reply_token(
        body["replyToken"], time.time(), platform().reply_token_ttl)
    if user_id is None:
        return error(400, "Invalid reply token")
    return accept("reply", [user_id], body["messages"], None, answer_sent=True)


@bp.post("/v2/bot/message/push")
def push() -> Response:
    """Send messages to one user, group or room."""
    body, key, problem = parse_send(key_allowed=True)
    if problem:
        return problem
    details = check_messages(body.get("messages"))
    to = body.get("to")
    if not isinstance(to, str) or not PUSH_TARGET_RE.match(to):
        details.insert(0, detail("to", "Invalid user ID"))
    if details:
        return invalid_body(details)
    return accept("push", [to], body["messages"], key, answer_sent=True)


@bp.post("/v2/bot/message/multicast")
def multicast() -> Response:
    """Send the same messages to up to 500 users."""
    body, key, problem = parse_send(key_allowed=True)
    if problem:
        return problem
    to = body.get("to")
    details = check_size(to, "to", 1, 500) or check_user_ids(to, "to")
    details += check_messages(body.get("messages"))
    if details:
        return invalid_body(details)
    return accept("multicast", list(dict.fromkeys(to)), body["messages"], key)


@bp.post("/v2/bot/message/narrowcast")
def narrowcast() -> Response:
    """Send to every user who has not blocked the account (audiences are not modelled)."""
    return _to_everyone("narrowcast", status=202)


@bp.post("/v2/bot/message/broadcast")
def broadcast() -> Response:
    """Send to every user who has not blocked the account."""
    return _to_everyone("broadcast", status=200)


def _to_everyone(via: str, status: int) -> Response:
    body, key, problem = parse_send(key_allowed=True)
    if problem:
        return problem
    details = check_messages(body.get("messages"))
    if details:
        return invalid_body(details)
    return accept(via, platform().store.active_user_ids(), body["messages"], key, status=status)


# Users, content, quota


@bp.get("/v2/bot/profile/<user_id>")
def profile(user_id: str) -> Response:
    """Return a user's profile; unknown or blocking users are not found."""
    user = platform().store.get_user(user_id)
    if user is None or user.get("blocked"):
        return error(404, "Not found")
    fields = ("userId", "displayName", "pictureUrl", "statusMessage", "language")
    return jsonify({k: user[k] for k in fields if user.get(k) not in (None, "")})


@bp.get("/v2/bot/message/<message_id>/content")
def message_content(message_id: str) -> Response:
    """Return the bytes of an image a user sent."""
    found = platform().store.get_content(message_id)
    if found is None:
        return error(404, "Not found")
    return Response(found[0], mimetype=found[1])


@bp.get("/v2/bot/message/quota")
def quota() -> Response:
    """Return the monthly message quota."""
    return jsonify({"type": "limited", "value": MONTHLY_QUOTA})


@bp.get("/v2/bot/message/quota/consumption")
def quota_consumption() -> Response:
    """Return how many messages were sent other than by reply."""
    return jsonify({"totalUsage": platform().store.usage})


# Rich menus


@bp.post("/v2/bot/richmenu")
def create_rich_menu() -> Response:
    """Create a rich menu from its JSON and return its id."""
    menu = json_body()
    details = check_rich_menu(menu)
    if details:
        return invalid_body(details)
    menu = dict(menu, richMenuId=ids.rich_menu_id())
    platform().store.add_rich_menu(menu)
    return jsonify({"richMenuId": menu["richMenuId"]})


@bp.post("/v2/bot/richmenu/validate")
def validate_rich_menu() -> Response:
    """Check a rich menu object without creating it."""
    details = check_rich_menu(json_body())
    return invalid_body(details) if details else jsonify({})


@bp.get("/v2/bot/richmenu/list")
def list_rich_menus() -> Response:
    """List all rich menus."""
    return jsonify({"richmenus": platform().store.list_rich_menus()})


@bp.get("/v2/bot/richmenu/<rich_menu_id>")
def get_rich_menu(rich_menu_id: str) -> Response:
    """Return one rich menu."""
    menu = platform().store.get_rich_menu(rich_menu_id)
    return jsonify(menu) if menu else error(404, "Not found")


@bp.delete("/v2/bot/richmenu/<rich_menu_id>")
def delete_rich_menu(rich_menu_id: str) -> Response:
    """Delete a rich menu."""
    if not platform().store.delete_rich_menu(rich_menu_id):
        return error(404, "Not found")
    return jsonify({})


@bp.post("/v2/bot/richmenu/<rich_menu_id>/content")
def upload_rich_menu_image(rich_menu_id: str) -> Response:
    """Attach a PNG or JPEG image of the menu's size to a rich menu, once, as LINE allows."""
    store = platform().store
    menu = store.get_rich_menu(rich_menu_id)
    if menu is None:
        return error(404, "Not found")
    if request.mimetype not in IMAGE_FORMATS:
        return error(415, "Unsupported media type; use image/png or image/jpeg")
    image = request.get_data()
    if not image or len(image) > MAX_RICH_MENU_IMAGE:
        return error(400, "The image must be between 1 byte and 1 MB")
    problem = image_problem(image, request.mimetype, menu["size"])
    if problem:
        return error(400, problem)
    if store.get_rich_menu_image(rich_menu_id) is not None:
        return error(400, "An image has already been uploaded to the richmenu")
    store.set_rich_menu_image(rich_menu_id, image, request.mimetype)
    return jsonify({})


def image_problem(image: bytes, mimetype: str, size: dict[str, int]) -> str | None:
    """Say why the bytes are not a usable image for a menu of this size, or None."""
    try:
        with Image.open(io.BytesIO(image)) as picture:
            found_format, found_size = picture.format, picture.size
    except (UnidentifiedImageError, OSError):
        return "The image cannot be read as PNG or JPEG"
    if found_format != IMAGE_FORMATS[mimetype]:
        return f"The image is {found_format}, but Content-Type says {mimetype}"
    # LINE scales nothing: the areas are in the image's pixels, so the sizes must agree.
    if found_size != (size["width"], size["height"]):
        return (f"The image is {found_size[0]}x{found_size[1]}; the rich menu is "
                f"{size['width']}x{size['height']}")
    return None


@bp.get("/v2/bot/richmenu/<rich_menu_id>/content")
def download_rich_menu_image(rich_menu_id: str) -> Response:
    """Return a rich menu's image."""
    found = platform().store.get_rich_menu_image(rich_menu_id)
    if found is None:
        return error(404, "Not found")
    return Response(found[0], mimetype=found[1])


def applicable(rich_menu_id: str) -> Response | None:
    """Return LINE's error when a menu cannot be shown to users (unknown or without image)."""
    store = platform().store
    if store.get_rich_menu(rich_menu_id) is None:
        return error(404, "richmenu not found")
    if store.get_rich_menu_image(rich_menu_id) is None:
        return error(400, "must upload richmenu image before applying it to user")
    return None


@bp.post("/v2/bot/user/all/richmenu/<rich_menu_id>")
def set_default_rich_menu(rich_menu_id: str) -> Response:
    """Make a rich menu (with an image) the default for every user."""
    problem = applicable(rich_menu_id)
    if problem:
        return problem
    platform().store.set_default_rich_menu(rich_menu_id)
    return jsonify({})


@bp.get("/v2/bot/user/all/richmenu")
def get_default_rich_menu() -> Response:
    """Return the default rich menu's id."""
    rich_menu_id = platform().store.default_rich_menu
    if rich_menu_id is None:
        return error(404, "no default richmenu")
    return jsonify({"richMenuId": rich_menu_id})


@bp.delete("/v2/bot/user/all/richmenu")
def cancel_default_rich_menu() -> Response:
    """Clear the default rich menu."""
    platform().store.set_default_rich_menu(None)
    return jsonify({})


# Rich menus per user


def bad_user_id(user_id: str) -> Response | None:
    """Return LINE's 400 for a path user id that is not one."""
    if ids.USER_ID_RE.match(user_id):
        return None
    return error(400, "The value for the 'userId' parameter is invalid")


@bp.post("/v2/bot/user/<user_id>/richmenu/<rich_menu_id>")
def link_rich_menu(user_id: str, rich_menu_id: str) -> Response:
    """Link a rich menu to one user; it wins over the default."""
    problem = bad_user_id(user_id) or applicable(rich_menu_id)
    if problem:
        return problem
    platform().store.link_rich_menu(user_id, rich_menu_id)
    return jsonify({})


@bp.get("/v2/bot/user/<user_id>/richmenu")
def get_linked_rich_menu(user_id: str) -> Response:
    """Return the id of the menu linked to the user (the default does not count)."""
    problem = bad_user_id(user_id)
    if problem:
        return problem
    rich_menu_id = platform().store.linked_rich_menu(user_id)
    if rich_menu_id is None:
        return error(404, "the user has no richmenu")
    return jsonify({"richMenuId": rich_menu_id})


@bp.delete("/v2/bot/user/<user_id>/richmenu")
def unlink_rich_menu(user_id: str) -> Response:
    """Unlink the user's menu; the default shows again."""
    problem = bad_user_id(user_id)
    if problem:
        return problem
    platform().store.link_rich_menu(user_id, None)
    return jsonify({})


def bulk_user_ids(body: dict[str, Any] | None) -> tuple[list[str], Details]:
    """Return the userIds of a bulk request and what is wrong with them."""
    user_ids = (body or {}).get("userIds")
    details = check_size(user_ids, "userIds", 1, MAX_BULK_USERS) or check_user_ids(user_ids, "userIds")
    return (user_ids if not details else []), details


@bp.post("/v2/bot/richmenu/bulk/link")
def bulk_link_rich_menu() -> Response:
    """Link one rich menu to up to 500 users."""
    body = json_body()
    user_ids, details = bulk_user_ids(body)
    rich_menu_id = (body or {}).get("richMenuId")
    if not isinstance(rich_menu_id, str):
        details.append(detail("richMenuId", "Must not be empty"))
    if details:
        return invalid_body(details)
    problem = applicable(rich_menu_id)
    if problem:
        return problem
    for user_id in user_ids:
        platform().store.link_rich_menu(user_id, rich_menu_id)
    return _accepted()


@bp.post("/v2/bot/richmenu/bulk/unlink")
def bulk_unlink_rich_menu() -> Response:
    """Unlink the menus of up to 500 users."""
    user_ids, details = bulk_user_ids(json_body())
    if details:
        return invalid_body(details)
    for user_id in user_ids:
        platform().store.link_rich_menu(user_id, None)
    return _accepted()


def _accepted() -> Response:
    response = jsonify({})
    response.status_code = 202
    return response


# Rich menu aliases


@bp.post("/v2/bot/richmenu/alias")
def create_rich_menu_alias() -> Response:
    """Name a rich menu with an alias, for richmenuswitch actions."""
    body = json_body() or {}
    details = check_rich_menu_alias_id(body.get("richMenuAliasId"))
    if not isinstance(body.get("richMenuId"), str):
        details.append(detail("richMenuId", "Must not be empty"))
    if details:
        return invalid_body(details)
    store = platform().store
    if store.get_rich_menu_alias(body["richMenuAliasId"]) is not None:
        return error(400, "conflict richmenu alias id")
    if len(store.list_rich_menu_aliases()) >= MAX_RICH_MENU_ALIASES:
        return error(400, f"Up to {MAX_RICH_MENU_ALIASES} rich menu aliases per channel")
    problem = alias_target_problem(body["richMenuId"])
    if problem:
        return problem
    store.put_rich_menu_alias(body["richMenuAliasId"], body["richMenuId"])
    return jsonify({})


def alias_target_problem(rich_menu_id: str) -> Response | None:
    """Return the 400 LINE gives when an alias would point to no menu or one without image."""
    store = platform().store
    if store.get_rich_menu(rich_menu_id) is None:
        return error(400, "richmenu not found")
    if store.get_rich_menu_image(rich_menu_id) is None:
        return error(400, "must upload richmenu image before creating an alias for it")
    return None


@bp.get("/v2/bot/richmenu/alias/list")
def list_rich_menu_aliases() -> Response:
    """List every alias."""
    return jsonify({"aliases": platform().store.list_rich_menu_aliases()})


@bp.get("/v2/bot/richmenu/alias/<alias_id>")
def get_rich_menu_alias(alias_id: str) -> Response:
    """Return one alias and its rich menu id."""
    rich_menu_id = platform().store.get_rich_menu_alias(alias_id)
    if rich_menu_id is None:
        return error(404, "richmenu alias not found")
    return jsonify({"richMenuAliasId": alias_id, "richMenuId": rich_menu_id})


@bp.post("/v2/bot/richmenu/alias/<alias_id>")
def update_rich_menu_alias(alias_id: str) -> Response:
    """Point an existing alias to another rich menu."""
    rich_menu_id = (json_body() or {}).get("richMenuId")
    if not isinstance(rich_menu_id, str):
        return invalid_body([detail("richMenuId", "Must not be empty")])
    store = platform().store
    if store.get_rich_menu_alias(alias_id) is None:
        return error(404, "richmenu alias not found")
    problem = alias_target_problem(rich_menu_id)
    if problem:
        return problem
    store.put_rich_menu_alias(alias_id, rich_menu_id)
    return jsonify({})


@bp.delete("/v2/bot/richmenu/alias/<alias_id>")
def delete_rich_menu_alias(alias_id: str) -> Response:
    """Delete an alias; the rich menu stays."""
    if not platform().store.delete_rich_menu_alias(alias_id):
        return error(404, "richmenu alias not found")
    return jsonify({})

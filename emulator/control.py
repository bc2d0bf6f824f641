"""The control API under /_emulator/: drive users, send events, inspect and break things."""
from __future__ import annotations

import base64
import binascii
import time
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from . import events, ids
from .core import new_user, platform

bp = Blueprint("line_emulator_control", __name__, url_prefix="/_emulator")

MAX_SCAN_TARGETS = 200
MAX_SCAN_LABEL = 100
MAX_SCAN_TEXT = 2000


def bad_request(message: str, status: int = 400) -> Response:
    """Return a JSON error for the control API."""
    response = jsonify({"message": message})
    response.status_code = status
    return response


def body() -> dict[str, Any]:
    """Return the JSON object body, or an empty dict."""
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def send(batch: list[dict[str, Any]], shown: dict[str, Any] | None = None) -> Response:
    """Post events to the app and answer; `shown` is what the user's screen shows they sent.

    The user's side is recorded before the post, so it comes before the bot's answer.
    """
    user_id = ((batch[0].get("source") or {}).get("userId")) if batch else None
    if shown is not None and user_id:
        platform().store.note_user_message(user_id, shown)
    try:
        return jsonify(platform().send(batch))
    except LookupError as exc:
        return bad_request(str(exc), 409)


def user_from(data: dict[str, Any]) -> str | None:
    """Return the event's userId, creating the test user if new."""
    user_id = data.get("userId")
    if not isinstance(user_id, str) or not ids.USER_ID_RE.match(user_id):
        return None
    platform().ensure_user(user_id)
    return user_id


# Users and configuration


@bp.post("/users")
def create_user() -> Response:
    """Create (or replace) a test user."""
    data = body()
    user_id = data.get("userId")
    if user_id is not None and (not isinstance(user_id, str) or not ids.USER_ID_RE.match(user_id)):
        return bad_request("userId must be 'U' followed by 32 lowercase hex digits")
    user = new_user(user_id, data.get("displayName"), data.get("language") or "ja")
    for key in ("pictureUrl", "statusMessage"):
        if key in data:
            user[key] = data[key]
    return jsonify(platform().store.add_user(user))


@bp.get("/users")
def list_users() -> Response:
    """List test users."""
    return jsonify({"users": platform().store.list_users()})


@bp.post("/webhook")
def set_webhook() -> Response:
    """Set the webhook URL events are posted to."""
    url = body().get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return bad_request("url must be an http(s) URL")
    platform().store.webhook_url = url
    return jsonify({"url": url})


@bp.get("/webhook")
def get_webhook() -> Response:
    """Return the webhook URL."""
    return jsonify({"url": platform().store.webhook_url})


@bp.post("/reset")
def reset() -> Response:
    """Forget users, received messages, faults, tokens, retry keys and rich menus."""
    platform().store.reset()
    return jsonify({})


# Events


@bp.post("/events/text")
def send_text() -> Response:
    """Send a text message from a user."""
    data = body()
    user_id = user_from(data)
    if user_id is None or not isinstance(data.get("text"), str) or not data["text"]:
        return bad_request("userId and text are required")
    return send([events.text_event(user_id, data["text"])], {"type": "text", "text": data["text"]})


@bp.post("/events/postback")
def send_postback() -> Response:
    """Send a postback from a user, with date/time params when given.

    A displayText shows in the chat as the user's message, but LINE sends no message event.
    """
    data = body()
    user_id = user_from(data)
    params, display_text = data.get("params"), data.get("displayText")
    if user_id is None or not isinstance(data.get("data"), str):
        return bad_request("userId and data are required")
    if params is not None and not isinstance(params, dict):
        return bad_request("params must be an object")
    if display_text is not None and (not isinstance(display_text, str) or not display_text):
        return bad_request("displayText must be a non-empty string")
    shown = {"type": "text", "text": display_text} if display_text else None
    return send([events.postback_event(user_id, data["data"], params)], shown)


@bp.post("/events/follow")
def send_follow() -> Response:
    """Send a follow (or unblock) event."""
    data = body()
    user_id = user_from(data)
    if user_id is None:
        return bad_request("userId is required")
    return send([events.follow_event(user_id, bool(data.get("isUnblocked", False)))])


@bp.post("/events/unfollow")
def send_unfollow() -> Response:
    """Send an unfollow (block) event."""
    user_id = user_from(body())
    if user_id is None:
        return bad_request("userId is required")
    return send([events.unfollow_event(user_id)])


@bp.post("/events/location")
def send_location() -> Response:
    """Send a location message from a user."""
    data = body()
    user_id = user_from(data)
    try:
        latitude, longitude = float(data["latitude"]), float(data["longitude"])
    except (KeyError, TypeError, ValueError):
        return bad_request("latitude and longitude must be numbers")
    if user_id is None:
        return bad_request("userId is required")
    address = data.get("address") or f"{latitude:.5f}, {longitude:.5f}"
    event = events.location_event(user_id, address, latitude, longitude, data.get("title"))
    return send([event], dict(event["message"]))


@bp.post("/events/image")
def send_image() -> Response:
    """Store an image's bytes and send the image message event."""
    data = body()
    user_id = user_from(data)
    try:
        content = base64.b64decode(data.get("contentBase64") or "", validate=True)
    except (binascii.Error, ValueError):
        return bad_request("contentBase64 is not base64")
    if user_id is None or not content:
        return bad_request("userId and contentBase64 are required")
    event = image_event(user_id, content, data.get("contentType") or "image/jpeg")
    message_id = event["message"]["id"]
    return send([event], {"type": "image", "id": message_id,
                          "contentUrl": url_for(".content", message_id=message_id)})


@bp.get("/content/<message_id>")
def content(message_id: str) -> Response:
    """Return the bytes of an image a user sent, for the chat page to show."""
    found = platform().store.get_content(message_id)
    if found is None:
        return bad_request("Unknown message id", 404)
    return Response(found[0], mimetype=found[1])


def image_event(user_id: str, content: bytes, content_type: str) -> dict[str, Any]:
    """Store the content under a new message id and return its event."""
    message_id = ids.message_id()
    platform().store.put_content(message_id, content, content_type)
    return events.image_event(user_id, message_id)


@bp.post("/events/raw")
def send_raw() -> Response:
    """Send the given events unchanged, signed."""
    batch = body().get("events")
    if not isinstance(batch, list):
        return bad_request("events must be a list")
    return send(batch)


@bp.post("/redeliver")
def redeliver() -> Response:
    """Send an event again, with the same id and reply token, marked as redelivered."""
    event = platform().store.get_event(str(body().get("webhookEventId")))
    if event is None:
        return bad_request("Unknown webhookEventId", 404)
    return send([events.as_redelivery(event)])


@bp.post("/reply-tokens")
def issue_reply_tokens() -> Response:
    """Make reply tokens valid for a user, for a sender that posts events to the app itself."""
    data = body()
    user_id = user_from(data)
    tokens = data.get("tokens")
    if user_id is None or not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        return bad_request("give a valid userId and a list of tokens")
    now = time.time()
    for token in tokens:
        platform().store.issue_reply_token(token, user_id, now)
    return jsonify({"issued": len(tokens)})


# Inspection and faults


@bp.get("/received/<user_id>")
def received(user_id: str) -> Response:
    """Return what the user received, from index `since` on."""
    since = request.args.get("since", 0, type=int)
    messages, following = platform().store.received_since(user_id, max(since, 0))
    return jsonify({"messages": messages, "next": following})


@bp.get("/conversation/<user_id>")
def conversation(user_id: str) -> Response:
    """Return the user's conversation (both sides, in order) from index `since` on."""
    since = request.args.get("since", 0, type=int)
    entries, following = platform().store.timeline_since(user_id, max(since, 0))
    return jsonify({"entries": entries, "next": following})


@bp.get("/events")
def webhook_log() -> Response:
    """Return the events posted to the webhook, oldest first, optionally for one user."""
    user_id = request.args.get("userId")
    with platform().store.lock:
        sent = list(platform().store.events.values())
    if user_id:
        sent = [e for e in sent if (e.get("source") or {}).get("userId") == user_id]
    return jsonify({"events": sent})


@bp.get("/requests")
def request_log() -> Response:
    """Return the log of Messaging API requests, filtered by path prefix."""
    return jsonify({"requests": platform().store.request_log(request.args.get("path", ""))})


@bp.post("/faults")
def add_fault() -> Response:
    """Add a fault rule: fail or slow the next `count` requests under a path."""
    data = body()
    path, status = data.get("path"), data.get("status")
    if not isinstance(path, str) or not path.startswith("/"):
        return bad_request("path must be a path prefix such as /v2/bot/message/push")
    if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
        return bad_request("status must be an HTTP error status or null")
    rule = {"path": path, "status": status, "count": int(data.get("count", 1)),
            "delay": float(data.get("delay") or 0.0), "after_accept": bool(data.get("after_accept"))}
    platform().store.add_fault(rule)
    return jsonify(rule)


@bp.delete("/faults")
def clear_faults() -> Response:
    """Remove every fault rule."""
    platform().store.clear_faults()
    return jsonify({})


@bp.get("/faults")
def list_faults() -> Response:
    """List fault rules and how many failures each has left."""
    with platform().store.lock:
        return jsonify({"faults": [dict(f) for f in platform().store.faults]})


@bp.put("/rate-limits")
def set_rate_limits() -> Response:
    """Set LINE's per-endpoint rate limits: {"/v2/bot/message/push": 2000, ...}; {} lifts them."""
    data = body()
    limits = {}
    for path, rate in data.items():
        if not path.startswith("/") or isinstance(rate, bool) or \
                not isinstance(rate, (int, float)) or rate <= 0:
            return bad_request("give a positive number of requests per second for each path "
                               "prefix, e.g. {\"/v2/bot/message/push\": 2000}")
        limits[path] = float(rate)
    platform().store.set_rate_limits(limits)
    return jsonify(limits)


@bp.get("/rate-limits")
def get_rate_limits() -> Response:
    """Return the per-endpoint rate limits in force."""
    with platform().store.lock:
        return jsonify(dict(platform().store.rate_limits))


# QR codes the chat page's scan menu offers


@bp.post("/scan-targets")
def set_scan_targets() -> Response:
    """Replace the scan menu's list of {label, text, id?}; text is an oaMessage URL or plain text.

    A target with an id is scanned by id, so a list posted again (a kiosk code that rotated)
    changes what the same menu entry sends.
    """
    data = request.get_json(silent=True)
    targets = data.get("targets") if isinstance(data, dict) else data
    problem = scan_targets_problem(targets)
    if problem:
        return bad_request(problem)
    platform().store.set_scan_targets([{key: t[key] for key in ("id", "label", "text") if key in t}
                                       for t in targets])
    return jsonify({"targets": platform().store.list_scan_targets()})


def scan_targets_problem(targets: Any) -> str | None:
    """Say what is wrong with a list of scan targets, or None."""
    if not isinstance(targets, list) or len(targets) > MAX_SCAN_TARGETS:
        return f"give a list of at most {MAX_SCAN_TARGETS} objects {{label, text}}"
    for i, target in enumerate(targets):
        if not isinstance(target, dict):
            return f"targets[{i}] must be an object {{label, text}}"
        for key, limit in (("label", MAX_SCAN_LABEL), ("text", MAX_SCAN_TEXT)):
            value = target.get(key)
            if not isinstance(value, str) or not value.strip() or len(value) > limit:
                return f"targets[{i}].{key} must be a non-empty string of at most {limit} characters"
        if "id" in target and (not isinstance(target["id"], str) or not target["id"].strip()
                               or len(target["id"]) > MAX_SCAN_LABEL):
            return f"targets[{i}].id must be a non-empty string of at most {MAX_SCAN_LABEL} characters"
    ids = [t["id"] for t in targets if "id" in t]
    if len(ids) != len(set(ids)):
        return "every target's id must be different"
    return None


@bp.get("/scan-targets")
def list_scan_targets() -> Response:
    """List the scan menu's QR payloads."""
    return jsonify({"targets": platform().store.list_scan_targets()})

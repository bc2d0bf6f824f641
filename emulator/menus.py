"""The rich menu as the LINE app shows it: which menu a user sees, its image, switch taps."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, url_for

from . import events
from .control import bad_request, body, send, user_from
from .core import platform

bp = Blueprint("line_emulator_menus", __name__, url_prefix="/_emulator")


@bp.get("/richmenu/<user_id>")
def shown_rich_menu(user_id: str) -> Response:
    """Return the menu the user's chat shows (switched, linked, else default) with its image URL."""
    menu = platform().store.displayed_rich_menu(user_id)
    if menu is None or platform().store.get_rich_menu_image(menu["richMenuId"]) is None:
        return jsonify({"richMenu": None})
    menu["imageUrl"] = url_for(".rich_menu_image", rich_menu_id=menu["richMenuId"])
    return jsonify({"richMenu": menu})


@bp.get("/richmenu-image/<rich_menu_id>")
def rich_menu_image(rich_menu_id: str) -> Response:
    """Return a menu's image without a bearer token, for the chat page's <img>."""
    found = platform().store.get_rich_menu_image(rich_menu_id)
    if found is None:
        return bad_request("No image for this rich menu", 404)
    response = Response(found[0], mimetype=found[1])
    # A menu's image never changes once uploaded (LINE refuses a second upload).
    response.headers["Cache-Control"] = "max-age=86400, immutable"
    return response


def switch_status(alias_id: str) -> tuple[str, str | None]:
    """Return LINE's switch status for an alias and the menu it shows (None on failure)."""
    store = platform().store
    rich_menu_id = store.get_rich_menu_alias(alias_id)
    if rich_menu_id is None:
        return "RICHMENU_ALIAS_ID_NOTFOUND", None
    if store.get_rich_menu(rich_menu_id) is None or store.get_rich_menu_image(rich_menu_id) is None:
        return "RICHMENU_NOTFOUND", None
    return "SUCCESS", rich_menu_id


@bp.post("/events/richmenuswitch")
def tap_switch() -> Response:
    """Tap a richmenuswitch area: show the aliased menu and send the postback LINE sends."""
    data = body()
    user_id = user_from(data)
    alias_id, postback_data = data.get("richMenuAliasId"), data.get("data")
    if user_id is None or not isinstance(alias_id, str) or not isinstance(postback_data, str):
        return bad_request("userId, richMenuAliasId and data are required")
    status, rich_menu_id = switch_status(alias_id)
    if rich_menu_id is not None:
        platform().store.show_switched_rich_menu(user_id, rich_menu_id)
    params: dict[str, Any] = {"newRichMenuAliasId": alias_id, "status": status}
    return send([events.postback_event(user_id, postback_data, params)])

"""CSRF, security headers, error pages and the rule that every staff view declares its access."""

from __future__ import annotations

import logging

from flask import Flask, Response, abort, current_app, g, jsonify, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from staff.access import ACCESS_ATTR
from staff.errors import N_

log = logging.getLogger(__name__)

csrf = CSRFProtect()

# plotly.js sets two fixed style attributes (an empty one, and an image-rendering probe): allowed
# by their hashes alone, checked against the installed bundle by tests/test_dashboards_csp.py.
# Its <style> elements are not needed (dashboards/plotly_css.py); scripts stay 'self' only.
PLOTLY_STYLE_ATTRIBUTES = ("'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
                           "'sha256-AR/cKIZjWPcPmBUPDA6oti9XBiTbJvz0Cro2J1VzzS8='")
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'",
    "style-src-attr 'unsafe-hashes' " + " ".join(PLOTLY_STYLE_ATTRIBUTES), "img-src 'self' data:",
    "font-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'none'",
    "form-action 'self'", "frame-ancestors 'none'",
])
DEFAULT_ERROR = N_("Something went wrong.")
ERROR_MESSAGES = {
    400: N_("The request could not be understood."),
    403: N_("You do not have access to this page."),
    404: N_("This page does not exist, or you do not have access to it."),
    405: N_("This action is not allowed here."),
    413: N_("What was sent is too large."),
    500: N_("Something went wrong on our side. Nothing was changed; please try again later."),
}


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.before_request(refuse_undeclared_views)
    app.after_request(add_security_headers)
    # Every HTTP error (not only the listed codes), and any exception a view lets escape (500),
    # gets the staff page or JSON: never Werkzeug's bare page or a stack trace.
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(500, render_error)


def is_staff_path() -> bool:
    return request.path == "/staff" or request.path.startswith("/staff/")


def refuse_undeclared_views() -> None:
    """Fail closed: a staff view without @require_role or @public is refused, not served."""
    endpoint = request.endpoint or ""
    if not is_staff_path() or endpoint.endswith(".static") or request.url_rule is None:
        return None
    view = current_app.view_functions.get(endpoint)
    if view is not None and getattr(view, ACCESS_ATTR, None) is None:
        log.error("staff view %s declares no access rule; refused", endpoint)
        abort(403)
    return None


def add_security_headers(response: Response) -> Response:
    """Keep staff pages out of caches and lock down what the pages may load."""
    if not is_staff_path():
        return response
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint and not request.endpoint.endswith(".static"):
        # Pages and downloads may hold personal data; static assets do not.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def render_error(error: HTTPException):
    """Answer staff errors as JSON under /staff/api and as a staff page elsewhere under /staff."""
    if not is_staff_path():
        return error
    code = error.code or 500
    if code >= 500:
        _rollback()
    message = gettext(ERROR_MESSAGES.get(code, DEFAULT_ERROR))
    if isinstance(error, CSRFError):
        message = gettext("This form has expired. Please reload the page and try again.")
    elif hasattr(error, "translated"):
        message = error.translated()
    if request.path.startswith("/staff/api/"):
        return jsonify(error=code, message=message), code
    return render_template("staff/error.html", code=code, message=message), code


def _rollback() -> None:
    """Roll back a failed request's session, so the error page itself can still read."""
    session = g.get("staff_db")
    if session is not None:
        session.rollback()

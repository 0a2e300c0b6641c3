"""Signing in to a running dashboard over HTTP, as a browser does, for clients that are not one.

``sign_in`` fills the sign-in form (its CSRF field and cookie included) and returns the headers
every later request sends: the session cookie, and the CSRF token that state-changing requests
(Dash callbacks are POSTs) carry as ``X-CSRFToken``.
"""

from __future__ import annotations

import http.client
import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from dashboard.guard import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, SIGN_IN
from dashboard.guard import CSRF_FIELD as CSRF_FORM_FIELD

CSRF_FIELD = re.compile(rf'name="{CSRF_FORM_FIELD}" value="([^"]+)"')  # the form's hidden field


class SignInFailed(RuntimeError):
    """The dashboard did not sign this user in (wrong password, throttled, down)."""


def sign_in(host: str, port: int, username: str, password: str, *, timeout: float = 30.0) -> dict[str, str]:
    """The headers of a session of ``username`` on the dashboard at ``host:port``."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", SIGN_IN)
        form = conn.getresponse()
        page = form.read().decode()
        cookies = _cookies(form)
        field = CSRF_FIELD.search(page)
        if form.status != 200 or field is None:
            msg = f"GET {SIGN_IN} answered {form.status} without a sign-in form"
            raise SignInFailed(msg)
        body = urlencode({"username": username, "password": password, CSRF_FORM_FIELD: field[1], "next": "/"})
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": _header(cookies)}
        conn.request("POST", SIGN_IN, body=body, headers=headers)
        answer = conn.getresponse()
        answer.read()
        cookies.update(_cookies(answer))
    finally:
        conn.close()
    if answer.status != 302 or SESSION_COOKIE not in cookies or CSRF_COOKIE not in cookies:
        msg = f"signing in {username!r} answered {answer.status}"
        raise SignInFailed(msg)
    return {"Cookie": _header(cookies), CSRF_HEADER: cookies[CSRF_COOKIE]}


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for line in response.headers.get_all("Set-Cookie") or []:
        jar.load(line)
    return {name: morsel.value for name, morsel in jar.items()}


def _header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())

"""Login in front of every route of the dashboard's server: an ASGI middleware for Streamlit's ``st.App``.

``glasswing serve`` runs the dashboard through :mod:`glasswing.dashboard.server` (Streamlit's ASGI entry
point), which puts :class:`LoginMiddleware` before all of Streamlit's own routes: the page, the websocket,
uploads, ``/media``, components and static files. Before login, only the login page, ``/logout`` and
``/_stcore/health`` answer; a page request is redirected to the login page and everything else gets 401.

Two modes:

``password``
    The server knows only a salted scrypt hash of the password (:func:`hash_password`). A correct password
    starts a server-side session (a random id in a signed, ``HttpOnly``, ``SameSite=Strict`` cookie;
    :func:`logout` ends it). Failed attempts are throttled per client address and overall
    (:class:`Throttle`), and answered 429 with ``Retry-After`` while the limit holds, even for the right
    password.
``oidc``
    Streamlit's own OIDC login (``st.login``'s routes ``/auth/login``, ``/oauth2callback``,
    ``/auth/logout`` and its signed ``_streamlit_user`` cookie, configured in ``.streamlit/secrets.toml``).
    The middleware lets those routes through and requires a valid identity cookie for every other one.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import html
import json
import logging
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, quote, urlsplit

log = logging.getLogger(__name__)

PASSWORD, OIDC = "password", "oidc"
#: What ``glasswing serve`` hands the server: the login mode, and the password only as a scrypt hash.
AUTH_MODE_ENV, PASSWORD_HASH_ENV = "GLASSWING_AUTH", "GLASSWING_PASSWORD_SCRYPT"
COOKIE = "glasswing_session"
LOGIN, LOGOUT, HEALTH = "/login", "/logout", "/_stcore/health"
OIDC_ROUTES = ("/auth/login", "/auth/logout", "/oauth2callback")
SESSION_HOURS = 12
MAX_SESSIONS = 1000
MAX_FORM_BYTES = 4096

#: scrypt cost: N=2**15, r=8, p=3 is one of OWASP's recommended settings (32 MiB, about 0.3 s here).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 3
_SCRYPT_MAXMEM = 64 * 2**20

WRONG_PASSWORD = "That password is not right; ask whoever started the server."
THROTTLED = "Too many wrong passwords; wait {seconds} seconds and try again."
NOT_LOGGED_IN = "Log in first: open the dashboard's address in a browser."
NO_AUTHLIB = "OIDC login needs the Authlib package on the server (pip install 'Authlib>=1.3.2')."
BAD_HASH = "GLASSWING_PASSWORD_SCRYPT is not a password hash made by glasswing serve."


# ------------------------------------------------------------------------------------------ hashing
def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Return a salted scrypt hash of ``password`` as one string (``scrypt$N$r$p$salt$hash``, base64).

    Examples
    --------
    >>> encoded = hash_password("correct horse", salt=b"0123456789abcdef")
    >>> encoded.split("$")[:4]
    ['scrypt', '32768', '8', '3']
    >>> verify_password("correct horse", encoded), verify_password("wrong", encoded)
    (True, False)
    """
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=_SCRYPT_MAXMEM, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def _parse_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        return int(n), int(r), int(p), base64.b64decode(salt), base64.b64decode(digest)
    except ValueError as err:
        raise ValueError(BAD_HASH) from err


def check_hash(encoded: str) -> None:
    """Raise ``ValueError`` (one sentence) unless ``encoded`` is a hash made by :func:`hash_password`."""
    _parse_hash(encoded)


def verify_password(password: str, encoded: str) -> bool:
    """Return whether ``password`` matches the scrypt hash ``encoded`` (constant-time comparison)."""
    n, r, p, salt, digest = _parse_hash(encoded)
    candidate = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                               maxmem=max(_SCRYPT_MAXMEM, 129 * n * r * p), dklen=len(digest))
    return hmac.compare_digest(candidate, digest)


# ------------------------------------------------------------------------------------------ throttle
@dataclass
class Throttle:
    """Limit failed logins: ``per_client`` per client address and ``overall`` in total, per ``window`` s.

    While a limit is reached every attempt is refused (the right password too) until the oldest failure
    that counts leaves the window. An address behind a shared proxy counts as one client.

    Examples
    --------
    >>> t = Throttle(per_client=2, overall=10, window=60, clock=lambda: 0.0)
    >>> t.wait("10.0.0.1"), t.failed("10.0.0.1"), t.failed("10.0.0.1"), t.wait("10.0.0.1")
    (0, None, None, 60)
    >>> t.wait("10.0.0.2")
    0
    """

    per_client: int = 5
    overall: int = 30
    window: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _by_client: dict[str, deque] = field(default_factory=dict, repr=False)
    _all: deque = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _expire(self, now: float) -> None:
        for q in (self._all, *self._by_client.values()):
            while q and q[0] <= now - self.window:
                q.popleft()
        for client in [c for c, q in self._by_client.items() if not q]:
            del self._by_client[client]

    def wait(self, client: str) -> int:
        """Return the seconds ``client`` must wait before its next attempt (0: it may try now)."""
        with self._lock:
            now = self.clock()
            self._expire(now)
            waits = []
            mine = self._by_client.get(client, ())
            if len(mine) >= self.per_client:
                waits.append(mine[-self.per_client] + self.window - now)
            if len(self._all) >= self.overall:
                waits.append(self._all[-self.overall] + self.window - now)
            return max(1, int(-(-max(waits) // 1))) if waits else 0

    def failed(self, client: str) -> None:
        """Count one failed attempt of ``client``."""
        with self._lock:
            now = self.clock()
            self._by_client.setdefault(client, deque()).append(now)
            self._all.append(now)


# ------------------------------------------------------------------------------------------ sessions
class Sessions:
    """Server-side login sessions: random ids, signed into the cookie, ended by logout or after 12 hours."""

    def __init__(self, secret: bytes | None = None, hours: float = SESSION_HOURS) -> None:
        from itsdangerous import URLSafeTimedSerializer

        self._signer = URLSafeTimedSerializer(secret or secrets.token_bytes(32), salt="glasswing-session")
        self._max_age = int(hours * 3600)
        self._live: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def max_age(self) -> int:
        """Lifetime of a session in seconds."""
        return self._max_age

    def start(self) -> str:
        """Start a session; return the signed cookie value."""
        sid = secrets.token_urlsafe(24)
        with self._lock:
            self._live[sid] = time.monotonic() + self._max_age
            while len(self._live) > MAX_SESSIONS:
                self._live.popitem(last=False)
        return self._signer.dumps(sid)

    def _sid(self, cookie: str | None) -> str | None:
        from itsdangerous import BadData

        if not cookie:
            return None
        try:
            return self._signer.loads(cookie, max_age=self._max_age)
        except BadData:
            return None

    def valid(self, cookie: str | None) -> bool:
        """Whether ``cookie`` is the signed id of a live session."""
        sid = self._sid(cookie)
        with self._lock:
            expires = self._live.get(sid) if sid else None
            if expires is not None and expires < time.monotonic():
                del self._live[sid]
                expires = None
        return expires is not None

    def end(self, cookie: str | None) -> None:
        """End the session in ``cookie`` (nothing happens for an invalid one)."""
        sid = self._sid(cookie)
        with self._lock:
            self._live.pop(sid, None)


@functools.cache
def session_store() -> Sessions:
    """Return this server process's session store (shared by the middleware and the page's Log out)."""
    return Sessions()


# ------------------------------------------------------------------------------------------ OIDC
def oidc_user(cookies: dict[str, str]) -> dict | None:
    """Return the identity in Streamlit's signed ``_streamlit_user`` cookie(s), or None when there is none.

    Verified exactly as Streamlit verifies it for ``st.user`` (its cookie secret from secrets.toml).
    """
    from streamlit.auth_util import get_cookie_with_chunks
    from streamlit.web.server.server_util import get_cookie_secret
    from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value
    from streamlit.web.server.starlette.starlette_server_config import USER_COOKIE_NAME

    secret = get_cookie_secret()

    def single(name: str) -> bytes | None:
        raw = cookies.get(name)
        return None if raw is None else decode_signed_value(secret, name, raw.encode("latin-1"))

    value = get_cookie_with_chunks(single, USER_COOKIE_NAME)
    if not value:
        return None
    try:
        user = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return user if isinstance(user, dict) and user.get("is_logged_in") else None


def oidc_providers() -> list[str]:
    """Return the OIDC providers configured under ``[auth]`` in Streamlit's secrets (``default`` first)."""
    from streamlit.runtime.secrets import secrets_singleton

    if not secrets_singleton.load_if_toml_exists():
        return []
    auth = secrets_singleton.get("auth") or {}
    named = [k for k, v in auth.items() if hasattr(v, "get") and v.get("client_id")]
    return (["default"] if auth.get("client_id") else []) + sorted(named)


# ------------------------------------------------------------------------------------------ middleware
def _cookies(scope: dict) -> dict[str, str]:
    jar = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header counts as no cookie
                continue
    return {k: m.value for k, m in jar.items()}


def _safe_next(target: str | None, base: str) -> str:
    """Return ``target`` when it is a path on this server, else the app's root (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return base + "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return base + "/"
    return target


class LoginMiddleware:
    """ASGI middleware: every route needs a login except the login page, ``/logout`` and the health check.

    Parameters
    ----------
    app
        The wrapped ASGI app (Streamlit's Starlette app).
    mode : {"password", "oidc"}
        How users log in.
    password_hash : str, optional
        The :func:`hash_password` string (``password`` mode).
    throttle : Throttle, optional
        Failed-login limits (defaults: 5 per client and 30 overall per minute).
    sessions : Sessions, optional
        The session store (default: :func:`session_store`, with a random signing key: a restart logs
        everyone out).
    base_url : str
        Streamlit's ``server.baseUrlPath`` (empty for the root).
    """

    def __init__(self, app, *, mode: str = PASSWORD, password_hash: str | None = None,
                 throttle: Throttle | None = None, sessions: Sessions | None = None,
                 base_url: str = "") -> None:
        if mode not in (PASSWORD, OIDC):
            raise ValueError(f"mode must be 'password' or 'oidc', not {mode!r}")
        if mode == PASSWORD:
            if not password_hash:
                raise ValueError("password mode needs a password hash")
            check_hash(password_hash)
        self.app = app
        self.mode = mode
        self.password_hash = password_hash
        self.throttle = throttle or Throttle()
        self.sessions = sessions or session_store()
        self.base = "/" + base_url.strip("/") if base_url.strip("/") else ""
        self._verify = asyncio.Semaphore(2)  # at most two scrypt runs (32 MiB each) at a time

    # ---- plumbing
    def _path(self, scope: dict) -> str | None:
        path = scope.get("path", "")
        if self.base:
            if path != self.base and not path.startswith(self.base + "/"):
                return None
            path = path[len(self.base):] or "/"
        return path

    def logged_in(self, scope: dict) -> bool:
        """Whether the request in ``scope`` carries a valid login."""
        cookies = _cookies(scope)
        if self.mode == PASSWORD:
            return self.sessions.valid(cookies.get(COOKIE))
        return oidc_user(cookies) is not None

    async def __call__(self, scope, receive, send) -> None:
        """Let logged-in requests, the health check and the login routes through; refuse the rest."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = self._path(scope)
        if path is not None and scope["type"] == "http":
            if path == HEALTH:
                await self.app(scope, receive, send)
                return
            if path == LOGIN:
                await self._login(scope, receive, send)
                return
            if path == LOGOUT:
                await self._logout(scope, receive, send)
                return
            if self.mode == OIDC and path in OIDC_ROUTES:
                await self.app(scope, receive, send)
                return
        if self.logged_in(scope):
            await self.app(scope, receive, send)
            return
        await self._refuse(scope, receive, send, path)

    async def _refuse(self, scope, receive, send, path) -> None:
        body = NOT_LOGGED_IN.encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store")]
        if scope["type"] == "websocket":
            if "websocket.http.response" in scope.get("extensions", {}):
                await send({"type": "websocket.http.response.start", "status": 401, "headers": headers})
                await send({"type": "websocket.http.response.body", "body": body})
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        if scope["method"] in ("GET", "HEAD") and path is not None and _is_page(path):
            target = path + (("?" + scope["query_string"].decode("latin-1")) if scope.get("query_string")
                             else "")
            location = f"{self.base}{LOGIN}?next={quote(self.base + target, safe='/')}"
            await _respond(send, 303, b"", [(b"location", location.encode("latin-1")),
                                            (b"cache-control", b"no-store")])
            return
        await _respond(send, 401, body, headers)

    # ---- login page
    async def _login(self, scope, receive, send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        target = _safe_next((query.get("next") or [None])[0], self.base)
        if self.mode == OIDC:
            await _respond(send, 200, _oidc_page(self.base, target), _HTML_HEADERS)
            return
        if scope["method"] in ("GET", "HEAD"):
            await _respond(send, 200, _password_page(self.base, target), _HTML_HEADERS)
            return
        if scope["method"] != "POST":
            await _respond(send, 405, b"", [(b"allow", b"GET, POST")])
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        form = await _read_form(receive)
        if form is None:
            await _respond(send, 413, b"The login form is too large.", _TEXT_HEADERS)
            return
        target = _safe_next((form.get("next") or [None])[0], self.base)
        wait = self.throttle.wait(client)
        if wait:
            log.warning("Login throttled for %s (%d s)", client, wait)
            await _respond(send, 429, _password_page(self.base, target, THROTTLED.format(seconds=wait)),
                           [*_HTML_HEADERS, (b"retry-after", str(wait).encode())])
            return
        password = (form.get("password") or [""])[0]
        async with self._verify:
            ok = await asyncio.to_thread(verify_password, password, self.password_hash)
        if not ok:
            self.throttle.failed(client)
            log.warning("Wrong password from %s", client)
            await _respond(send, 401, _password_page(self.base, target, WRONG_PASSWORD), _HTML_HEADERS)
            return
        cookie = self._cookie(scope, self.sessions.start(), self.sessions.max_age)
        await _respond(send, 303, b"", [(b"location", target.encode("latin-1")), (b"set-cookie", cookie),
                                        (b"cache-control", b"no-store")])

    async def _logout(self, scope, receive, send) -> None:
        self.sessions.end(_cookies(scope).get(COOKIE))
        location = f"{self.base}/auth/logout" if self.mode == OIDC else f"{self.base}{LOGIN}"
        await _respond(send, 303, b"", [(b"location", location.encode()),
                                        (b"set-cookie", self._cookie(scope, "", 0)),
                                        (b"cache-control", b"no-store")])

    def _cookie(self, scope: dict, value: str, max_age: int) -> bytes:
        secure = "; Secure" if scope.get("scheme") in ("https", "wss") else ""
        return (f"{COOKIE}={value}; Path={self.base or '/'}; Max-Age={max_age}; HttpOnly; "
                f"SameSite=Strict{secure}").encode("latin-1")


def _is_page(path: str) -> bool:
    """Whether a path is (probably) a page the browser navigates to, rather than an API or an asset."""
    first = path.strip("/").split("/")[0]
    return first not in ("_stcore", "media", "component", "static", "app", "auth") and "." not in path


_HTML_HEADERS = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store"),
                 (b"x-frame-options", b"DENY"),
                 (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; "
                                              b"form-action 'self'; frame-ancestors 'none'")]
_TEXT_HEADERS = [(b"content-type", b"text/plain; charset=utf-8")]


async def _respond(send, status: int, body: bytes, headers: list) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _read_form(receive) -> dict[str, list[str]] | None:
    """Read an urlencoded form body of at most :data:`MAX_FORM_BYTES` (None when it is larger)."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        body += message.get("body", b"")
        if len(body) > MAX_FORM_BYTES:
            return None
        if not message.get("more_body"):
            break
    return parse_qs(body.decode("utf-8", errors="replace"))


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Glasswing: log in</title>
<style>
body {{ font-family: "Source Sans Pro", "DejaVu Sans", sans-serif; background: #f6f8fa; color: #1b1f23;
       display: flex; min-height: 100vh; margin: 0; align-items: center; justify-content: center; }}
main {{ background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 2rem 2.5rem;
       width: min(24rem, 90vw); }}
h1 {{ font-size: 1.6rem; margin: 0 0 .3rem; }}
p {{ margin: .4rem 0 1rem; color: #57606a; }}
label {{ display: block; font-weight: 600; margin-bottom: .3rem; }}
input[type=password] {{ width: 100%; box-sizing: border-box; font-size: 1rem; padding: .5rem;
       border: 1px solid #8c959f; border-radius: 6px; }}
button, a.button {{ margin-top: 1rem; font-size: 1rem; padding: .5rem 1.2rem; border: 0; border-radius: 6px;
       background: #1f6f8b; color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }}
.error {{ color: #a40e26; background: #ffebe9; border-radius: 6px; padding: .5rem .7rem; }}
</style></head>
<body><main><h1>Glasswing</h1>{body}</main></body></html>
"""


def _password_page(base: str, target: str, error: str = "") -> bytes:
    e = html.escape
    message = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    body = (f"<p>This dashboard is protected by a password.</p>{message}"
            f'<form method="post" action="{e(base + LOGIN)}">'
            f'<input type="hidden" name="next" value="{e(target)}">'
            '<label for="password">Password</label>'
            '<input id="password" name="password" type="password" autocomplete="current-password" '
            "autofocus required>"
            "<button type=\"submit\">Log in</button></form>")
    return _PAGE.format(body=body).encode("utf-8")


def _oidc_page(base: str, target: str) -> bytes:
    from streamlit.auth_util import encode_provider_token
    from streamlit.errors import StreamlitMissingAuthlibError

    e = html.escape
    providers = oidc_providers()
    try:
        tokens = {p: encode_provider_token(p) for p in providers}
    except StreamlitMissingAuthlibError:
        body = f'<p class="error" role="alert">{e(NO_AUTHLIB)}</p>'
        return _PAGE.format(body=body).encode("utf-8")
    if not providers:
        body = ('<p class="error" role="alert">No OIDC provider is configured: add an [auth] section to '
                ".streamlit/secrets.toml (see Streamlit's st.login documentation).</p>")
    else:
        links = "".join(
            f'<p><a class="button" href="{e(base)}/auth/login?provider={quote(tokens[p])}">'
            f"Log in{'' if p == 'default' else ' with ' + e(p)}</a></p>" for p in providers)
        body = f"<p>Log in with your organisation's account.</p>{links}"
    return _PAGE.format(body=body).encode("utf-8")


__all__ = ["COOKIE", "LoginMiddleware", "Sessions", "Throttle", "hash_password", "oidc_user",
           "session_store", "verify_password"]


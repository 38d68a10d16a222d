"""Raw HTTP against ``glasswing serve`` with a password: every route but the login page and the health
check is refused before login, uploads included; the password never reaches the server in clear or as an
unsalted hash; wrong passwords are throttled per client."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import streamlit

from glasswing.commands import serve
from glasswing.dashboard import _auth
from tests._postgres import free_port
from tests.conftest import running_server

PASSWORD = "correct horse battery staple"
STATIC = Path(streamlit.__file__).parent / "static"
ASSET = "/static/js/" + sorted(p.name for p in (STATIC / "static" / "js").glob("*.js"))[0]
WS_HEADERS = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
              "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``glasswing serve`` (the real command) with GLASSWING_PASSWORD set; yields ``(port, process)``."""
    port = free_port()
    env = {"GLASSWING_PASSWORD": PASSWORD, "GLASSWING_DATA_DIR": str(tmp_path_factory.mktemp("gwdata"))}
    command = [str(Path(sys.executable).with_name("glasswing")), "serve", "--port", str(port)]
    with running_server(command, port, tmp_path_factory.mktemp("log") / "serve.log", env=env) as (_, proc):
        yield port, proc


def request(port, method, path, *, body=None, headers=None, source="127.0.0.1"):
    """Send one request from the loopback address ``source``; return ``(status, headers, body)``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def login(port, password=PASSWORD, source="127.0.0.1", next_="/"):
    form = urlencode({"password": password, "next": next_})
    return request(port, "POST", "/login", body=form, source=source,
                   headers={"Content-Type": "application/x-www-form-urlencoded"})


def session_cookie(port) -> str:
    status, headers, _ = login(port)
    assert status == 303, status
    return headers["set-cookie"].split(";")[0]


def test_before_login_only_the_login_page_and_health_answer(server):
    port, _ = server
    assert request(port, "GET", "/_stcore/health")[::2] == (200, b"ok")
    status, headers, body = request(port, "GET", "/login")
    assert status == 200 and b'name="password"' in body and b"<script" not in body
    assert "default-src 'none'" in headers["content-security-policy"]
    # a page: redirected to the login page, which comes back to it afterwards
    status, headers, _ = request(port, "GET", "/fairness?x=1")
    assert status == 303 and headers["location"] == "/login?next=/fairness%3Fx%3D1"
    # Streamlit's own routes: all 401 before login
    for method, path, kw in [
        ("GET", "/_stcore/stream", {"headers": WS_HEADERS}),  # the websocket that runs the pages
        ("GET", "/_stcore/host-config", {}),
        ("PUT", "/_stcore/upload_file/session/file", {"body": b"x" * 1000}),
        ("DELETE", "/_stcore/upload_file/session/file", {}),
        ("GET", "/media/0123456789abcdef.png", {}),
        ("GET", "/component/some.component/index.html", {}),
        ("GET", "/app/static/x.png", {}),
        ("GET", ASSET, {}),
        ("GET", "/_stcore/metrics", {}),
        ("POST", "/_stcore/anything", {"body": b"{}"}),
    ]:
        status, _, body = request(port, method, path, **kw)
        assert (status, body.decode()) == (401, _auth.NOT_LOGGED_IN), (method, path)


def test_after_login_the_same_routes_answer(server):
    port, _ = server
    status, headers, _ = login(port, next_="/fairness")
    assert status == 303 and headers["location"] == "/fairness"
    cookie = headers["set-cookie"]
    assert cookie.startswith(_auth.COOKIE + "=")
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "path", "max-age", "samesite"} <= attributes and "SameSite=Strict" in cookie
    jar = {"Cookie": cookie.split(";")[0]}
    assert request(port, "GET", "/", headers=jar)[0] == 200
    status, _, body = request(port, "GET", ASSET, headers=jar)
    assert status == 200 and body == (STATIC / ASSET.lstrip("/")).read_bytes()
    assert request(port, "GET", "/_stcore/stream", headers={**WS_HEADERS, **jar})[0] == 101


def test_forged_and_ended_sessions_are_refused(server):
    port, _ = server
    cookie = session_cookie(port)
    name, value = cookie.split("=", 1)
    forged = [f"{name}={value[:-2]}{'AA' if value[-2:] != 'AA' else 'BB'}",  # signature changed
              f"{name}=" + _auth.Sessions(b"another key").start(),  # signed with another key
              f"{name}=" + _auth.Sessions().start()]  # right format, but not a session of this server
    for c in forged:
        assert request(port, "GET", "/", headers={"Cookie": c})[0] == 303
        assert request(port, "GET", ASSET, headers={"Cookie": c})[0] == 401
    status, headers, _ = request(port, "GET", "/logout", headers={"Cookie": cookie})
    assert status == 303 and headers["location"] == "/login" and "Max-Age=0" in headers["set-cookie"]
    assert request(port, "GET", ASSET, headers={"Cookie": cookie})[0] == 401  # ended on the server


def test_wrong_password_and_no_open_redirect(server):
    port, _ = server
    status, headers, body = login(port, password="wrong", source="127.0.0.3")
    assert status == 401 and _auth.WRONG_PASSWORD.encode() in body and "set-cookie" not in headers
    status, headers, _ = login(port, next_="//evil.example/x")
    assert status == 303 and headers["location"] == "/"
    status, headers, _ = login(port, next_="http://evil.example/x")
    assert status == 303 and headers["location"] == "/"
    assert request(port, "POST", "/login", body=b"password=" + b"x" * 10_000,
                   headers={"Content-Type": "application/x-www-form-urlencoded"})[0] == 413


def test_failed_logins_are_throttled_per_client(server):
    port, _ = server
    attacker = "127.0.0.2"
    for _ in range(_auth.Throttle.per_client):
        assert login(port, password="guess", source=attacker)[0] == 401
    status, headers, body = login(port, source=attacker)  # even the right password, for a while
    assert status == 429 and 1 <= int(headers["retry-after"]) <= 60
    assert b"Too many wrong passwords; wait" in body and "set-cookie" not in headers
    assert login(port)[0] == 303  # another client is not locked out


def test_uploads_before_login_are_not_read(server):
    """Ten 50 MB uploads before login: each refused, and the server does not grow by their size."""
    port, proc = server

    def rss_mb() -> float:
        status = Path(f"/proc/{proc.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024

    before = rss_mb()
    chunk = b"\0" * (1 << 20)
    for i in range(10):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            head = (f"PUT /_stcore/upload_file/s/f{i} HTTP/1.1\r\nHost: x\r\n"
                    f"Content-Type: application/octet-stream\r\nContent-Length: {50 << 20}\r\n\r\n")
            s.sendall(head.encode())
            try:
                for _ in range(50):
                    s.sendall(chunk)
            except OSError:  # the server answered and closed without reading the body
                pass
            try:
                answer = s.recv(200)
            except OSError:
                answer = b""
            assert answer.startswith(b"HTTP/1.1 401"), answer
    time.sleep(0.5)
    assert rss_mb() - before < 40, (before, rss_mb())
    assert request(port, "GET", "/_stcore/health")[0] == 200


def test_the_server_holds_only_a_salted_scrypt_hash(server):
    port, proc = server
    environ = dict(line.split("=", 1) for line in
                   Path(f"/proc/{proc.pid}/environ").read_bytes().decode().split("\0") if "=" in line)
    assert "GLASSWING_PASSWORD" not in environ
    assert PASSWORD not in "".join(environ.values())
    assert hashlib.sha256(PASSWORD.encode()).hexdigest() not in "".join(environ.values())
    scheme, n, r, p, salt, digest = environ[_auth.PASSWORD_HASH_ENV].split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", 2**15, 8, 3) and len(base64.b64decode(salt)) == 16
    # the independent check: hashlib's scrypt on the same salt gives the same digest
    expected = hashlib.scrypt(PASSWORD.encode(), salt=base64.b64decode(salt), n=2**15, r=8, p=3,
                              maxmem=64 << 20, dklen=32)
    assert base64.b64decode(digest) == expected
    assert _auth.hash_password(PASSWORD) != _auth.hash_password(PASSWORD)  # a fresh salt each time


@pytest.mark.parametrize("argv, env, message", [
    (["--host", "0.0.0.0"], {}, serve.NEEDS_PASSWORD.format(host="0.0.0.0")),
    (["--auth", "password"], {}, serve.NO_PASSWORD),
])
def test_serve_refuses_without_a_password(argv, env, message, tmp_path):
    clean = {k: v for k, v in os.environ.items() if k != "GLASSWING_PASSWORD"}
    done = subprocess.run([str(Path(sys.executable).with_name("glasswing")), "serve", *argv], cwd=tmp_path,
                          env={**clean, **env}, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr.strip()) == (2, f"glasswing: error: {message}")


def test_the_login_page_returns_to_a_page_on_this_server_only():
    assert _auth._safe_next("/review?x=1", "") == "/review?x=1"
    for bad in ["//evil.example", "https://evil.example/", "/\\evil.example", "evil", "", None]:
        assert _auth._safe_next(bad, "") == "/"
    assert urlsplit(_auth._safe_next("//x", "/gw")).path == "/gw/"

"""OIDC mode: Streamlit's own login routes stay open, every other route needs Streamlit's signed identity
cookie (``_streamlit_user``, as its ``/oauth2callback`` sets it), and ``st.user`` reaches the pages.

No identity provider runs here, so the test signs the cookie with Streamlit's own function and the
cookie secret from ``secrets.toml``, exactly as Streamlit's callback does after a provider's answer.
"""

from __future__ import annotations

import html
import importlib.util
import json
import re

import pytest
from streamlit.web.server.starlette.starlette_app_utils import create_signed_value

from glasswing.commands.serve import streamlit_command
from glasswing.dashboard import _auth
from tests._postgres import free_port
from tests.conftest import running_server
from tests.security.test_login_http import ASSET, WS_HEADERS, request

SECRET = "a-cookie-secret-for-the-tests-only-0123456789"
USER = {"email": "ada@example.org", "name": "Ada", "sub": "1"}


@pytest.fixture(scope="module")
def oidc_server(tmp_path_factory):
    """The dashboard's server in OIDC mode, started in a folder whose ``.streamlit/secrets.toml`` says how."""
    port = free_port()
    work = tmp_path_factory.mktemp("oidc")
    (work / ".streamlit").mkdir()
    (work / ".streamlit" / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{SECRET}"\n'
        'client_id = "glasswing-tests"\nclient_secret = "not-used"\n'
        'server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"\n')
    env = {_auth.AUTH_MODE_ENV: _auth.OIDC, "GLASSWING_DATA_DIR": str(work / "data")}
    with running_server(streamlit_command("127.0.0.1", port), port, work / "server.log", env=env,
                        cwd=work) as (_, proc):
        yield port


def identity(port, *, secret=SECRET, logged_in=True) -> str:
    payload = dict(USER, origin=f"http://127.0.0.1:{port}", is_logged_in=logged_in, provider="default")
    value = create_signed_value(secret, "_streamlit_user", json.dumps(payload)).decode()
    return f"_streamlit_user={value}"


def test_before_login_only_the_login_routes_answer(oidc_server):
    port = oidc_server
    assert request(port, "GET", "/")[0] == 303
    status, _, body = request(port, "GET", "/login")
    if importlib.util.find_spec("authlib") is None:
        assert status == 200 and html.escape(_auth.NO_AUTHLIB).encode() in body
    else:
        assert status == 200 and b'href="/auth/login?provider=' in body
    # Streamlit's own OIDC routes are its business (here: back to the app without a provider token)
    assert request(port, "GET", "/auth/login")[0] == 302
    for path, headers in [(ASSET, {}), ("/_stcore/stream", WS_HEADERS), ("/_stcore/host-config", {})]:
        assert request(port, "GET", path, headers=headers)[0] == 401, path


def test_streamlits_identity_cookie_lets_a_user_in(oidc_server):
    port = oidc_server
    jar = {"Cookie": identity(port)}
    assert request(port, "GET", "/", headers=jar)[0] == 200
    assert request(port, "GET", ASSET, headers=jar)[0] == 200
    assert request(port, "GET", "/_stcore/stream", headers={**WS_HEADERS, **jar})[0] == 101
    for bad in [identity(port, secret="another secret"), identity(port, logged_in=False),
                "_streamlit_user=" + json.dumps(USER)]:
        assert request(port, "GET", ASSET, headers={"Cookie": bad})[0] == 401


@pytest.mark.browser
def test_the_page_shows_who_is_logged_in(oidc_server, browser):
    port = oidc_server
    ctx = browser.new_context()
    name, value = identity(port).split("=", 1)
    ctx.add_cookies([{"name": name, "value": value, "url": f"http://127.0.0.1:{port}"}])
    page = ctx.new_page()
    page.goto(f"http://127.0.0.1:{port}/")
    # (an invisible word joiner before the @ keeps the address from becoming a mailto link)
    page.get_by_text(re.compile("Logged in as ada\u2060?@example.org")).wait_for(timeout=60_000)
    page.get_by_role("button", name="Log out").wait_for()
    ctx.close()

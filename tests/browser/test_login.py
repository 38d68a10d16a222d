"""Logging in to ``glasswing serve`` with a password in headless Chromium: the login page first, a wrong
password said in one sentence, the dashboard after the right one (websocket, samples, media), media
refused to a browser that has not logged in, Log out, and no request to any other host."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from glasswing.dashboard import _auth, _sidebar
from tests._postgres import free_port
from tests.conftest import running_server, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "a long passphrase for the browser test"


@pytest.fixture(scope="module")
def login_url(tmp_path_factory):
    port = free_port()
    env = {"GLASSWING_PASSWORD": PASSWORD, "GLASSWING_DATA_DIR": str(tmp_path_factory.mktemp("gwdata"))}
    command = [str(Path(sys.executable).with_name("glasswing")), "serve", "--port", str(port)]
    with running_server(command, port, tmp_path_factory.mktemp("log") / "serve.log", env=env) as (url, _):
        yield url


def test_log_in_use_the_dashboard_and_log_out(browser, login_url, tmp_path):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    foreign = []
    ctx.on("request", lambda r: urlsplit(r.url).hostname not in ("127.0.0.1", None)
           and not r.url.startswith(("data:", "blob:")) and foreign.append(r.url))
    page = ctx.new_page()
    page.set_default_timeout(60_000)

    page.goto(login_url + "/")
    assert urlsplit(page.url).path == "/login"
    page.get_by_label("Password").wait_for()
    page.screenshot(path=tmp_path / "login.png")
    page.get_by_label("Password").fill("not it")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").wait_for()
    assert page.get_by_role("alert").inner_text() == _auth.WRONG_PASSWORD
    page.screenshot(path=tmp_path / "login_wrong.png")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Model & data").wait_for()
    cookie = next(c for c in ctx.cookies() if c["name"] == _auth.COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # the websocket works: load the digits sample, whose images come from /media/
    page.get_by_text("Digits images, CNN").click()
    page.get_by_role("button", name="Use the samples").click()
    page.get_by_role("heading", name="Images", exact=True).wait_for()
    wait_idle(page)
    src = page.locator("[data-testid='stImage'] img").first.get_attribute("src")
    media = src if src.startswith("http") else login_url + src
    assert urlsplit(media).path.startswith("/media/")
    assert ctx.request.get(media).status == 200
    stranger = browser.new_context()
    assert stranger.request.get(media).status == 401  # the same URL, without the login
    stranger.close()

    page.get_by_role("button", name="Log out").click()
    page.get_by_text(_sidebar.LOGGED_OUT).wait_for()
    assert ctx.request.get(media).status == 401  # the session ended on the server
    page.reload()
    page.get_by_label("Password").wait_for()
    assert urlsplit(page.url).path == "/login"
    assert foreign == []
    ctx.close()

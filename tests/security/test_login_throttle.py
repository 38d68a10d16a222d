"""The login throttle and session store on their own, with a hand-driven clock: per-client and overall
limits, refusals while a limit holds, the window sliding, sessions ending; and the middleware's overall
limit across many client addresses, driven through its ASGI interface."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from glasswing.dashboard import _auth


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_per_client_limit_and_window():
    clock = Clock()
    t = _auth.Throttle(per_client=3, overall=100, window=60, clock=clock)
    for _ in range(3):
        assert t.wait("a") == 0
        t.failed("a")
        clock.now += 10
    # 3 failures at 1000, 1010, 1020; now 1030: the first leaves the window at 1060
    assert t.wait("a") == 30 and t.wait("b") == 0
    clock.now = 1059.5
    assert t.wait("a") == 1
    clock.now = 1060.0
    assert t.wait("a") == 0  # one failure left the window: one more attempt allowed
    t.failed("a")
    assert t.wait("a") == 10  # now 1010 is the oldest of the last three


def test_overall_limit_holds_for_every_client():
    clock = Clock()
    t = _auth.Throttle(per_client=5, overall=10, window=60, clock=clock)
    for i in range(10):  # ten clients, one failure each: no client reaches its own limit
        t.failed(f"10.0.0.{i}")
    assert t.wait("10.0.0.1") == 60 and t.wait("192.168.1.1") == 60
    clock.now += 60
    assert t.wait("192.168.1.1") == 0


def test_sessions_end_and_expire():
    s = _auth.Sessions(b"k" * 32, hours=1)
    cookie = s.start()
    assert s.valid(cookie) and not s.valid(cookie + "x") and not s.valid(None)
    s.end(cookie)
    assert not s.valid(cookie)
    assert not _auth.Sessions(b"k" * 32, hours=0).valid(_auth.Sessions(b"k" * 32, hours=0).start())


def _post(app, client: str, password: str) -> tuple[int, dict]:
    """Drive one POST /login through the ASGI middleware; return (status, headers)."""
    body = urlencode({"password": password}).encode()
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/login", "query_string": b"", "headers": [],
             "client": (client, 1234), "scheme": "http"}
    with ThreadPoolExecutor(1) as pool:  # its own event loop (a browser test may run one in this thread)
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}


def test_the_middleware_refuses_everyone_past_the_overall_limit():
    async def never(scope, receive, send):  # the wrapped app: a login attempt never reaches it
        raise AssertionError("reached the app")

    app = _auth.LoginMiddleware(never, password_hash=_auth.hash_password("right"),
                                throttle=_auth.Throttle(per_client=5, overall=6, window=60),
                                sessions=_auth.Sessions())
    for i in range(6):
        assert _post(app, f"10.1.0.{i}", "guess")[0] == 401
    status, headers = _post(app, "10.9.9.9", "right")  # a new client, the right password: still refused
    assert status == 429 and 30 <= int(headers["retry-after"]) <= 60 and "set-cookie" not in headers

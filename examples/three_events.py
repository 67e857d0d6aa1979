#!/usr/bin/env python3
"""The three game-state events of Chorus, through the bridge: broadcast, send_message,
buy_good. Python standard library only; it speaks the bridge's TCP line protocol (one JSON
frame per line), the same frames a browser sends over WebSocket.

    scripts/run                       # in another terminal
    python3 examples/three_events.py  # CHORUS_TCP_ADDR=127.0.0.1:7070 by default

It signs up two players, ann and bob (fresh names each run), and then:

1. broadcast:    both ask the matchmaker for tic-tac-toe (svc.mm.join), hear of their room
                 on user.{uid}.match, subscribe to room.{rid}.state; the player to move
                 plays the centre (svc.rooms.input) and both receive the new state.
                 Skipped, saying so, when no matchmaker and rooms worker serve.
2. send_message: bob listens on user.{bob}.dm; ann sends him a DM (svc.chat.dm).
3. buy_good:     ann listens on user.{ann}.wallet and buys the cheapest good
                 (svc.store.buy with a fresh idempotency key), then retries with the same
                 key and gets the same answer: one purchase.

Exits 0 when send_message and buy_good worked (and broadcast worked or was skipped).
"""

import json
import os
import socket
import sys
import time
import uuid

ADDR = os.environ.get("CHORUS_TCP_ADDR", "127.0.0.1:7070")
WAIT = 10.0  # seconds to wait for any one answer or message


class Conn:
    """One TCP-line connection to the bridge: frames out, frames in, msgs kept aside."""

    def __init__(self, token=None):
        host, port = ADDR.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=WAIT)
        self.buf = b""
        self.msgs = []  # msg frames that arrived while waiting for something else
        self.next_id = 0
        first = {"op": "auth", "token": token} if token else {"op": "ping", "id": "hello"}
        self.send(first)
        self.user = self.wait(lambda f: f.get("op") == "welcome")["user"]

    def send(self, frame):
        self.sock.sendall((json.dumps(frame) + "\n").encode())

    def read(self, deadline):
        while b"\n" not in self.buf:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the bridge closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line) if line.strip() else None

    def wait(self, wanted, timeout=WAIT):
        """The first frame (kept msgs first) for which wanted(frame) holds."""
        for f in self.msgs:
            if wanted(f):
                self.msgs.remove(f)
                return f
        deadline = time.monotonic() + timeout
        while True:
            f = self.read(deadline)
            if f is None:
                continue
            if wanted(f):
                return f
            if f.get("op") == "msg":
                self.msgs.append(f)

    def call(self, op, **fields):
        """Sends a frame with a fresh id; its `ok`/`reply`/`err`."""
        self.next_id += 1
        frame = {"op": op, "id": str(self.next_id), **fields}
        self.send(frame)
        return self.wait(lambda f: f.get("id") == frame["id"] and f.get("op") != "welcome")

    def req(self, subject, data=None):
        return self.call("req", subject=subject, data=data if data is not None else {})

    def sub(self, subject):
        answer = self.call("sub", subject=subject)
        assert answer["op"] == "ok", answer
        return answer

    def msg(self, subject, timeout=WAIT):
        return self.wait(lambda f: f.get("op") == "msg" and f.get("subject") == subject, timeout)


def show(label, frame):
    print(f"  {label}: {json.dumps(frame)}")


def sign_up(name):
    guest = Conn()
    creds = {"name": name, "password": "example-password"}
    answer = guest.req("svc.accounts.signup", creds)
    assert answer["op"] == "reply", answer
    login = guest.req("svc.accounts.login", creds)
    assert login["op"] == "reply", login
    return Conn(login["data"]["access_token"])


def broadcast(ann, bob):
    print("1. broadcast: room.{rid}.state, to everyone in the room")
    for p in (ann, bob):
        p.sub(f"user.{p.user['id']}.match")
    for p in (ann, bob):
        joined = p.req("svc.mm.join", {"game": "tictactoe"})
        if joined["op"] != "reply":
            print(f"  skipped: svc.mm.join answered {joined.get('code')} ({joined.get('message')})")
            return False
    matches = {}
    for p in (ann, bob):
        try:
            matches[p.user["id"]] = p.msg(f"user.{p.user['id']}.match")["data"]
        except (socket.timeout, TimeoutError):
            print("  skipped: no match within 10 s (is the matchmaker running?)")
            return False
    room = matches[ann.user["id"]]["room"]
    show("ann hears of her room", matches[ann.user["id"]])
    for p in (ann, bob):
        p.sub(f"room.{room}.state")
    state = ann.req("svc.rooms.state", {"room": room})
    assert state["op"] == "reply", state
    mover = ann if state["data"]["state"]["turn"] == ann.user["id"] else bob
    moved = mover.req("svc.rooms.input", {"room": room, "input": {"cell": 4}})
    assert moved["op"] == "reply", moved
    show(f"{mover.user['name']} plays the centre", moved)
    for p in (ann, bob):
        seen = p.wait(lambda f: f.get("op") == "msg" and f.get("subject") == f"room.{room}.state"
                      and f["data"].get("seq", 0) >= moved["data"]["seq"])
        show(f"{p.user['name']} receives", seen)
    return True


def send_message(ann, bob):
    print("2. send_message: user.{uid}.dm, to one player")
    bob.sub(f"user.{bob.user['id']}.dm")
    sent = ann.req("svc.chat.dm", {"to": bob.user["id"], "text": "good game"})
    assert sent["op"] == "reply", sent
    show("ann's reply", sent)
    show("bob receives", bob.msg(f"user.{bob.user['id']}.dm"))


def buy_good(ann):
    print("3. buy_good: svc.store.buy, exactly once per idempotency key")
    ann.sub(f"user.{ann.user['id']}.wallet")
    catalog = ann.req("svc.store.catalog")
    assert catalog["op"] == "reply", catalog
    good = min(catalog["data"]["goods"], key=lambda g: g["price"])
    key = str(uuid.uuid4())
    first = ann.req("svc.store.buy", {"good": good["id"], "idempotency_key": key})
    assert first["op"] == "reply", first
    show(f"ann buys {good['id']}", first)
    again = ann.req("svc.store.buy", {"good": good["id"], "idempotency_key": key})
    assert again["data"] == first["data"], (again, first)
    show("the retry, same key", again)
    while True:  # the wallet's opening (a grant, on a first store call), then the purchase
        told = ann.msg(f"user.{ann.user['id']}.wallet")
        show("ann's wallet tells", told)
        if told["data"]["reason"] == "purchase":
            break
    wallet = ann.req("svc.store.wallet")
    show("svc.store.wallet", wallet["data"])


def main():
    suffix = uuid.uuid4().hex[:6]
    ann, bob = sign_up(f"ann-{suffix}"), sign_up(f"bob-{suffix}")
    print(f"signed up {ann.user['name']} (id {ann.user['id']}) and {bob.user['name']} (id {bob.user['id']})")
    broadcast(ann, bob)
    send_message(ann, bob)
    buy_good(ann)
    print("done")


if __name__ == "__main__":
    try:
        main()
    except (ConnectionError, OSError, AssertionError) as e:
        sys.exit(f"failed: {e!r}")

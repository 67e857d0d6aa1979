#!/usr/bin/env python3
"""chorus_device: a small device as a Chorus player. A Raspberry Pi with four buttons (or a
laptop with a keyboard) signs in with its device token, is matched into a coin-arena room,
steers with its buttons and prints the room's state, one short line at a time.

Python standard library only. It speaks the bridge's TCP line protocol: one JSON frame per
line, the same frames a browser sends over WebSocket (see protocol/PROTOCOL.md).

    python3 chorus_device.py pair --name pi-kitchen --signup   # once: a device token
    python3 chorus_device.py play                              # then: play, again and again
    python3 chorus_device.py play --guest                      # or without an account
    python3 chorus_device.py play --guest --code K7Q2FX        # or steer a seat by its code

Buttons: with --gpio (and gpiozero installed, as on Raspberry Pi OS) four push buttons on the
BCM pins of --pins (up,down,left,right; default 17,27,22,23) steer while held. Without it,
type a direction and Enter: w/a/s/d or up/left/down/right, x or stop to stand still.

With --code it joins no queue: it claims the code a big screen shows (`svc.rooms.claim`)
and steers that seat, as a phone does.

It reconnects by itself (exponential backoff with full jitter), signs in again, takes its
room back with svc.rooms.state and goes on; the access token is refreshed on the live
connection before it expires. Settings: CHORUS_TCP_ADDR (127.0.0.1:7070),
CHORUS_DEVICE_TOKEN_FILE (~/.config/chorus/device.json), CHORUS_DEVICE_PASSWORD (for pair).
"""

import argparse
import base64
import getpass
import json
import os
import queue
import random
import select
import socket
import sys
import threading
import time

WAIT = 10.0  # seconds to wait for an answer
DIRECTIONS = {
    "w": (0, -1), "up": (0, -1), "s": (0, 1), "down": (0, 1),
    "a": (-1, 0), "left": (-1, 0), "d": (1, 0), "right": (1, 0),
    "x": (0, 0), "stop": (0, 0),
}


def say(text):
    print(text, flush=True)


class Closed(Exception):
    """The connection is gone; the caller reconnects."""


class Refused(Exception):
    """The platform said no (an `err` frame): `code` and message."""

    def __init__(self, frame):
        super().__init__(f"{frame.get('code')}: {frame.get('message')}")
        self.code = frame.get("code")


class Link:
    """One TCP-line connection to the bridge: frames out, frames in; `msg` frames that arrive
    while waiting for an answer are kept for later."""

    def __init__(self, addr, first):
        host, port = addr.rsplit(":", 1)
        try:
            self.sock = socket.create_connection((host, int(port)), timeout=WAIT)
        except OSError as e:
            raise Closed(f"cannot reach {addr}: {e}") from e
        self.buf = b""
        self.kept = []
        self.ids = 0
        self.send(first)
        welcome = self.wait(lambda f: f.get("op") in ("welcome", "err"))
        if welcome["op"] == "err":
            raise Refused(welcome)
        self.user = welcome["user"]

    def send(self, frame):
        try:
            self.sock.sendall((json.dumps(frame) + "\n").encode())
        except OSError as e:
            raise Closed(str(e)) from e

    def frame(self, timeout):
        """The next frame, or None when none came within `timeout` seconds."""
        while b"\n" not in self.buf:
            ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
            if not ready:
                return None
            try:
                chunk = self.sock.recv(65536)
            except OSError as e:
                raise Closed(str(e)) from e
            if not chunk:
                raise Closed("the bridge closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line) if line.strip() else self.frame(0)

    def wait(self, wanted, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            f = self.frame(deadline - time.monotonic())
            if f is None:
                raise Closed("no answer in time")
            if wanted(f):
                return f
            if f.get("op") == "msg":
                self.kept.append(f)

    def call(self, op, **fields):
        """Sends a frame with a fresh id; returns its answer, raising Refused on `err`."""
        self.ids += 1
        frame = {"op": op, "id": str(self.ids), **fields}
        self.send(frame)
        answer = self.wait(lambda f: f.get("id") == frame["id"])
        if answer["op"] == "err":
            raise Refused(answer)
        return answer

    def req(self, subject, data=None):
        return self.call("req", subject=subject, data=data or {})["data"]

    def sub(self, subject):
        self.call("sub", subject=subject)

    def pub(self, subject, data):
        self.send({"op": "pub", "subject": subject, "data": data})

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class DeviceToken:
    """The device's refresh token in a file only its owner reads. Refresh tokens rotate: each
    works once, so every exchange writes the new one back at once."""

    def __init__(self, path):
        self.path = os.path.expanduser(path)

    def load(self):
        try:
            with open(self.path) as f:
                return json.load(f)["refresh_token"]
        except (OSError, ValueError, KeyError):
            return None

    def save(self, refresh_token):
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"refresh_token": refresh_token}, f)
        os.replace(tmp, self.path)


def token_expiry(access_token):
    """The `exp` claim of a JWT (read, not verified: the bridge verifies it)."""
    payload = access_token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))["exp"]


class Player:
    """Signs in, queues, plays; on any loss of the connection, starts over from where it was."""

    def __init__(self, args, buttons):
        self.args = args
        self.buttons = buttons
        self.token = None if args.guest else DeviceToken(args.token_file)
        self.access = None
        self.link = None
        self.room = None
        self.me = None
        self.seat = None  # whose disc this device steers: its own, or a claimed seat's
        self.resume = None  # the secret that takes a claimed seat back after a reconnect
        self.direction = (0, 0)
        self.n = 0
        self.shown = None
        self.shown_at = 0.0

    # ── signing in ──
    def connect(self):
        if self.token is None:
            self.link = Link(self.args.addr, {"op": "ping", "id": "hello"})
        else:
            if not self.access or token_expiry(self.access) - time.time() < 60:
                self.access = self.exchange(Link(self.args.addr, {"op": "ping", "id": "hello"}))
            self.link = Link(self.args.addr, {"op": "auth", "token": self.access})
        self.me = self.link.user
        say(f"connected as {self.me['name']} ({self.me['ns']})")

    def exchange(self, link):
        """A fresh access token for the device token, over `link` (closed afterwards when a
        guest link, kept when it is the live one)."""
        refresh = self.token.load()
        if not refresh:
            raise SystemExit(f"no device token in {self.token.path}: run `chorus_device.py pair` first")
        try:
            pair = link.req("svc.accounts.refresh", {"refresh_token": refresh})
        except Refused as e:
            raise SystemExit(f"the device token was refused ({e}): pair the device again") from e
        finally:
            if link is not self.link:
                link.close()
        self.token.save(pair["refresh_token"])
        return pair["access_token"]

    def keep_token_fresh(self):
        if self.token is not None and token_expiry(self.access) - time.time() < 60:
            self.access = self.exchange(self.link)
            self.link.call("auth", token=self.access)

    # ── a room ──
    def find_room(self):
        if self.args.code:
            claimed = self.link.req("svc.rooms.claim", {"code": self.args.code})
            self.room, self.seat, self.resume = claimed["room"], claimed["seat"]["id"], claimed["resume"]
            say(f"claimed: room {self.room}, steering {claimed['seat']['name']}")
            return
        self.seat = self.me["id"]
        inbox = f"user.{self.me['id']}.match"
        self.link.sub(inbox)
        self.link.req("svc.mm.join", {"game": self.args.game})
        say(f"queued for {self.args.game}")
        match = self.link.wait(lambda f: f.get("op") == "msg" and f.get("subject") == inbox, timeout=600)
        self.room = match["data"]["room"]
        names = ", ".join(p.get("name", p.get("id", "?")) for p in match["data"]["players"])
        say(f"matched: room {self.room} with {names}")

    def enter_room(self):
        if self.resume:
            # A new connection may be a new guest: the secret gives the seat back.
            self.link.req("svc.rooms.claim", {"room": self.room, "resume": self.resume})
        self.link.sub(f"room.{self.room}.state")
        reply = self.link.req("svc.rooms.state", {"room": self.room})
        self.show(reply["state"], force=True)
        self.steer(self.direction, reconnected=True)
        return reply["state"]

    def steer(self, direction, reconnected=False):
        if direction == self.direction and not reconnected:
            return
        self.direction = direction
        self.n += 1
        dx, dy = direction
        self.link.pub(f"room.{self.room}.input", {"n": self.n, "dx": dx, "dy": dy})

    def show(self, state, force=False):
        players = state.get("players", [])
        mine = next((p for p in players if p["id"] == self.seat), None)
        if mine is not None:
            self.n = max(self.n, mine.get("last_n", 0))
        line = "  ".join(
            f"{'you' if p['id'] == self.seat else p.get('name', p['id'])}={p['x']},{p['y']} *{p['score']}"
            + (" out" if p.get("out") else "")
            for p in players
        )
        now = time.monotonic()
        if force or (line != self.shown and now - self.shown_at >= self.args.every):
            secs = state.get("time_ms", 0) / 1000
            say(f"t={secs:5.1f}s  {line}")
            self.shown, self.shown_at = line, now

    def play(self):
        """Plays until the room is over; True when it is."""
        state = self.enter_room()
        subject = f"room.{self.room}.state"
        while not over(state):
            for f in self.link.kept:
                if f.get("subject") == subject:
                    state = f["data"].get("state", state)
            self.link.kept.clear()
            f = self.link.frame(0.05)
            if f is not None and f.get("op") == "msg" and f.get("subject") == subject:
                state = f["data"].get("state", state)
                self.show(state)
            elif f is not None and f.get("op") == "err":
                say(f"error: {f.get('code')}: {f.get('message')}")
            while True:
                try:
                    self.steer(self.buttons.get_nowait())
                except queue.Empty:
                    break
            self.keep_token_fresh()
        self.show(state, force=True)
        winner = state.get("winner")
        if state.get("draw"):
            say("game over: a draw")
        elif winner == self.seat:
            say("game over: you win")
        else:
            name = next((p.get("name", winner) for p in state["players"] if p["id"] == winner), winner)
            say(f"game over: {name} wins")
        return True

    # ── the loop ──
    def run(self):
        failures = 0
        while True:
            try:
                self.connect()
                if self.room is None:
                    self.find_room()
                self.play()
                self.room, self.resume = None, None
                if self.args.code:
                    return
                failures = 0
                if not self.args.again:
                    return
            except Closed as e:
                failures += 1
                delay = random.uniform(0, min(10.0, 0.5 * 2 ** failures))
                say(f"connection lost ({e}); reconnecting in {delay:.1f}s")
                time.sleep(delay)
            except Refused as e:
                # A room that ended, or one a guest lost with its old id on reconnecting.
                if e.code in ("not_found", "forbidden") and self.room is not None and not self.args.code:
                    say(f"the room is gone ({e}); queueing again")
                    self.room = None
                    continue
                raise SystemExit(f"refused: {e}") from e
            finally:
                if self.link is not None:
                    self.link.close()
                    self.link = None


def over(state):
    return bool(state.get("winner")) or bool(state.get("draw"))


def stdin_buttons(out):
    """Lines typed on stdin as button presses."""
    for line in sys.stdin:
        word = line.strip().lower()
        if word in DIRECTIONS:
            out.put(DIRECTIONS[word])
        elif word:
            say(f"unknown key {word!r}: w/a/s/d, up/left/down/right, x/stop")


def gpio_buttons(out, pins):
    """Four push buttons (to ground, internal pull-ups) steering while held."""
    from gpiozero import Button  # Raspberry Pi OS ships it; only needed with --gpio

    held = set()

    def update():
        dx = (1 if "right" in held else 0) - (1 if "left" in held else 0)
        dy = (1 if "down" in held else 0) - (1 if "up" in held else 0)
        try:
            out.put_nowait((dx, dy))
        except queue.Full:
            pass  # a stuck consumer drops presses rather than growing without bound

    buttons = []
    for name, pin in zip(("up", "down", "left", "right"), pins):
        b = Button(pin)
        b.when_pressed = lambda n=name: (held.add(n), update())
        b.when_released = lambda n=name: (held.discard(n), update())
        buttons.append(b)
    return buttons  # kept alive by the caller


def pair(args):
    """Signs in once with a name and password and keeps only the device token."""
    password = os.environ.get("CHORUS_DEVICE_PASSWORD") or getpass.getpass(f"password for {args.name}: ")
    link = Link(args.addr, {"op": "ping", "id": "hello"})
    creds = {"name": args.name, "password": password}
    try:
        if args.signup:
            link.req("svc.accounts.signup", creds)
        tokens = link.req("svc.accounts.login", creds)
    except Refused as e:
        raise SystemExit(f"refused: {e}") from e
    finally:
        link.close()
    DeviceToken(args.token_file).save(tokens["refresh_token"])
    say(f"paired as {tokens['user']['name']}; device token in {os.path.expanduser(args.token_file)}")


def main():
    parser = argparse.ArgumentParser(description="A small device as a Chorus player.")
    parser.add_argument("--addr", default=os.environ.get("CHORUS_TCP_ADDR", "127.0.0.1:7070"),
                        help="the bridge's TCP line address (CHORUS_TCP_ADDR)")
    parser.add_argument("--token-file", default=os.environ.get("CHORUS_DEVICE_TOKEN_FILE", "~/.config/chorus/device.json"),
                        help="where the device token is kept (CHORUS_DEVICE_TOKEN_FILE)")
    cmds = parser.add_subparsers(dest="cmd", required=True)
    p = cmds.add_parser("pair", help="sign in once and keep a device token")
    p.add_argument("--name", required=True)
    p.add_argument("--signup", action="store_true", help="create the account first")
    q = cmds.add_parser("play", help="get matched and play")
    q.add_argument("--game", default="arena")
    q.add_argument("--guest", action="store_true", help="play as a guest, without a device token")
    q.add_argument("--again", action="store_true", help="queue again after each game")
    q.add_argument("--code", help="steer the seat of this code (shown by a big screen) instead of queueing")
    q.add_argument("--every", type=float, default=0.25, help="at most one state line per this many seconds")
    q.add_argument("--gpio", action="store_true", help="read buttons on GPIO pins (gpiozero)")
    q.add_argument("--pins", default="17,27,22,23", help="BCM pins of up,down,left,right")
    args = parser.parse_args()
    if args.cmd == "pair":
        return pair(args)
    buttons = queue.Queue(maxsize=64)
    if args.gpio:
        keep = gpio_buttons(buttons, [int(x) for x in args.pins.split(",")])  # noqa: F841
    threading.Thread(target=stdin_buttons, args=(buttons,), daemon=True).start()
    try:
        Player(args, buttons).run()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

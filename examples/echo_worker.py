"""A Chorus worker in Python: answers `svc.echo.say` requests from any client.

Workers speak plain NATS. The bridge has already authenticated the caller and stamped who
it is in the Chorus-* headers; a worker trusts those and nothing in the payload.

    pip install nats-py
    CHORUS_NATS_URL=nats://127.0.0.1:4222 python3 examples/echo_worker.py
"""

import asyncio
import json
import os

import nats


async def main() -> None:
    nc = await nats.connect(os.environ.get("CHORUS_NATS_URL", "nats://127.0.0.1:4222"))

    async def say(msg):
        user = msg.headers.get("Chorus-User", "") if msg.headers else ""
        name = msg.headers.get("Chorus-Name", "") if msg.headers else ""
        try:
            body = json.loads(msg.data or b"null")
        except ValueError:
            # A Chorus-Error header turns the reply into an `err` frame for the client.
            await msg.respond(b"data must be JSON", headers={"Chorus-Error": "bad_request"})
            return
        await msg.respond(json.dumps({"echo": body, "user": user, "name": name}).encode())

    # A queue group: run as many copies as you like; each request goes to one of them.
    await nc.subscribe("svc.echo.say", queue="echo", cb=say)
    print("echo worker ready on svc.echo.say", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())

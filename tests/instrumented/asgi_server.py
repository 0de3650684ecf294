"""A minimal HTTP/1.1 server for ASGI apps, on asyncio streams (stdlib only).

Enough to run the test app under real TCP in several worker processes without
a server dependency: one request per connection (`Connection: close`), bodies
by Content-Length, an app that raises before responding answers 500 as
uvicorn does.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any
from urllib.parse import unquote


async def _handle(app: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        writer.close()
        return
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = []
    length = 0
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip().lower().encode("latin-1"), value.strip().encode("latin-1")))
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": headers,
        "client": writer.get_extra_info("peername"),
        "server": writer.get_extra_info("sockname"),
    }
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # a disconnect never comes before the response here
        return {"type": "http.disconnect"}

    response: dict[str, Any] = {"status": None, "headers": [], "body": []}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            response["status"] = message["status"]
            response["headers"] = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            response["body"].append(message.get("body", b""))

    try:
        await app(scope, receive, send)
    except Exception:
        if response["status"] is None:
            response.update(status=500, headers=[], body=[b"internal error"])
    status = response["status"] or 500
    payload = b"".join(response["body"])
    out = [f"HTTP/1.1 {status} X".encode()]
    for name, value in response["headers"]:
        if name.lower() not in (b"content-length", b"connection"):
            out.append(name + b": " + value)
    out.append(b"Content-Length: " + str(len(payload)).encode())
    out.append(b"Connection: close")
    writer.write(b"\r\n".join(out) + b"\r\n\r\n" + payload)
    try:
        await writer.drain()
    finally:
        writer.close()


async def serve(app: Any, sock: socket.socket) -> None:
    server = await asyncio.start_server(lambda r, w: _handle(app, r, w), sock=sock, backlog=512)
    async with server:
        await server.serve_forever()

"""A scripted OpenAI-compatible chat server on 127.0.0.1 for the LLM tests: real HTTP, no network."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from collections.abc import Callable


# ------------------------------------------------------------------ actions
def reply(text: str, prompt_tokens: int = 100, completion_tokens: int = 50, finish_reason: str = "stop") -> dict:
    """A proper chat.completion with usage."""
    return {"do": "reply", "text": text, "usage": (prompt_tokens, completion_tokens), "finish": finish_reason}


def status(code: int, retry_after: str | None = None, message: str = "scripted error") -> dict:
    """An HTTP error with an OpenAI-style error body (and Retry-After when given)."""
    return {"do": "status", "code": code, "retry_after": retry_after, "message": message}


def sleep(seconds: float, then: dict | None = None) -> dict:
    """Wait (longer than the client's timeout), then answer `then` (if the client is still there)."""
    return {"do": "sleep", "seconds": seconds, "then": then or reply("too late")}


def trickle(seconds_per_byte: float = 1.0, total: int = 10_000) -> dict:
    """200 headers at once, then the body one byte every `seconds_per_byte` (a server that is slow, or stuck)."""
    return {"do": "trickle", "every": seconds_per_byte, "total": total}


def trickle_headers(seconds_per_byte: float = 1.0) -> dict:
    """The status line at once, then a header one byte every `seconds_per_byte`, never ending."""
    return {"do": "trickle_headers", "every": seconds_per_byte}


def truncated() -> dict:
    """Headers promise a body that is cut off half-way, then the connection closes."""
    return {"do": "truncated"}


def bad_json() -> dict:
    """200 with a body that is not JSON."""
    return {"do": "bad_json"}


def fenced(program: str, before: str = "Here is the program:", after: str = "It draws the scene.") -> str:
    return f"{before}\n\n```vdsl\n{program.rstrip()}\n```\n\n{after}"


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 with a free port, and the OpenAI environment that points at it."""

    _server: ThreadingHTTPServer | None = None

    def serve(self, handler):
        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self._server = Server(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def start(self):
        raise NotImplementedError

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def env(self, model: str = "fake-model", **extra) -> dict:
        return {"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": "test-key", "VDSL_MODEL": model, **extra}


class FakeOpenAI(LocalServer):
    """POST /v1/chat/completions answered from a script (a queue of actions); when the script runs out,
    `default` (an action, or a function of the request body) answers, else 500.

    Every request body is kept in `requests`. Use as a context manager."""

    def __init__(self, script: list | None = None, default: Any = None):
        self.script: deque = deque(script or [])
        self.default = default
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.on_request: Callable[[dict], None] | None = None
        self.models_owned_by: str | None = None  # GET /v1/models answers one model owned by this (else 404)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle
    def start(self) -> "FakeOpenAI":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                fake._handle(self)

            def do_GET(self):
                if self.path.rstrip("/").endswith("/models") and fake.models_owned_by is not None:
                    data = [{"id": "fake-model", "object": "model", "owned_by": fake.models_owned_by}]
                    self._send_json(200, {"object": "list", "data": data})
                    return
                self._send_json(404, {"error": {"message": "not found"}})

            def _send_json(self, code, obj, extra=None):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        return self.serve(Handler)

    def stop(self) -> None:
        self._closing.set()
        super().stop()

    def push(self, *actions) -> None:
        with self._lock:
            self.script.extend(actions)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    # -- serving
    def _next(self, body: dict) -> dict:
        with self._lock:
            action = self.script.popleft() if self.script else self.default
        if callable(action):
            action = action(body)
        return action or status(500, message="the test script ran out")

    def _handle(self, h) -> None:
        n = int(h.headers.get("content-length") or 0)
        raw = h.rfile.read(n)
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            h._send_json(400, {"error": {"message": "bad json"}})
            return
        if h.path.rstrip("/") != "/v1/chat/completions":
            h._send_json(404, {"error": {"message": f"no route {h.path}"}})
            return
        with self._lock:
            self.requests.append(body)
            self.headers.append({k.lower(): v for k, v in h.headers.items()})
        if self.on_request is not None:
            self.on_request(body)
        self._act(h, body, self._next(body))

    def _act(self, h, body: dict, a: dict) -> None:
        try:
            if a["do"] == "reply":
                p, c = a["usage"]
                h._send_json(
                    200,
                    {
                        "id": f"chatcmpl-{len(self.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "fake-model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": a["text"]},
                                "finish_reason": a["finish"],
                                "logprobs": None,
                            }
                        ],
                        "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
                    },
                )
            elif a["do"] == "status":
                extra = {"retry-after": a["retry_after"]} if a["retry_after"] is not None else {}
                h._send_json(a["code"], {"error": {"message": a["message"], "type": "scripted", "code": None}}, extra)
            elif a["do"] == "sleep":
                if not self._closing.wait(a["seconds"]):
                    self._act(h, body, a["then"])
            elif a["do"] == "trickle":
                h.send_response(200)
                h.send_header("content-type", "application/json")
                h.send_header("content-length", str(a["total"]))
                h.end_headers()
                h.wfile.flush()
                for _ in range(a["total"]):
                    if self._closing.wait(a["every"]):
                        break
                    h.wfile.write(b" ")
                    h.wfile.flush()
            elif a["do"] == "trickle_headers":
                h.wfile.write(b"HTTP/1.1 200 OK\r\nx-slow: ")
                h.wfile.flush()
                while not self._closing.wait(a["every"]):
                    h.wfile.write(b"a")
                    h.wfile.flush()
            elif a["do"] == "truncated":
                data = json.dumps({"id": "x", "object": "chat.completion", "choices": []}).encode()
                h.send_response(200)
                h.send_header("content-type", "application/json")
                h.send_header("content-length", str(len(data) + 500))
                h.end_headers()
                h.wfile.write(data[: len(data) // 2])
                h.wfile.flush()
                h.close_connection = True
                try:
                    import socket

                    h.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            elif a["do"] == "bad_json":
                data = b'{"id": "x", "object": "chat.completion", "choices": [{"ind'
                h.send_response(200)
                h.send_header("content-type", "application/json")
                h.send_header("content-length", str(len(data)))
                h.end_headers()
                h.wfile.write(data)
            else:
                raise ValueError(f"unknown action {a!r}")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


# ------------------------------------------------------------------ programs the scripted model answers with
VALID = "canvas(width=64, height=64, background=#87ceeb)\ncircle(center=(32, 32), r=20, fill=red)\n"
VALID_BLUE = VALID.replace("fill=red", "fill=blue")
BROKEN = "canvas(width=64, height=64)\ncircle(center=(32, 32), radius=20, fill=red)\n"  # E202: radius -> r
RUNTIME_ERROR = "canvas(width=64, height=64)\nlet xs = [1, 2]\ncircle(center=(32, 32), r=xs[5])\n"  # E302
PROSE = "I'm sorry, but I would rather describe it: a round red ball on a blue sky."
GARBAGE = "}}}{{ ))) @@@ \x00 ```\n"

"""A scripted OpenAI Batch API (files + batches routes) on 127.0.0.1 for the batch tests: real HTTP, no network."""

from __future__ import annotations

import email.parser
import json
import random
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from fake_openai_server import LocalServer


def completion(body: dict, text: str, prompt_tokens: int = 100, completion_tokens: int = 50) -> dict:
    return {
        "id": "chatcmpl-b",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake-model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": 150},
    }


class FakeBatchAPI(LocalServer):
    """POST /v1/files, POST /v1/batches, GET /v1/batches/ID, GET /v1/files/ID/content. Each request line of a
    batch is answered by `answer(body)`: a reply text, or (status_code, message) for a refused request. A batch
    reports `in_progress` for `polls` retrievals, then completes with its output lines shuffled; `drop` (a set
    of line indexes of each batch) leaves lines out (a partial result). `batch_api=False` answers 404."""

    def __init__(self, answer: Callable[[dict], object], polls: int = 1, seed: int = 0, batch_api: bool = True):
        self.answer, self.polls, self.batch_api = answer, polls, batch_api
        self.rng = random.Random(seed)
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.inputs: list[list[dict]] = []  # the request lines of each batch, as submitted
        self.drop: set[int] = set()
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def start(self) -> "FakeBatchAPI":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                fake._route(self, "POST")

            def do_GET(self):
                fake._route(self, "GET")

            def send(self, code, obj=None, raw=None):
                data = raw if raw is not None else json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("content-type", "application/json" if raw is None else "application/octet-stream")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return self.serve(Handler)

    def _route(self, h, method: str) -> None:
        n = int(h.headers.get("content-length") or 0)
        raw = h.rfile.read(n) if n else b""
        path = h.path.split("?")[0].rstrip("/")
        with self._lock:
            self.calls.append(f"{method} {path}")
        if not self.batch_api:
            h.send(404, {"error": {"message": f"no route {path}"}})
            return
        if method == "POST" and path == "/v1/files":
            msg = email.parser.BytesParser().parsebytes(
                b"Content-Type: " + h.headers["content-type"].encode() + b"\r\n\r\n" + raw
            )
            part = next(p for p in msg.get_payload() if p.get_param("name", header="content-disposition") == "file")
            with self._lock:
                fid = f"file-{len(self.files)}"
                self.files[fid] = part.get_payload(decode=True)
            h.send(200, self._file(fid, "batch"))
        elif method == "POST" and path == "/v1/batches":
            req = json.loads(raw)
            with self._lock:
                bid = f"batch-{len(self.batches)}"
                self.batches[bid] = {"input": req["input_file_id"], "polls": 0, "output": None}
            h.send(200, self._batch(bid))
        elif method == "GET" and path.startswith("/v1/batches/"):
            bid = path.rsplit("/", 1)[1]
            with self._lock:
                b = self.batches[bid]
                b["polls"] += 1
                if b["polls"] > self.polls and b["output"] is None:
                    b["output"] = self._run(bid)
            h.send(200, self._batch(bid))
        elif method == "GET" and path.startswith("/v1/files/") and path.endswith("/content"):
            h.send(200, raw=self.files[path.split("/")[3]])
        else:
            h.send(404, {"error": {"message": f"no route {method} {path}"}})

    def _run(self, bid: str) -> str:
        lines = [json.loads(x) for x in self.files[self.batches[bid]["input"]].decode().splitlines() if x.strip()]
        self.inputs.append(lines)
        out = []
        for i, r in enumerate(lines):
            if i in self.drop:
                continue
            a = self.answer(r["body"])
            if isinstance(a, tuple):
                resp = {"status_code": a[0], "request_id": f"req-{i}", "body": {"error": {"message": a[1]}}}
            else:
                resp = {"status_code": 200, "request_id": f"req-{i}", "body": completion(r["body"], str(a))}
            out.append(json.dumps({"id": f"res-{i}", "custom_id": r["custom_id"], "response": resp, "error": None}))
        self.rng.shuffle(out)
        fid = f"file-{len(self.files)}"
        self.files[fid] = ("\n".join(out) + "\n").encode()
        return fid

    def _file(self, fid: str, purpose: str) -> dict:
        return {
            "id": fid,
            "object": "file",
            "bytes": len(self.files[fid]),
            "created_at": 0,
            "filename": "x.jsonl",
            "purpose": purpose,
            "status": "processed",
        }

    def _batch(self, bid: str) -> dict:
        b = self.batches[bid]
        done = b["output"] is not None
        return {
            "id": bid,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "input_file_id": b["input"],
            "completion_window": "24h",
            "status": "completed" if done else "in_progress",
            "output_file_id": b["output"],
            "error_file_id": None,
            "created_at": 0,
            "request_counts": {"total": 1, "completed": 1 if done else 0, "failed": 0},
        }

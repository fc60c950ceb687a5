"""OpenAI Batch API runs: requests the cache lacks are written as batch JSONL, submitted (files + batches), polled and ingested into the cache, round by round."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..atomic import atomic_write
from ..errors import IncompleteRun, UsageError
from .cache import ResponseCache
from .client import REJECTED, Completion, LLMClient, LLMError, cache_record

STATE = "batch.json"  # what has been written, submitted and ingested
FAILURES = "failures.jsonl"  # requests the endpoint refused for good (4xx): they fail their round, as live
URL = "/v1/chat/completions"
DONE = ("completed", "failed", "expired", "cancelled")


class Deferred(IncompleteRun):
    """This request waits for a batch: the run stops here, consistent, and continues once it is ingested."""


class BatchPending(IncompleteRun):
    """Requests were written for a batch and must be run before the run can go on."""


class NoBatchAPI(UsageError):
    """The endpoint has no files/batches routes."""


def _read_state(d: Path) -> dict:
    p = d / STATE
    if not p.exists():
        return {"files": [], "ingested": {"ok": 0, "failed": 0, "unknown": 0, "malformed": 0}, "usage": {}}
    return json.loads(p.read_text(encoding="utf-8"))


def _write_state(d: Path, state: dict) -> None:
    atomic_write(d / STATE, json.dumps(state, indent=1) + "\n", fsync=True)


class BatchQueue:
    """The requests of one pass that the cache cannot answer, keyed by their cache key (the custom_id)."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.pending: dict[str, dict] = {}
        self.failures: dict[str, dict] = {}
        f = self.dir / FAILURES
        if f.exists():
            for line in f.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    rec = json.loads(line)
                    self.failures[rec["custom_id"]] = rec

    def add(self, custom_id: str, body: dict) -> None:
        with self._lock:
            self.pending[custom_id] = body

    def flush(self) -> Path | None:
        """Write the pending requests as the next requests-NNN.jsonl (sorted by custom_id); None if there are none."""
        with self._lock:
            if not self.pending:
                return None
            state = _read_state(self.dir)
            path = self.dir / f"requests-{len(state['files']):03d}.jsonl"
            lines = [
                json.dumps({"custom_id": k, "method": "POST", "url": URL, "body": self.pending[k]}, sort_keys=True)
                for k in sorted(self.pending)
            ]
            atomic_write(path, "\n".join(lines) + "\n", fsync=True)
            state["files"].append({"requests": path.name, "count": len(lines), "status": "written"})
            _write_state(self.dir, state)
            self.pending = {}
            return path


class CollectingClient:
    """An LLMClient that answers from the cache only: a miss is queued for the batch and raises Deferred;
    a request the batch endpoint refused (4xx) fails as a live rejection would."""

    def __init__(self, client: LLMClient, queue: BatchQueue):
        self.client, self.queue = client, queue
        self.config, self.stats, self.cache = client.config, client.stats, client.cache

    def complete(
        self,
        messages: list[dict],
        *,
        sample=0,
        temperature=None,
        max_tokens=None,
        model=None,
        use_cache: bool = True,
        deadline=None,
    ) -> Completion:
        c = self.client
        req = c.request(messages, sample=sample, temperature=temperature, max_tokens=max_tokens, model=model)
        key = c.key(req)
        c.count_call()
        hit = c.lookup(key, req)
        if hit is not None:
            return hit
        failed = self.queue.failures.get(key)
        if failed is not None:
            raise LLMError(
                f"the batch endpoint refused this request: HTTP {failed.get('status')}: {failed.get('message')}",
                status=failed.get("status"),
                kind=REJECTED,
            )
        self.queue.add(key, c.body(req))
        raise Deferred("waiting for a batch")

    def close(self) -> None:
        self.client.close()


def ingest(directory: str | Path, cache: ResponseCache, results_text: str, source: str) -> dict:
    """Put a batch results file (OpenAI's output format, which `vllm run-batch` also writes; any order, possibly
    partial) into the cache; returns counts. Lines whose custom_id no requests file holds are counted, not used."""
    d = Path(directory)
    state = _read_state(d)
    known: dict[str, dict] = {}
    file_of: dict[str, dict] = {}
    for f in state["files"]:
        for line in (d / f["requests"]).read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                known[r["custom_id"]] = r["body"]
                file_of[r["custom_id"]] = f
    counts = {"ok": 0, "failed": 0, "unknown": 0, "malformed": 0, "retry": 0}
    usage: dict[str, int] = {}
    failures = []
    for line in results_text.splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            cid = rec["custom_id"]
        except (ValueError, KeyError, TypeError):
            counts["malformed"] += 1
            continue
        if cid not in known:
            counts["unknown"] += 1
            continue
        file_of[cid]["status"] = "ingested"  # its results are in: what they lack is asked again next pass
        resp = rec.get("response") or {}
        code = resp.get("status_code")
        if rec.get("error") or code != 200:
            err = rec.get("error") or (resp.get("body") or {}).get("error") or {}
            msg = err.get("message", str(err)) if isinstance(err, dict) else str(err)
            if isinstance(code, int) and 400 <= code < 500 and code != 429:  # this request, for good
                failures.append({"custom_id": cid, "status": code, "message": msg})
                counts["failed"] += 1
            else:  # 5xx, 429, expired: asked again in the next batch
                counts["retry"] += 1
            continue
        body = known[cid]
        req = {**body, "max_tokens": body.get("max_tokens", body.get("max_completion_tokens"))}
        try:
            comp = LLMClient.parse(resp.get("body"), req, cid)
        except (ValueError, AttributeError, TypeError):
            counts["malformed"] += 1
            continue
        cache.put(cid, body["model"], cache_record(comp))
        for k, v in comp.usage.items():
            usage[k] = usage.get(k, 0) + v
        counts["ok"] += 1
    if failures:
        with open(d / FAILURES, "a", encoding="utf-8") as f:
            for rec in failures:
                f.write(json.dumps(rec) + "\n")
    state.setdefault("ingests", []).append({"source": source, **counts})
    for k in ("ok", "failed", "unknown", "malformed"):
        state["ingested"][k] = state["ingested"].get(k, 0) + counts[k]
    for k, v in usage.items():
        state["usage"][k] = state["usage"].get(k, 0) + v
    _write_state(d, state)
    return counts


def _no_batch_api(e: Exception, base_url: str) -> NoBatchAPI:
    return NoBatchAPI(
        f"{base_url} has no Batch API ({type(e).__name__}: {e}); write the requests with --batch-export, run them "
        "elsewhere (e.g. `vllm run-batch -i requests-NNN.jsonl -o results.jsonl --model MODEL`), then "
        "`vdsl batch ingest DIR results.jsonl` and rerun with --resume"
    )


def submit_and_wait(
    directory: str | Path,
    client: LLMClient,
    poll_s: float = 30.0,
    log: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> dict:
    """Submit every written-but-unsubmitted requests file, wait for each batch, ingest its output (and error)
    file. Each step is recorded in batch.json first, so a crash resumes by polling, never by resubmitting."""
    import openai

    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    d = Path(directory)
    api = client._openai
    total = {"ok": 0, "failed": 0, "unknown": 0, "malformed": 0, "retry": 0}
    state = _read_state(d)
    for f in state["files"]:
        if f["status"] == "ingested":
            continue
        try:
            if "batch_id" not in f:
                with open(d / f["requests"], "rb") as fh:
                    up = api.files.create(file=(f["requests"], fh), purpose="batch")
                b = api.batches.create(input_file_id=up.id, endpoint=URL, completion_window="24h")
                f.update(input_file_id=up.id, batch_id=b.id, status="submitted")
                _write_state(d, state)
                log(f"batch {b.id}: submitted {f['requests']} ({f['count']} requests)")
            while True:
                b = api.batches.retrieve(f["batch_id"])
                if b.status in DONE:
                    break
                rc = b.request_counts
                log(
                    f"batch {b.id}: {b.status}"
                    + (f" ({rc.completed + rc.failed}/{rc.total} done)" if rc is not None else "")
                    + f"; next poll in {poll_s:g} s"
                )
                (sleep or time.sleep)(poll_s)
            text = ""
            for fid in (b.output_file_id, b.error_file_id):
                if fid:
                    text += api.files.content(fid).text.rstrip("\n") + "\n"
        except openai.NotFoundError as e:
            raise _no_batch_api(e, client.config.base_url) from None
        except openai.APIError as e:
            raise IncompleteRun(
                f"the Batch API failed ({type(e).__name__}: {e}); {d / STATE} records where it stopped: "
                "rerun the same command to continue"
            ) from None
        assert client.cache is not None  # run_batched refuses a client without one
        counts = ingest(d, client.cache, text, f"batch {b.id} ({b.status})")
        state = _read_state(d)
        entry = next(x for x in state["files"] if x["requests"] == f["requests"])
        entry.update(status="ingested", batch_status=b.status, **{f"n_{k}": v for k, v in counts.items()})
        _write_state(d, state)
        log(
            f"batch {b.id}: {b.status}; ingested {counts['ok']} replies, {counts['failed']} refused, "
            f"{counts['retry']} to ask again, {counts['malformed']} malformed"
        )
        for k, v in counts.items():
            total[k] += v
    return total


def run_batched(
    client: LLMClient,
    directory: str | Path,
    one_pass: Callable[[CollectingClient, bool], None],
    *,
    export_only: bool = False,
    poll_s: float = 30.0,
    max_passes: int = 1000,
    log: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> int:
    """Run `one_pass(collecting_client, first)` until it needs nothing the cache lacks: each pass writes its
    misses as one batch, which is submitted and ingested before the next pass (a refine round or repair step per
    pass). export_only stops after writing the file (BatchPending). Returns the number of passes."""
    if client.cache is None:
        raise UsageError("batch runs keep replies in the response cache: drop --no-cache")
    d = Path(directory)
    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    for n in range(max_passes):
        state = _read_state(d)
        waiting = [f for f in state["files"] if f["status"] != "ingested"]
        if waiting:
            if export_only:
                raise BatchPending(
                    f"{d / waiting[0]['requests']} ({waiting[0]['count']} requests) is not ingested yet: run it, then "
                    f"`vdsl batch ingest {d} RESULTS.jsonl` (or `vdsl batch submit {d}`) and rerun with --resume"
                )
            submit_and_wait(d, client, poll_s, log, sleep)
        queue = BatchQueue(d)
        one_pass(CollectingClient(client, queue), n == 0)
        path = queue.flush()
        if path is None:
            return n + 1
        count = _read_state(d)["files"][-1]["count"]
        log(f"pass {n}: {count} requests written to {path}")
        if export_only:
            raise BatchPending(
                f"{count} requests written to {path}: run them (`vdsl batch submit {d}`, or elsewhere, e.g. "
                f"`vllm run-batch -i {path} -o results.jsonl --model MODEL`, then `vdsl batch ingest {d} "
                "results.jsonl`) and rerun with --resume"
            )
    raise IncompleteRun(f"stopped after {max_passes} batch passes; rerun with --resume to continue")


def status(directory: str | Path, price: tuple[float, float] | None = None) -> dict:
    """What a batch folder holds: files and their states, ingested counts, tokens and (with a price) cost."""
    state = _read_state(Path(directory))
    u = state["usage"]
    out = {"files": state["files"], "ingested": state["ingested"], "usage": u}
    if price:
        out["cost"] = round(
            u.get("prompt_tokens", 0) * price[0] / 1e6 + u.get("completion_tokens", 0) * price[1] / 1e6, 6
        )
    return out

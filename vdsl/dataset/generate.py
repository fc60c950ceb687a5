"""LLM-written programs: K per concept through the refine loop (cached, repaired from diagnostics, optionally improved), saved with the dataset."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import IncompleteRun, UsageError
from .sources import ProgramSpec, SourceError, program_hash, shard_of


class _Stopped(Exception):
    """A generation pass stopped the run (endpoint refused or down): no further batch pass."""


class GenerationAborted(IncompleteRun):
    """The endpoint failed for good. What was generated is kept; a rerun continues."""


def load_concept_entries(spec: str) -> list:
    """Concept entries (.id, .name, .tier) of a shipped tier ("objects", "all", ...) or a text file."""
    from ..concepts import load_concepts

    try:
        return list(load_concepts(spec))
    except (ValueError, OSError, KeyError) as e:
        raise SourceError(f"--concepts {spec}: {e}") from None


def program_name(j: int, round_: int | None = None) -> str:
    return f"p{j:03d}" if round_ is None else f"p{j:03d}_r{round_}"


def _folder(entry) -> str:
    cid = str(entry.id)
    return cid.split("/", 1)[1] if "/" in cid else cid


def plan(entries: list, k: int, shard: tuple[int, int]) -> list[tuple[object, int]]:
    """The (concept, j) pairs this shard generates: the j-th program of each concept, sharded by its key."""
    return [
        (e, j) for e in entries for j in range(k) if shard_of(f"{_folder(e)}/{program_name(j)}", shard[1]) == shard[0]
    ]


def _run_dir(state: Path, entry, j: int) -> Path:
    return state / "llm" / _folder(entry) / program_name(j)


def _complete(d: Path, rounds: int) -> bool:
    from ..llm.files import read_jsonl
    from ..llm.report import TRANSCRIPT, summarize

    s = summarize(read_jsonl(d / TRANSCRIPT))
    return s["rounds_done"] >= rounds and s["rounds_planned"] == rounds


def generate(
    entries: list,
    k: int,
    refine_rounds: int,
    max_repairs: int,
    state: Path,
    shard: tuple[int, int],
    llm: dict,
    keep_drafts: bool = False,
    echo=None,
) -> tuple[list[ProgramSpec], list[dict]]:
    """Programs for this shard's (concept, j) pairs, generated (or read back from an earlier run).

    Each pair is one `vdsl refine` run (round 0 drawn and repaired until it compiles, then
    refine_rounds improvements) kept under STATE/llm/<concept>/pNNN; the response cache makes
    reruns free. Returns the programs (the final round, or every good round with keep_drafts)
    and failure rows for pairs where the model never produced a working program.

    One pair's failure (a rejected request, a bug) never stops the others: it becomes a failure row.
    The endpoint refusing the key/model/URL stops all (EndpointFatal, exit 2); the endpoint down for good
    or llm["deadline"] (seconds for the whole generation) passing stops all (GenerationAborted, resumable)."""
    llm = dict(llm)
    seconds = llm.pop("deadline", None)
    batch_dir, batch_export = llm.pop("batch", None), llm.pop("batch_export", False)
    run_deadline = time.monotonic() + seconds if seconds else None
    items = plan(entries, k, shard)
    rounds = refine_rounds + 1
    todo = [(e, j) for e, j in items if not _complete(_run_dir(state, e, j), rounds)]
    model_name = None
    if todo:
        from ..llm.options import config_from_options, make_client
        from ..llm.refine import EndpointFatal, RefineAborted, RefineSettings, SettingsChanged, refine

        config = config_from_options(**llm)  # no endpoint: EndpointNotConfigured (a UsageError), exit 2, nothing sent
        client = make_client(config)
        model_name = config.model
        stop = threading.Event()
        errors: list[str] = []
        fatal: list[Exception] = []
        if echo:
            echo(f"generating {len(todo)} programs with {config.model} ({len(items) - len(todo)} already generated)")

        from ..llm.batches import Deferred

        def one(client, e, j):
            if stop.is_set():
                return
            st = RefineSettings(concept=e.name, rounds=rounds, max_repairs=max_repairs, sample=j)
            try:
                refine(
                    client,
                    _run_dir(state, e, j),
                    st,
                    resume=True,
                    stop=stop,
                    deadline=run_deadline,
                    overrides={"rounds": rounds, "max_repairs": max_repairs},
                )
            except SettingsChanged as ex:
                fatal.append(
                    UsageError(f"{ex.args[0].split('; resume')[0]}; build with the same --model, or into another --out")
                )
                stop.set()
            except EndpointFatal as ex:
                fatal.append(ex)
                stop.set()
            except RefineAborted as ex:
                errors.append(str(ex))
                stop.set()
            except Deferred:  # a batch pass: goes on once its request is ingested
                pass
            except Exception as ex:
                crashed[(str(e.id), j)] = f"{type(ex).__name__}: {ex}"

        crashed: dict = {}

        def one_pass(c, first: bool) -> None:
            with ThreadPoolExecutor(max_workers=max(1, config.concurrency)) as pool:
                for f in [pool.submit(one, c, e, j) for e, j in todo]:
                    f.result()
            if fatal or errors:
                raise _Stopped()

        try:
            if batch_dir:
                from ..llm.batches import run_batched

                run_batched(client, batch_dir, one_pass, export_only=batch_export)
            else:
                one_pass(client, True)
        except _Stopped:
            pass
        except KeyboardInterrupt:
            stop.set()
            raise
        finally:
            client.close()
        if fatal:
            raise fatal[0]
        if errors:
            raise GenerationAborted(
                f"the LLM endpoint failed: {errors[0]}; what was generated is kept, rerun the same command to continue"
            )
    else:
        crashed = {}
    return _collect(items, state, rounds, keep_drafts, model_name, crashed)


def _collect(items, state: Path, rounds: int, keep_drafts: bool, model_name: str | None, crashed: dict | None = None):
    from ..llm.files import read_jsonl
    from ..llm.report import TRANSCRIPT, rounds_of

    specs, failures = [], []
    for e, j in items:
        d = _run_dir(state, e, j)
        events = read_jsonl(d / TRANSCRIPT)
        start = next((x for x in events if x.get("event") == "start"), {})
        model = (start.get("endpoint") or {}).get("model") or model_name
        done = rounds_of(events)
        good = [(r, rec) for r, rec in done.items() if rec.get("status") == "ok" and r < rounds]
        folder = _folder(e)
        if not good:
            last = done[max(done)] if done else {}
            diags = last.get("diagnostics") or []
            detail = (
                last.get("reason")
                or (crashed or {}).get((str(e.id), j))
                or "; ".join(f"{x.get('code')} {x.get('message')}" for x in diags[:2])
                or "no program in the reply"
            )
            failures.append(
                {
                    "concept_id": e.id,
                    "concept": e.name,
                    "tier": e.tier,
                    "program": program_name(j),
                    "seed": None,
                    "file_name": None,
                    "reason": "generation_failed",
                    "detail": f"the model gave no working program: {detail}",
                }
            )
            continue
        chosen = good if keep_drafts else good[-1:]
        for r, rec in chosen:
            data = (d / rec["file"]).read_bytes()
            name = program_name(j, r) if keep_drafts else program_name(j)
            specs.append(
                ProgramSpec(e.id, e.name, e.tier, folder, name, data, program_hash(data), f"llm:{model}", model, r)
            )
    return specs, failures

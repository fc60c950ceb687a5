"""Run in a Python that has llama-cpp-python (not vdsl): llama.cpp's own GBNF parser and grammar sampler on texts, and its tokenizer; JSON in on stdin, JSON out."""

from __future__ import annotations

import ctypes
import json
import math
import sys
import time


def main() -> int:
    job = json.load(sys.stdin)
    import llama_cpp
    from llama_cpp import Llama

    llm = Llama(model_path=job["model"], vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    eos = llama_cpp.llama_vocab_eos(vocab)

    def sampler(gbnf: str):
        s = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode("utf-8"), b"root")
        return s if s else None  # NULL: llama.cpp's parser refused the grammar

    def allowed(s, tok: int) -> bool:
        arr = (llama_cpp.llama_token_data * 1)()
        arr[0].id, arr[0].logit, arr[0].p = tok, 0.0, 0.0
        cur = llama_cpp.llama_token_data_array(data=arr, size=1, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(s, ctypes.byref(cur))
        return not math.isinf(arr[0].logit)

    def accepts(gbnf: str, text: str) -> bool:
        """Does the grammar let these tokens through, one at a time, and then allow end of text?"""
        s = sampler(gbnf)
        if s is None:
            return False
        try:
            for tok in llm.tokenize(text.encode("utf-8"), add_bos=False, special=False):
                if not allowed(s, tok):
                    return False
                llama_cpp.llama_sampler_accept(s, tok)
            return allowed(s, eos)
        finally:
            llama_cpp.llama_sampler_free(s)

    out: dict = {"llama_cpp_version": llama_cpp.__version__}
    out["grammars_parsed"] = {name: sampler(g) is not None for name, g in job.get("grammars", {}).items()}
    out["accepts"], out["seconds"] = {}, {}
    for name, t in job.get("texts", {}).items():
        t0 = time.monotonic()
        out["accepts"][name] = accepts(job["gbnf"], t)
        out["seconds"][name] = round(time.monotonic() - t0, 2)
        print(f"{name}: {out['accepts'][name]} in {out['seconds'][name]} s", file=sys.stderr, flush=True)
    out["tokens"] = {
        name: len(llm.tokenize(t.encode("utf-8"), add_bos=False, special=False))
        for name, t in job.get("count", {}).items()
    }
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

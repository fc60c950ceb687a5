"""The refine report from a recorded transcript: strip.png (labelled rounds) and a self-contained, escaped index.html."""

from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from vdsl.llm.files import read_jsonl
from vdsl.llm.report import PAD, TILE, TITLE_H, rounds_of, summarize, write_report

SAMPLE = Path(__file__).parent / "data" / "transcript_sample.jsonl"


def folder(tmp_path) -> Path:
    d = tmp_path / "run"
    d.mkdir()
    shutil.copy(SAMPLE, d / "transcript.jsonl")  # the transcript alone: pictures are rendered again
    return d


def test_summary_from_the_recorded_transcript():
    s = summarize(read_jsonl(SAMPLE))
    assert s["concept"] == 'a glowing <desk> lamp & "shade"' and s["model"] == "qwen2.5-coder-7b"
    assert (s["rounds_planned"], s["rounds_ok"], s["rounds_failed"]) == (3, 2, 1)
    assert s["compiled_first_try"] and s["repairs"] == 1 and s["final_round"] == 2 and s["complete"]
    assert s["requests"] == 4 and s["prompt_tokens"] == 2900 + 3100 + 3250 + 3100
    assert [r["status"] for r in rounds_of(read_jsonl(SAMPLE)).values()] == ["ok", "failed", "ok"]


def test_strip_shows_every_round_side_by_side(tmp_path):
    d = folder(tmp_path)
    write_report(d)
    img = Image.open(d / "strip.png").convert("RGB")
    assert img.size == (PAD + 3 * (TILE + PAD), TITLE_H + TILE + 30 + PAD)
    y = TITLE_H + TILE // 2
    tiles = [
        img.crop((PAD + i * (TILE + PAD), TITLE_H, PAD + i * (TILE + PAD) + TILE, TITLE_H + TILE)) for i in range(3)
    ]
    # rounds 0 and 2 show the dark lamp picture; round 1 (failed) is a light placeholder
    dark = [float((np.asarray(t).astype(int).sum(axis=2) < 200).mean()) for t in tiles]
    assert dark[0] > 0.3 and dark[2] > 0.3 and dark[1] < 0.05
    assert img.getpixel((PAD + TILE // 2, y)) != (255, 255, 255)


def test_index_html_is_self_contained_and_escaped(tmp_path):
    d = folder(tmp_path)
    write_report(d)
    html = (d / "index.html").read_text()
    # every image inline: the strip and the two good rounds
    urls = re.findall(r'src="(data:image/png;base64,[A-Za-z0-9+/=]+)"', html)
    assert len(urls) == 3
    for u in urls:
        Image.open(io.BytesIO(base64.b64decode(u.split(",", 1)[1]))).verify()
    assert not re.search(r'(src|href)="(?!data:)', html)  # nothing fetched from outside
    # model text, programs and the concept are escaped, never markup
    assert "<script" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "a &lt; b &amp; c" in html and "Enjoy &lt;/pre&gt; &amp; more." in html
    assert "<h1>a glowing &lt;desk&gt; lamp &amp; &quot;shade&quot;</h1>" in html
    # diagnostics and repairs are shown
    assert "E202" in html and "E302" in html and "did you mean `r`?" in html
    assert html.count("<section") == 3 and 'class="failed"' in html

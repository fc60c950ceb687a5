"""`vdsl refine --compare` (runs side by side) and a batch's index.html: self-contained pages whose every
picture is an inline PNG of the right run and round."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

from click.testing import CliRunner
from PIL import Image

from fake_openai_server import BROKEN, VALID, VALID_BLUE, FakeOpenAI, fenced, reply
from vdsl.cli import main


def refine(srv, tmp_path, *args, model="fake-model"):
    base = ["refine", "--cache-dir", str(tmp_path / "cache"), "--backoff", "0", "--no-progress", "--model", model]
    return CliRunner().invoke(main, base + list(args), env=srv.env(), catch_exceptions=False)


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs: list[dict] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        for k in ("href", "src"):
            if a.get(k) and tag != "img":
                self.links.append(a[k])


def pictures(html: str) -> list[tuple[str, Image.Image]]:
    """(alt, image) for every <img>; each must be an inline PNG (the page is self-contained)."""
    p = Page()
    p.feed(html)
    out = []
    for a in p.imgs:
        assert a["src"].startswith("data:image/png;base64,"), a["src"][:40]
        out.append((a.get("alt", ""), Image.open(io.BytesIO(base64.b64decode(a["src"].split(",", 1)[1])))))
    assert all(not re.match(r"(https?:)?//", link) for link in p.links)  # nothing fetched from outside
    return out


def colour_at_centre(img: Image.Image) -> tuple[int, int, int]:
    im = img.convert("RGB")
    return im.getpixel((im.width // 2, im.height // 2))


def test_compare_two_models_round_by_round(tmp_path):
    red, blue = fenced(VALID), fenced(VALID_BLUE)
    with FakeOpenAI([reply(red), reply(red)]) as srv:
        assert (
            refine(
                srv, tmp_path, "--concept", "a ball", "--rounds", "2", "--out", str(tmp_path / "a"), model="m-red"
            ).exit_code
            == 0
        )
    # the second model fails round 0 once (a repair), then draws blue, then never compiles in round 1
    with FakeOpenAI(
        [
            reply(fenced(BROKEN)),
            reply(blue),
            reply(fenced(BROKEN)),
            reply(fenced(BROKEN)),
            reply(fenced(BROKEN)),
            reply(fenced(BROKEN)),
        ]
    ) as srv:
        refine(
            srv,
            tmp_path,
            "--concept",
            "a ball",
            "--rounds",
            "2",
            "--max-repairs",
            "1",
            "--out",
            str(tmp_path / "b"),
            model="m-blue",
        )
    out = tmp_path / "cmp.html"
    r = CliRunner().invoke(main, ["refine", "--compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    html = out.read_text()
    assert "a · m-red" in html and "b · m-blue" in html and "<th>round 0</th>" in html and "<th>round 1</th>" in html
    pics = pictures(html)
    assert len(pics) == 3  # red round 0, red round 1, blue round 0; blue round 1 failed: no picture
    r0, g0, b0 = colour_at_centre(pics[0][1])
    assert r0 > 200 and b0 < 80  # row "round 0": the red model first ...
    assert colour_at_centre(pics[1][1])[2] > 200  # ... then the blue one
    assert "failed" in html and "ok · 1 repair<" in html


def test_compare_needs_two_runs_of_one_kind(tmp_path):
    (tmp_path / "empty").mkdir()
    r = CliRunner().invoke(main, ["refine", "--compare", str(tmp_path / "empty"), str(tmp_path / "empty")])
    assert r.exit_code == 2 and "holds no refine run" in r.output
    r = CliRunner().invoke(main, ["refine", "--compare", str(tmp_path / "empty")])
    assert r.exit_code == 2 and "at least two runs" in r.output
    r = CliRunner().invoke(main, ["refine", str(tmp_path / "empty")])
    assert r.exit_code == 2 and "folders go with --compare" in r.output


def test_batch_index_and_compare_two_batches(tmp_path):
    concepts = tmp_path / "concepts.txt"
    concepts.write_text("a red ball\na blue ball\n")
    with FakeOpenAI(default=reply(fenced(VALID))) as srv:
        r = refine(srv, tmp_path, "--concepts", str(concepts), "--rounds", "1", "--out", str(tmp_path / "b1"))
        assert r.exit_code == 0, r.output
    with FakeOpenAI(default=reply(fenced(VALID_BLUE))) as srv:
        r = refine(
            srv, tmp_path, "--concepts", str(concepts), "--rounds", "1", "--out", str(tmp_path / "b2"), model="other"
        )
        assert r.exit_code == 0, r.output
    index = (tmp_path / "b1" / "index.html").read_text()
    strips = pictures(index)
    assert [alt for alt, _ in strips] == ["a red ball: all rounds", "a blue ball: all rounds"]
    assert strips[0][1].size == Image.open(tmp_path / "b1" / "a-red-ball" / "strip.png").size
    assert 'href="#a-red-ball"' in index and "complete" in index
    r = CliRunner().invoke(
        main, ["refine", "--compare", str(tmp_path / "b1"), str(tmp_path / "b2"), "--out", str(tmp_path / "c")]
    )
    assert r.exit_code == 0, r.output
    html = (tmp_path / "c" / "compare.html").read_text()
    pics = pictures(html)
    assert len(pics) == 4 and "<th>a-red-ball</th>" in html and "<th>a-blue-ball</th>" in html
    # each row: batch 1 (red) then batch 2 (blue)
    assert colour_at_centre(pics[0][1])[0] > 200 and colour_at_centre(pics[1][1])[2] > 200
    assert "other · 1/1 rounds ok" in html
    r = CliRunner().invoke(main, ["refine", "--compare", str(tmp_path / "b1"), str(tmp_path / "b1" / "a-red-ball")])
    assert r.exit_code == 2 and "not a mix" in r.output

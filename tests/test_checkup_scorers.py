"""Check-up scorers: the pixel baseline, CLIP through open_clip's own loading path (a tiny random model made
here, its weights saved and reloaded from a file), the maths on hand-made embeddings, and the VLM judge
against the scripted local server."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
from PIL import Image

from fake_openai_server import FakeOpenAI, reply, status
from vdsl.checkup.scorers import (
    Fidelity,
    cosine_distance,
    fidelity_from_embeddings,
    make_scorer,
    mean_pairwise,
    rank_of,
    shuffled_candidates,
)
from vdsl.errors import UsageError
from vdsl.llm.client import LLMError


def solid(color, size=48) -> Image.Image:
    return Image.new("RGB", (size, size), color)


def half(color, size=48) -> Image.Image:
    im = solid("white", size)
    im.paste(Image.new("RGB", (size // 2, size), color), (0, 0))
    return im


# ------------------------------------------------------------------ maths on hand-made embeddings
def test_rank_of_counts_candidates_at_least_as_similar():
    cands = ["cat", "dog", "sun", "car"]
    assert rank_of("cat", cands, [0.9, 0.1, 0.2, 0.3]) == (1, "cat")
    assert rank_of("sun", cands, [0.9, 0.1, 0.2, 0.3]) == (3, "cat")
    assert rank_of("Dog", cands, [0.1, 0.5, 0.5, 0.0])[0] == 2  # a tie earns no credit
    assert rank_of("owl", cands, [0.1, 0.2, 0.3, 0.4]) == (5, "car")  # a truth not among them ranks last + 1


def test_fidelity_and_diversity_from_embeddings():
    texts = {"cat": [1.0, 0.0, 0.0], "dog": [0.0, 1.0, 0.0], "sun": [0.0, 0.0, 1.0]}
    imgs = [[0.8, 0.6, 0.0], [0.0, 0.6, 0.8], [-1.0, 0.0, 0.0]]
    got = fidelity_from_embeddings(imgs, ["cat", "dog", "cat"], list(texts), list(texts.values()))
    assert got[0] == Fidelity(1, "cat", 80.0)  # cos 0.8 -> CLIP score 80
    assert got[1] == Fidelity(2, "sun", 60.0)  # dog 0.6 < sun 0.8
    assert got[2].rank == 3 and got[2].score == 0.0  # a negative cosine scores 0
    # mean pairwise cosine distance: orthogonal pairs 1, identical 0
    assert mean_pairwise([[1, 0], [0, 1]], cosine_distance) == pytest.approx(1.0)
    assert mean_pairwise([[1, 0], [2, 0], [0, 3]], cosine_distance) == pytest.approx((0 + 1 + 1) / 3)
    assert mean_pairwise([[1, 0]], cosine_distance) is None


# ------------------------------------------------------------------ pixel baseline
def test_pixel_baseline_diversity_only():
    s = make_scorer("pixel")
    assert s.name == "pixel" and "baseline" in s.label
    assert s.fidelity([solid("red")], ["cat"], ["cat", "dog"]) is None
    assert s.diversity([solid("black"), solid("white")]) == pytest.approx(1.0)
    assert s.diversity([solid("red"), solid("red"), solid("red")]) == pytest.approx(0.0)
    # black/white/white: pairs 1, 1, 0
    assert s.diversity([solid("black"), solid("white"), solid("white")]) == pytest.approx(2 / 3)
    assert s.diversity([half("black"), solid("white")]) == pytest.approx(0.5**0.5, abs=0.03)
    # transparent pixels count as white (the page), so an empty RGBA render equals a white one
    assert s.diversity([Image.new("RGBA", (40, 40), (0, 0, 0, 0)), solid("white", 40)]) == pytest.approx(0.0)
    assert s.diversity([solid("red")]) is None


@pytest.mark.parametrize("spec", ["", "pixels", "pixel:x", "judge", "clip-ish:foo", "vgg"])
def test_unknown_specs_are_usage_errors(spec):
    with pytest.raises(UsageError) as e:
        make_scorer(spec)
    assert "pixel" in e.value.message or "judge:MODEL" in e.value.message


# ------------------------------------------------------------------ CLIP through open_clip
open_clip = pytest.importorskip("open_clip")
TINY = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny open_clip config, the random model made from it, and its weights saved to a file."""
    import torch

    d = tmp_path_factory.mktemp("clip")
    cfg = d / "vdsl-tiny-clip.json"
    cfg.write_text(json.dumps(TINY))
    torch.manual_seed(0)
    scorer = make_scorer("clip:vdsl-tiny-clip", model_config=cfg, random_weights=True)
    weights = d / "tiny.pt"
    torch.save(scorer._net.state_dict(), weights)
    return cfg, scorer, weights


def test_clip_plumbing_on_a_tiny_random_model(tiny):
    cfg, s, _ = tiny
    assert s.name == "clip:vdsl-tiny-clip:random" and "meaningless" in s.label
    images = [solid("red"), half("blue"), solid("white")]
    cands = ["cat", "dog", "sun", "car"]
    got = s.fidelity(images, ["cat", "sun", "car"], cands)
    assert len(got) == 3
    img_e, txt_e = s.embed_images(images), s.embed_texts(cands)
    assert len(img_e[0]) == 16 and sum(x * x for x in img_e[0]) == pytest.approx(1.0, abs=1e-5)
    assert got == fidelity_from_embeddings(img_e, ["cat", "sun", "car"], cands, txt_e)  # the same maths
    for f in got:
        assert 1 <= f.rank <= 4 and f.chosen in cands and 0.0 <= f.score <= 100.0
    assert s.diversity(images) == pytest.approx(mean_pairwise(img_e, cosine_distance))
    assert s.diversity([solid("red"), solid("red")]) == pytest.approx(0.0, abs=1e-6)
    assert s.diversity([solid("red")]) is None


def test_clip_weights_load_from_a_local_file(tiny):
    cfg, random_one, weights = tiny
    loaded = make_scorer(f"clip:vdsl-tiny-clip:{weights}", model_config=cfg)
    assert loaded.name == f"clip:vdsl-tiny-clip:{weights}"
    images = [solid("red"), half("green")]
    # a freshly initialised model differs; the one loaded from the file is the saved one
    for a, b in zip(loaded.embed_images(images), random_one.embed_images(images), strict=True):
        assert a == pytest.approx(b, abs=1e-5)
    assert loaded.embed_texts(["a cat"]) == [pytest.approx(random_one.embed_texts(["a cat"])[0], abs=1e-5)]


def test_clip_missing_or_bad_weights_are_clear_messages(tiny, tmp_path, monkeypatch):
    cfg, _, _ = tiny
    with pytest.raises(UsageError, match=r"weight file .*nowhere\.pt does not exist"):
        make_scorer(f"clip:vdsl-tiny-clip:{tmp_path / 'nowhere.pt'}", model_config=cfg)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(UsageError, match="could not load CLIP weights for vdsl-tiny-clip"):
        make_scorer(f"clip:vdsl-tiny-clip:{junk}", model_config=cfg)
    with pytest.raises(UsageError, match="needs weights"):
        make_scorer("clip:vdsl-tiny-clip", model_config=cfg)
    with pytest.raises(UsageError, match="knows no model 'no-such-net'"):
        make_scorer("clip:no-such-net:x.pt")
    with pytest.raises(UsageError, match="has no weights 'nope' for ViT-B-32"):
        make_scorer("clip:ViT-B-32:nope")
    with pytest.raises(UsageError, match="config .* does not exist"):
        make_scorer("clip:x", model_config=tmp_path / "none.json", random_weights=True)


def test_clip_pretrained_tag_not_in_the_cache_offline(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # read when huggingface_hub is imported; set both
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(UsageError) as e:
        make_scorer("clip", clip_cache_dir=str(tmp_path / "empty"), cache_dir=str(tmp_path / "llm"))
    msg = e.value.message
    assert "could not load CLIP weights for ViT-B-32 (tag 'laion2b_s34b_b79k')" in msg
    assert "clip:MODEL:/path/to/" in msg


# ------------------------------------------------------------------ the VLM judge
def shown(body) -> tuple[list[str], Image.Image]:
    content = body["messages"][-1]["content"]
    url = next(p["image_url"]["url"] for p in content if p["type"] == "image_url")
    assert url.startswith("data:image/png;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    text = next(p["text"] for p in content if p["type"] == "text")
    return re.findall(r"^- (.+)$", text, re.M), img


def test_judge_picks_from_shuffled_candidates(tmp_path):
    cands = ["cat", "dog", "sun", "car", "tree"]
    truths = {"red": "sun", "blue": "car", "green": "tree"}

    def see(body):  # a judge that sees colours: red -> sun, blue -> dog (wrong), green -> nothing it names
        opts, img = shown(body)
        assert sorted(opts) == sorted(cands)
        r, g, b = img.convert("RGB").getpixel((2, 2))
        if r > 200 and g < 50:
            return reply("sun")
        if b > 200:
            return reply("I think it is a dog.")
        return reply("Hard to say.")

    images = [solid((255, 0, 0)), solid((0, 0, 255)), solid((0, 255, 0))]
    with FakeOpenAI(default=see) as srv:
        s = make_scorer("judge:vision-model", base_url=srv.base_url, api_key="k", seed=3)
        got = s.fidelity(images, list(truths.values()), cands)
        assert srv.count == 3
        body = srv.requests[0]
        assert body["model"] == "vision-model" and body["temperature"] == 0
        assert s.diversity(images) is None
    assert got == [Fidelity(1, "sun", None), Fidelity(2, "dog", None), Fidelity(2, "", None)]
    assert s.name == "judge:vision-model" and "judge" in s.label.lower()
    orders = [shown(b)[0] for b in srv.requests]
    text = srv.requests[0]["messages"][-1]["content"][1]["text"]
    assert not re.search(r"^[A-E]\)", text, re.M)  # no letters: no position to prime
    assert len({tuple(o) for o in orders}) > 1  # the order changes per image
    assert [r["chosen"] for r in s.replies] == ["sun", "dog", ""]
    # seeded: the same seed and image give the same order; another seed another
    assert shuffled_candidates(cands, 3, "x") == shuffled_candidates(cands, 3, "x")
    assert {tuple(shuffled_candidates(cands, k, "x")) for k in range(6)} != {tuple(shuffled_candidates(cands, 3, "x"))}


def test_judge_rejected_request_goes_on_fatal_stops(tmp_path):
    with FakeOpenAI([status(400, message="image too large"), reply("cat")]) as srv:
        s = make_scorer("judge:m", base_url=srv.base_url, retries=0, concurrency=1)  # in order: the script is
        got = s.fidelity([solid("red"), solid("blue")], ["cat", "cat"], ["cat", "dog"])
    assert got == [Fidelity(2, "", None), Fidelity(1, "cat", None)]
    assert "image too large" in s.replies[0]["error"]
    with FakeOpenAI([status(401, message="bad key")]) as srv:
        s = make_scorer("judge:m", base_url=srv.base_url, retries=0)
        with pytest.raises(LLMError):
            s.fidelity([solid("red")], ["cat"], ["cat", "dog"])


def test_judge_needs_an_endpoint(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UsageError, match="no LLM endpoint"):
        make_scorer("judge:m", env={})


def test_judge_reuses_a_client_and_caches_by_image(tmp_path):
    from vdsl.llm.client import LLMClient
    from vdsl.llm.config import LLMConfig

    images = [solid("red"), solid("blue")]
    with FakeOpenAI(default=reply("cat")) as srv:
        s = make_scorer("judge:vlm", base_url=srv.base_url, cache_dir=str(tmp_path / "cache"))
        first = s.fidelity(images, ["cat", "dog"], ["cat", "dog"])
        s.close()
        again = make_scorer("judge:vlm", base_url=srv.base_url, cache_dir=tmp_path / "cache")
        assert again.fidelity(images, ["cat", "dog"], ["cat", "dog"]) == first and srv.count == 2  # from the cache
        again.close()
        drawer = LLMClient(LLMConfig(model="drawing-model", base_url=srv.base_url))
        judge = make_scorer("judge:vlm-2", client=drawer)
        judge.fidelity([solid("green")], ["dog"], ["cat", "dog"])
        assert srv.requests[-1]["model"] == "vlm-2" and drawer.config.model == "drawing-model"
        drawer.close()
    assert first == [Fidelity(1, "cat", None), Fidelity(2, "cat", None)]

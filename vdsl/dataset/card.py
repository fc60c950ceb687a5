"""The dataset card (README.md in the output): what was built, by which command, with counts and how to load it."""

from __future__ import annotations

from .stats import markdown_tables


def _size_category(n: int) -> str:
    for hi, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
    ):
        if n < hi:
            return label
    return "n>10M"


def render_card(stats: dict) -> str:
    """Deterministic Markdown (no dates, no timings): a resumed build writes the same card."""
    counts, cfg = stats["counts"], stats.get("config", {})
    size = cfg.get("size", ["?", "?"])
    shard = stats.get("shard")
    lines = [
        "---",
        "pretty_name: vdsl drawings",
        "task_categories:",
        "- image-classification",
        "tags:",
        "- synthetic",
        "- vdsl",
        "- procedural",
        "size_categories:",
        f"- {_size_category(counts['images'])}",
        "---",
        "",
        "# vdsl drawings",
        "",
        "Images rendered from programs written in vdsl — a small, safe drawing "
        "language for language models — each program rendered with several seeds (its `param`s and "
        "`rand`/`choice` draws change per seed).",
        "",
    ]
    if stats.get("kind") == "merge":
        lines += [
            f"Built in {len(stats.get('merged_from', []))} shards, each with:",
            "",
            "```",
            stats.get("build_command") or "vdsl dataset build",
            "```",
            "",
            "and merged with:",
            "",
            "```",
            stats.get("command", "vdsl dataset merge"),
            "```",
            "",
        ]
    else:
        lines += ["Built with:", "", "```", stats.get("command", "vdsl dataset build"), "```", ""]
    if stats.get("kind") != "merge" and shard and shard[1] > 1:
        lines += [f"This is shard {shard[0]} of {shard[1]}; join the shards with `vdsl dataset merge`.", ""]
    lines += [
        f"Render size {size[0]}x{size[1]} px, {cfg.get('variants', '?')} seeds per program "
        f"(seeds {cfg.get('seed_start', 0)}..{cfg.get('seed_start', 0) + cfg.get('variants', 1) - 1}), "
        f"vdsl {cfg.get('vdsl', '?')}.",
        "",
        "## Counts",
        "",
        markdown_tables(counts, max_concepts=500).rstrip("\n"),
        "",
        *_layout(cfg.get("format", "files"), cfg.get("shard_size")),
    ]
    lab = stats.get("labels")
    if lab:
        lines += [
            "## Object labels",
            "",
            f"`{lab['file']}` holds {lab['annotations']} instance annotations in {lab['categories']} categories "
            "(COCO: a category per `label` of the programs, `bbox`, `area`, `segmentation` as RLE, "
            "`iscrowd` 0; vdsl adds `label_path` and `parent_id` for objects inside objects). Each image's "
            "own annotations are beside it (`<program>_<seed>.coco.json`, the `labels_file` column). A mask "
            "holds the pixels where the object shows: later shapes hide it where they are over half opaque.",
            "",
            "```python",
            "from pycocotools.coco import COCO",
            f'coco = COCO("{lab["file"]}")',
            "```",
            "",
        ]
    return "\n".join(lines)


COLUMNS = (
    "`concept`, `concept_id`, `tier`, `program`, `program_hash` (sha256 of the source, 16 hex digits), "
    "`program_file`, `seed`, `model` and `refine_round` (for LLM-written programs), `width`, `height`, "
    "`image_sha256`"
)
COMMON_FILES = [
    "programs/<concept>/<program>.vd         the program behind each image",
    "failures.jsonl                          every dropped program and image, with the reason",
    "programs.jsonl                          every program, its status and images kept",
    "stats.json                              these counts, the settings and the command",
]

STATE_LINE = (
    ".vdsl-build/                            build state: journal and the rendered PNGs the shards are "
    "packed from (a rerun resumes from them; safe to delete once final, a rerun then renders again)"
)


def _layout(fmt: str, shard_size) -> list[str]:
    """The card's Layout and Loading sections for the output format."""
    if fmt == "webdataset":
        return [
            "## Layout",
            "",
            "```",
            f"shards/shard-NNNNNN.tar                 WebDataset shards of {shard_size} images: "
            "<concept>/<program>_<seed>.png + .json",
            "shards.json                             every shard: images, bytes, sha256, first and last key",
            "metadata.jsonl                          one line per image, with its `key` and `shard`",
            *COMMON_FILES,
            STATE_LINE,
            "```",
            "",
            f"Each sample's `.json` holds its metadata row: `file_name` (its member name), {COLUMNS}, `key`. "
            "Samples are in concept id, program and seed order.",
            "",
            "## Loading",
            "",
            "```python",
            "import glob, webdataset as wds",
            'ds = wds.WebDataset(sorted(glob.glob("shards/*.tar")), shardshuffle=False).decode("pil")',
            'for sample in ds: sample["png"], sample["json"]["concept"]',
            "```",
            "",
            "or train on it directly: `vdsl train <this folder>`.",
            "",
        ]
    if fmt == "parquet":
        return [
            "## Layout",
            "",
            "```",
            f"shards/shard-NNNNNN.parquet             Parquet shards of {shard_size} images (one row group each)",
            "shards.json                             every shard: images, bytes, sha256, first and last key",
            "metadata.jsonl                          one line per image, with its `key` and `shard`",
            *COMMON_FILES,
            STATE_LINE,
            "```",
            "",
            f"Columns: `image` (PNG bytes, a Hugging Face `Image`), `key`, {COLUMNS}. "
            "Rows are in concept id, program and seed order.",
            "",
            "## Loading",
            "",
            "```python",
            "from datasets import load_dataset",
            'ds = load_dataset("parquet", data_files="shards/*.parquet", split="train")',
            "```",
            "",
            "or train on it directly: `vdsl train <this folder>`.",
            "",
        ]
    return [
        "## Layout",
        "",
        "```",
        "images/<concept>/<program>_<seed>.png   one folder per concept (torchvision ImageFolder)",
        COMMON_FILES[0],
        "metadata.jsonl                          one line per image (Hugging Face imagefolder)",
        *COMMON_FILES[1:],
        "```",
        "",
        f"`metadata.jsonl` columns: `file_name` (relative to this folder), {COLUMNS}. "
        "Lines are sorted by concept id, program and seed.",
        "",
        "## Loading",
        "",
        "```python",
        "from torchvision.datasets import ImageFolder",
        'ds = ImageFolder("images")                      # classes = concept folders',
        "",
        "from datasets import load_dataset",
        'ds = load_dataset("imagefolder", data_dir=".")  # columns from metadata.jsonl',
        "```",
        "",
    ]

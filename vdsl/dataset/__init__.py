"""Datasets from vdsl programs: parallel, resumable, shardable builds of images + metadata.jsonl, with stats and previews."""

from .build import BuildIncomplete, BuildOptions, DatasetUsageError, build
from .preview import preview
from .shard import merge, parse_shard
from .stats import compute as compute_stats

__all__ = [
    "BuildIncomplete",
    "BuildOptions",
    "DatasetUsageError",
    "build",
    "compute_stats",
    "merge",
    "parse_shard",
    "preview",
]

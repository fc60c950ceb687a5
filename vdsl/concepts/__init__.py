"""The concept corpus: shipped lists of shapes, objects, scenes and compositions, plus seeded generators."""

from .lists import (
    SOURCES,
    TIERS,
    Concept,
    composable_objects,
    generate_compositions,
    generate_shape_concepts,
    load_concepts,
    lookup,
    parse_concepts,
    pluralize,
    sample_concepts,
    slugify,
    vocabulary,
    with_article,
)

__all__ = [
    "SOURCES",
    "TIERS",
    "Concept",
    "composable_objects",
    "generate_compositions",
    "generate_shape_concepts",
    "load_concepts",
    "lookup",
    "parse_concepts",
    "pluralize",
    "sample_concepts",
    "slugify",
    "vocabulary",
    "with_article",
]

"""Train vision models on vdsl renders and evaluate them on real photos (needs the `train` extra: torch)."""

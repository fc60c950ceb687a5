"""The vision check-up as a benchmark: score models on drawing, improving and recognising concepts by tier (scorers, runs, report)."""

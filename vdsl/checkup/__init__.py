"""The vision check-up: score models on drawing, improving and recognising concepts (scorers, runs, report)."""

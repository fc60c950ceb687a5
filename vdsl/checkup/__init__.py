"""The vision check-up as a benchmark: many models drawing, improving and recognising concepts by tier, scored and reported."""

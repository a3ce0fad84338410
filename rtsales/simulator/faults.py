"""Fault injection: which faults are switched on, and the seeded dice that decide them.

`Faults` holds one probability in [0, 1] per fault. `FaultDice` owns its own
`random.Random(seed)` and draws the same number of values for the same request,
so one seed and one sequence of requests always give the same faults. The model
rolls the faults added later (p_cancel, p_400) on dice of their own, so adding them
moved none of the answers an existing seed gives.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

PROBABILITIES = ("p429", "p5xx", "p_slow", "p_truncated", "p_fatal", "p_expired", "p_cancel", "p_400")


@dataclass(frozen=True)
class Faults:
    """Fault probabilities; all off by default. `slow_seconds` is how long a slow
    response takes over a real socket (the in-process transport times out at once)."""

    p429: float = 0.0
    p5xx: float = 0.0
    p_slow: float = 0.0
    p_truncated: float = 0.0
    p_fatal: float = 0.0
    p_expired: float = 0.0
    p_cancel: float = 0.0  # a window with data still ends CANCELLED
    p_400: float = 0.0  # createReport answers Amazon's generic 400 "Invalid input"
    slow_seconds: float = 5.0

    def __post_init__(self) -> None:
        for name in PROBABILITIES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number from 0 to 1, not {value!r}")
        if not isinstance(self.slow_seconds, int | float) or self.slow_seconds < 0:
            raise ValueError(f"slow_seconds must be a number of seconds >= 0, not {self.slow_seconds!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Faults:
        """Build from JSON-like data; unknown keys are an error, missing keys are off."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**dict(data))

    def as_dict(self) -> dict[str, float]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


class FaultDice:
    """Seeded yes/no decisions, one draw per question asked."""

    def __init__(self, seed: int, stream: str = "faults") -> None:
        self._rng = random.Random(f"rtsales-simulator-{stream}:{seed}")

    def roll(self, probability: float) -> bool:
        return self._rng.random() < probability

    def choice(self, options: tuple[int, ...]) -> int:
        return self._rng.choice(options)

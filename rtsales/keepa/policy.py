"""The two token policies, as pure decisions on (balance, cost, caller buffer).

controlled-deficit (default): Keepa runs any request while the balance is
positive, so go ahead while the balance is above the threshold even when the
cost is larger; below it, wait only until the balance is threshold + 5.
strict: never plan a deficit. Refuse when the balance is under the minimum or
under the cost, and warn when a request would leave less than the safety
buffer. Strict does not wait: the refusal (exit 75) lets cron come back later.
A caller's buffer raises the threshold (or minimum) for that caller only.
"""

from __future__ import annotations

from dataclasses import dataclass

from rtsales.config import Settings

CONTROLLED_DEFICIT = "controlled-deficit"
STRICT = "strict"
RESUME_MARGIN = 5  # resume a little above the threshold, so one refill does not flip-flop


@dataclass(frozen=True)
class Policy:
    name: str = CONTROLLED_DEFICIT
    threshold: int = 50
    min_balance: int = 10
    safety_buffer: int = 20

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(settings.keepa_policy, settings.keepa_deficit_threshold,
                   settings.keepa_strict_min_balance, settings.keepa_strict_safety_buffer)

    def floor(self, caller_buffer: int = 0) -> int:
        """The balance this policy needs before any request: threshold or minimum, plus the caller's buffer."""
        base = self.threshold if self.name == CONTROLLED_DEFICIT else self.min_balance
        return base + caller_buffer


@dataclass(frozen=True)
class Decision:
    approved: bool
    balance: float
    cost: int
    needed: float  # the balance at which this request would be approved
    waits: bool  # refused now, but the policy waits for `needed` rather than failing
    reason: str
    warning: str | None = None

    @property
    def deficit(self) -> float:
        return max(0.0, self.needed - self.balance)


def decide(policy: Policy, balance: float, cost: int, caller_buffer: int = 0) -> Decision:
    if policy.name == STRICT:
        return _strict(policy, balance, cost, caller_buffer)
    return _controlled_deficit(policy, balance, cost, caller_buffer)


def _controlled_deficit(policy: Policy, balance: float, cost: int, caller_buffer: int) -> Decision:
    threshold = policy.floor(caller_buffer)
    if balance > threshold:
        return Decision(True, balance, cost, balance, False,
                        f"balance {balance:g} is above the threshold {threshold}")
    target = threshold + RESUME_MARGIN
    return Decision(False, balance, cost, target, True,
                    f"balance {balance:g} is not above the threshold {threshold}; "
                    f"waiting until it reaches {target}")


def _strict(policy: Policy, balance: float, cost: int, caller_buffer: int) -> Decision:
    minimum = policy.floor(caller_buffer)
    needed = max(minimum, cost)
    if balance < minimum:
        return Decision(False, balance, cost, needed, False,
                        f"balance {balance:g} is under the strict minimum {minimum}")
    if cost > balance:
        return Decision(False, balance, cost, needed, False,
                        f"the request costs {cost} tokens but only {balance:g} are left")
    warning = None
    if balance - cost < policy.safety_buffer:
        warning = (f"this request leaves {balance - cost:g} tokens, under the safety buffer "
                   f"{policy.safety_buffer}")
    return Decision(True, balance, cost, needed, False, f"{cost} tokens of {balance:g} left", warning)

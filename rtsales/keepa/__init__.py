"""Keepa: product titles and sales ranks, bought with tokens under a persisted budget.

status.py   the last token status Keepa reported, stored, and projected forward
policy.py   the two spending policies (controlled-deficit, strict) as pure decisions
costs.py    token cost estimates per endpoint and options
budget.py   TokenBudget: waits, refusals, the NOT_ENOUGH_TOKEN cooldown, the `keepa` lease
client.py   the HTTP client; every call goes through the budget
cache.py    the 24-hour product cache and `cached_titles()` for other commands
products.py `rtsales keepa products`;  balance.py  `rtsales keepa balance`

Only client.py imports httpx, so cache.py and status.py stay cheap to import.
"""

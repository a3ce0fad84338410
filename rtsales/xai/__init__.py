"""xAI (Grok) for repetitive product judgments, under a strict daily cap and an answer cache.

Modules are imported where used, so `rtsales xai quota` never loads httpx.
"""

"""The asyncio implementation; ``ninja_redis._sync`` is generated from it (scripts/unasync.py)."""

"""Incentive campaigns: tiered bonuses and leaderboard prizes, awarded into the ledger."""

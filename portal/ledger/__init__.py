"""The append-only money ledger: balances are sums of entries."""

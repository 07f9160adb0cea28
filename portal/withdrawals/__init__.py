"""Withdrawals: distributors take available money out; ops approve and pay."""

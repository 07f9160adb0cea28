"""Programme reports for ops: KPIs, time series, top distributors, levels."""

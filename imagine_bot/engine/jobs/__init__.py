"""The job lifecycle: durable queue, fair scheduling, GPU-time ledger (SQLite; never torch)."""

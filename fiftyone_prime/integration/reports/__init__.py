"""Self-contained HTML reports of failure-mode and regression runs."""

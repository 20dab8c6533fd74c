"""`make bench`: latency ratios and query counts of the action plan pages (see README.md)."""

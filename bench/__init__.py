"""``make bench``: the hot paths measured against the raw libraries in the same run (issue 8)."""

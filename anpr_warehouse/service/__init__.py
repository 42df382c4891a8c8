"""The vendor API: a read-only HTTP service on published snapshots (see app.py)."""

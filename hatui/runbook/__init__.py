"""Runbooks: preflight checks plus ordered, verified, undoable steps (no UI here)."""

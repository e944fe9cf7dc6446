"""The six-step index-list workflow."""

"""The six-step index-list workflow: plan, link, put on the History server, fetch, key, join."""

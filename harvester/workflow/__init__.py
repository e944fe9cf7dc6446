"""The six-step index-list workflow: plan, link, history, fetch, key, join (steps.py lists them
once: plan the chunks and pages, link by per-id elink, put the targets on the History server,
fetch pages, key the records by uid, join them onto the sources)."""

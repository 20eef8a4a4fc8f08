"""Server-rendered pages (templates/) and small vanilla ES modules (static/). Pages call the same API."""

"""The web dashboard: pages and assets served by the operator API's app (no CDN, no Node.js
build), behind a login that swaps the API token for an HttpOnly session cookie."""

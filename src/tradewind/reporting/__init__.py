"""Reports: self-contained HTML pages of a run's results (plotly.js embedded, no CDN)."""

"""Market data: catalog (parquet store and instrument metadata), import, validation, download."""

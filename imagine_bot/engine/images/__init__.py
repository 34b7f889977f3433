"""Images in and out: the content-addressed store, the hostile-input fetcher, result files."""

"""What waits for whom, across documents and records (above both)."""

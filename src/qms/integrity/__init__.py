"""Trust: verify, checkpoints, rebuilding the catalog from the journal."""

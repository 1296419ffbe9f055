"""Storage: the workspace, the archive, the journal (audit.log), the one write path, the catalog
and its projection, post-commit events. Imports only qms.base."""

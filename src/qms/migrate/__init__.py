"""`qms migrate`: a workspace moved between the embedded form and PostgreSQL + a bucket (issue 26)."""

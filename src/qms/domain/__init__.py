"""What a procedure, a form, a revision and a record are; named catalog reads; what a reader sees."""

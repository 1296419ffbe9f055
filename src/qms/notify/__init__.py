"""Reminders (issue 23): due items become journaled reminders exactly once (a deterministic key,
written under the writer's lock); an e-mail goes out afterwards when notify.smtp is configured."""

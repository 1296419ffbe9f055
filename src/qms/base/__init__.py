"""The lowest layer: errors, the clock and dates, bounded input, YAML with line numbers, text width."""

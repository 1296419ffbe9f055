"""qms: document control and records archive for ISO 9001 / ISO 13485 quality systems."""

__version__ = "0.1.0"

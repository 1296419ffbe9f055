"""The web application (qms serve): server-rendered pages and a JSON API over the library."""

from .app import create_app

__all__ = ["create_app"]

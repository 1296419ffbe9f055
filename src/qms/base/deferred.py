"""A function named by its dotted path ("qms.search.indexing:on_commit"), imported on its first call.

The composition root (qms.startup) hands storage and the registries their subscribers, projection
handlers, followers, gates and sources by name, so a command that commits nothing (`qms record show`)
imports none of the services behind them; the first commit, replay or to-do imports what it calls."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache


@cache
def _resolve(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Deferred:
    path: str        # "package.module:function"; equal paths are one function (start-up may run twice)

    def __call__(self, *args, **kwargs):
        return _resolve(self.path)(*args, **kwargs)

    def resolve(self):
        return _resolve(self.path)

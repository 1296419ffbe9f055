"""What every catalog offers its readers and the projection, whichever database holds it: nested
transactions that join the outer one, and one/all/execute. `catalog.Catalog` (SQLite) and
`pg_catalog.PgCatalog` (PostgreSQL) say only how a transaction begins, commits and rolls back."""

from __future__ import annotations

from contextlib import contextmanager


class CatalogBase:
    conn = None
    _depth = 0

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    @contextmanager
    def transaction(self):
        """BEGIN … COMMIT; nested use joins the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self._begin()
        self._depth = 1
        try:
            yield self.conn
        except BaseException:
            self._rollback()
            raise
        else:
            self._commit()
        finally:
            self._depth = 0

    def one(self, sql: str, *args):
        return self.conn.execute(sql, args).fetchone()

    def all(self, sql: str, *args):
        return self.conn.execute(sql, args).fetchall()

    def execute(self, sql: str, *args):
        return self.conn.execute(sql, args)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""The test PostgreSQL is real: version 15, UTF-8, and each test gets its own database."""

import psycopg


def test_a_fresh_database_on_a_real_postgresql_15(pg_database, pg_cluster):
    with psycopg.connect(pg_database) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()[0]
        encoding = conn.execute("SHOW server_encoding").fetchone()[0]
        conn.execute("CREATE TABLE t(x text)")
        conn.execute("INSERT INTO t VALUES ('压缩机')")
        assert conn.execute("SELECT x FROM t").fetchone()[0] == "压缩机"
    assert version.startswith("15")
    assert encoding == "UTF8"
    other = pg_cluster.create_database()
    assert other != pg_database
    with psycopg.connect(other) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 't'").fetchone()[0] == 0

"""Where a workspace keeps its catalog, journal and files (issue 26): `qms init --database --objects`."""

import yaml
from click.testing import CliRunner

from qms.cli import cli


def test_init_writes_the_storage_a_group_of_sites_shares(tmp_path):
    ws = tmp_path / "ws"
    r = CliRunner().invoke(cli, ["init", str(ws), "--org", "某物业公司", "--database",
                                 "postgresql://qms@db.example:5432/qms", "--objects", "s3://qms-archive/site1",
                                 "--s3-endpoint", "http://rgw.example:7480"])
    assert r.exit_code == 0, r.output
    storage = yaml.safe_load((ws / "config.yaml").read_text(encoding="utf-8"))["storage"]
    assert storage == {"database": "postgresql://qms@db.example:5432/qms", "objects": "s3://qms-archive/site1",
                       "s3_endpoint": "http://rgw.example:7480"}


def test_a_password_in_the_database_url_is_refused_and_nothing_is_made(tmp_path):
    ws = tmp_path / "ws"
    r = CliRunner().invoke(cli, ["init", str(ws), "--org", "某物业公司", "--database", "postgresql://qms:secret@db/qms"])
    assert r.exit_code == 1
    assert "PGPASSWORD" in r.output and "secret" not in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not ws.exists()


def test_a_mistyped_storage_key_in_config_yaml_is_named(tmp_path):
    ws = tmp_path / "ws"
    assert CliRunner().invoke(cli, ["init", str(ws), "--org", "某物业公司"]).exit_code == 0
    with open(ws / "config.yaml", "a", encoding="utf-8") as f:
        f.write("\nstorage:\n  objekts: s3://b/p\n")
    r = CliRunner().invoke(cli, ["-w", str(ws), "log"])
    assert r.exit_code == 1
    assert "config.yaml" in r.output and "objekts" in r.output and "objects" in r.output

"""The Spark engine's settings, without starting Spark: what a cluster user writes in
[spark] becomes the session's settings, and lake paths map onto lake_uri."""

from __future__ import annotations

from pathlib import Path

import pytest

from custlens.config import load_settings
from custlens.engine.spark import DEFAULT_OPTIONS, session_conf, spark_uri
from custlens.errors import CustlensError
from custlens.lake import Lake


def test_embedded_metastore_lives_in_the_lake(tmp_path, monkeypatch):
    monkeypatch.delenv("CUSTLENS_SPARK_MASTER", raising=False)
    lake = Lake(tmp_path / "lake")
    conf = session_conf(lake, DEFAULT_OPTIONS)
    assert conf["spark.master"] == "local[2]"
    assert conf["spark.sql.catalogImplementation"] == "hive"
    home = lake.ops("metastore")
    assert conf["spark.hadoop.javax.jdo.option.ConnectionURL"] == (
        f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true")
    assert str(home) in conf["spark.driver.extraJavaOptions"]  # derby.log beside it, not in cwd
    assert conf["spark.sql.session.timeZone"] == "UTC"


def test_cluster_settings_pass_through(tmp_path, monkeypatch):
    monkeypatch.delenv("CUSTLENS_SPARK_MASTER", raising=False)
    (tmp_path / "custlens.toml").write_text(
        '[spark]\nmaster = "yarn"\nmetastore = "external"\n'
        '[spark.conf]\n"spark.hadoop.hive.metastore.uris" = "thrift://ms:9083"\n'
        '"spark.executor.memory" = "8g"\n"spark.sql.shuffle.partitions" = 400\n')
    settings = load_settings(tmp_path / "custlens.toml", tmp_path / "lake")
    conf = session_conf(Lake(settings.lake), settings.get("spark"))
    assert conf["spark.master"] == "yarn"
    assert conf["spark.hadoop.hive.metastore.uris"] == "thrift://ms:9083"
    assert conf["spark.executor.memory"] == "8g"
    assert conf["spark.sql.shuffle.partitions"] == "400"  # the user's wins over ours
    assert "spark.hadoop.javax.jdo.option.ConnectionURL" not in conf
    off = session_conf(Lake(settings.lake), {**settings.get("spark"), "metastore": "off"})
    assert "spark.sql.catalogImplementation" not in off
    monkeypatch.setenv("CUSTLENS_SPARK_MASTER", "local[1]")
    assert session_conf(Lake(settings.lake), settings.get("spark"))["spark.master"] == "local[1]"


def test_bad_metastore_setting_is_refused(tmp_path):
    (tmp_path / "custlens.toml").write_text('[spark]\nmetastore = "derby"\n')
    with pytest.raises(CustlensError, match="spark.metastore must be embedded, external or off, not 'derby'"):
        load_settings(tmp_path / "custlens.toml", tmp_path / "lake")


def test_lake_paths_map_onto_lake_uri(tmp_path):
    root = tmp_path / "lake"
    path = root / "dwd" / "dwd_orders" / "abc123"
    assert spark_uri(root, "", path) == str(path)
    assert spark_uri(root, "hdfs://nn:8020/custlens/lake/", path) == "hdfs://nn:8020/custlens/lake/dwd/dwd_orders/abc123"
    assert spark_uri(root, "s3a://bucket/lake", root) == "s3a://bucket/lake/."
    with pytest.raises(CustlensError, match="outside the lake"):
        spark_uri(root, "s3a://bucket/lake", Path("/etc/passwd"))


def test_free_form_maps_keep_their_dotted_keys(tmp_path):
    """[spark.conf] and [kafka.client] hold other systems' own key names, dots included."""
    (tmp_path / "custlens.toml").write_text(
        '[kafka.client]\n"socket.timeout.ms" = 5000\n[spark.conf]\n"spark.yarn.queue" = "crm"\n')
    settings = load_settings(tmp_path / "custlens.toml", tmp_path / "lake")
    assert settings.get("kafka")["client"] == {"socket.timeout.ms": 5000}
    assert settings.get("spark")["conf"] == {"spark.yarn.queue": "crm"}

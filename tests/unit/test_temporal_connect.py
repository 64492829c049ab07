"""The Temporal connection is configured as the Temporal CLI's is (temporalio.envconfig): the
TEMPORAL_* variables and a TOML profile reach Client.connect's arguments."""

from temporalio.service import TLSConfig

from casework.settings import Settings
from casework.temporal import connect_config

CLOUD = {
    "TEMPORAL_ADDRESS": "casework.a1b2c.tmprl.cloud:7233",
    "TEMPORAL_NAMESPACE": "casework.a1b2c",
    "TEMPORAL_API_KEY": "secret-key",
}


def settings_from(env: dict[str, str], monkeypatch) -> Settings:
    """Settings as a process with exactly `env` would read them (no .env file)."""
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def test_address_namespace_and_api_key_reach_connect_with_tls(monkeypatch):
    config = connect_config(settings_from(CLOUD, monkeypatch), CLOUD)
    assert config["target_host"] == "casework.a1b2c.tmprl.cloud:7233"
    assert config["namespace"] == "casework.a1b2c"
    assert config["api_key"] == "secret-key"
    assert config["tls"]  # an API key means TLS, as Temporal Cloud needs


def test_tls_flag_and_server_name(monkeypatch):
    env = {"TEMPORAL_ADDRESS": "temporal.internal:7233", "TEMPORAL_TLS": "true"}
    env |= {"TEMPORAL_TLS_SERVER_NAME": "temporal.example"}
    config = connect_config(settings_from(env, monkeypatch), env)
    assert isinstance(config["tls"], TLSConfig)
    assert config["tls"].domain == "temporal.example"
    assert "api_key" not in config


def test_tls_can_be_turned_off_with_an_api_key(monkeypatch):
    env = CLOUD | {"TEMPORAL_TLS": "false"}
    config = connect_config(settings_from(env, monkeypatch), env)
    assert config["tls"] is False


def test_nothing_configured_is_the_local_dev_server_without_tls(monkeypatch):
    config = connect_config(settings_from({}, monkeypatch), {})
    assert config == {"target_host": "127.0.0.1:7233", "namespace": "default"}


def test_a_toml_profile_is_used_unless_the_settings_name_another_server(tmp_path, monkeypatch):
    toml = tmp_path / "temporal.toml"
    toml.write_text(
        '[profile.cloud]\naddress = "p.tmprl.cloud:7233"\nnamespace = "p.acct"\napi_key = "k"\n'
    )
    env = {"TEMPORAL_CONFIG_FILE": str(toml), "TEMPORAL_PROFILE": "cloud"}
    config = connect_config(settings_from({}, monkeypatch), env)
    assert (config["target_host"], config["namespace"], config["api_key"]) == (
        "p.tmprl.cloud:7233",
        "p.acct",
        "k",
    )
    explicit = Settings(_env_file=None, temporal_address="other:7233")
    assert connect_config(explicit, env)["target_host"] == "other:7233"

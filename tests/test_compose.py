"""docker-compose.yml and the Dockerfile hold what a production stack needs (Docker cannot run
here, so this reads them): the API reachable from outside its container, migrations and search
attributes before any API or worker, every setting the processes need, pinned images, health
checks, and an image that runs the installed wheel as a non-root user."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from casework.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
PROCESSES = ("api", "worker", "migrate", "search-attributes")  # run the casework image
ONE_SHOTS = ("migrate", "search-attributes")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}
VARIABLE = re.compile(r"\$\{(\w+)(?:(:?-)([^}]*)|(:?\?)[^}]*)?\}")
REQUIRED = "<required>"


def resolved(value: object) -> str:
    """A value as compose would see it with no variable set: the default, or REQUIRED where
    compose refuses to start without the variable."""

    def one(m: re.Match) -> str:
        if m.group(2):
            return m.group(3)
        if m.group(4):
            return REQUIRED
        raise AssertionError(f"${{{m.group(1)}}} has neither a default nor is required")

    return VARIABLE.sub(one, str(value))


def depends_on(service: dict) -> dict[str, dict]:
    """depends_on in either form compose takes (a list: no condition)."""
    deps = service.get("depends_on", {})
    return {name: {} for name in deps} if isinstance(deps, list) else deps


def env_of(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment", {})
    assert isinstance(env, dict), f"{service}: environment as a mapping"
    return {k: resolved(v) for k, v in env.items()}


def aliases(name: str) -> set[str]:
    """The environment variable names a Settings field is read from."""
    alias = Settings.model_fields[name].validation_alias
    if alias is None:
        return {name.upper()}
    if isinstance(alias, str):
        return {alias}
    return {str(choice) for choice in alias.choices}


SERVERS = ("database_url", "temporal_address", "smtp_url")  # what the processes connect to


def host_of(value: str) -> str | None:
    return urlsplit(value).hostname if "://" in value else value.rpartition(":")[0]


def needed_settings() -> set[str]:
    """The fields whose default is only right on a developer's machine (loopback addresses,
    mail switched off) and the admin token, without which nobody can administer the API."""
    needed = {"admin_token"}
    for name, field in Settings.model_fields.items():
        default = str(field.default)
        if "127.0.0.1" in default or "localhost" in default or default == "smtp://disabled":
            needed.add(name)
    return needed


def test_the_needed_settings_are_what_we_think():
    assert {"database_url", "temporal_address", "smtp_url", "api_host", "public_url"} <= (
        needed_settings()
    )


@pytest.mark.parametrize("service", PROCESSES)
def test_every_needed_setting_is_provided(service):
    env = env_of(service)
    for name in needed_settings():
        given = aliases(name) & env.keys()
        assert given, f"{service}: {name} ({' or '.join(sorted(aliases(name)))}) not set"
        (value,) = (env[k] for k in given)
        assert value, f"{service}: {name} is empty"
        if value != REQUIRED and name in SERVERS:
            # Inside a container loopback is the container itself.
            assert host_of(value) not in ("127.0.0.1", "localhost"), f"{service}: {name}"


@pytest.mark.parametrize("service", PROCESSES)
def test_every_variable_named_is_one_casework_reads(service):
    known = set().union(*(aliases(name) for name in Settings.model_fields))
    for name in env_of(service):
        assert name in known or name.startswith("TEMPORAL_"), f"{service}: {name} is read by nobody"


def test_the_processes_reach_the_stacks_postgres_and_temporal():
    env = env_of("api")
    assert urlsplit(env["DATABASE_URL"]).hostname == "postgres" and "postgres" in SERVICES
    assert env["TEMPORAL_ADDRESS"].split(":")[0] == "temporal" and "temporal" in SERVICES


def test_the_api_listens_on_every_interface_and_is_published():
    env = env_of("api")
    assert env["CASEWORK_API_HOST"] == "0.0.0.0"
    port = env.get("CASEWORK_API_PORT", "8000")
    assert any(str(p).endswith(f":{port}") for p in SERVICES["api"]["ports"])
    assert SERVICES["api"]["command"] == ["casework", "api"]


@pytest.mark.parametrize("service", ["api", "worker"])
def test_migrations_and_search_attributes_come_first(service):
    depends = SERVICES[service]["depends_on"]
    for one_shot in ONE_SHOTS:
        assert depends[one_shot] == {"condition": "service_completed_successfully"}, service
    assert SERVICES["migrate"]["command"] == ["casework", "migrate"]
    assert SERVICES["search-attributes"]["command"] == ["casework", "search-attributes"]
    assert SERVICES[service]["command"] == ["casework", service]


def test_one_shots_are_not_restarted():
    for service in SERVICES.values():
        for target, how in depends_on(service).items():
            if how.get("condition") == "service_completed_successfully":
                assert SERVICES[target].get("restart") == "no", target


def test_images_are_pinned():
    for name, service in SERVICES.items():
        image = resolved(service["image"])
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag and tag != "latest", f"{name}: {image}"
        assert REQUIRED not in image, name


def test_health_checks_guard_what_waits_on_them():
    for name in ("postgres", "temporal", "api"):
        check = SERVICES[name].get("healthcheck", {})
        assert check.get("test"), f"{name} has no health check"
    for name, service in SERVICES.items():
        for target, how in depends_on(service).items():
            if how.get("condition") == "service_healthy":
                assert SERVICES[target].get("healthcheck"), f"{name} waits on {target}"


def test_the_image_runs_the_installed_wheel_as_a_non_root_user():
    stages = re.split(r"(?m)^FROM ", (ROOT / "Dockerfile").read_text())
    final = stages[-1]
    assert "pip wheel" in stages[-2], "the build stage builds the wheel"
    assert not re.search(r"(?m)^COPY ", final), "no source tree in the final image"
    user = re.findall(r"(?m)^USER (\S+)", final)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"(?m)^\s*CASEWORK_API_HOST=0\.0\.0\.0", final)

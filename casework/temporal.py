"""How every Casework process connects to Temporal: `temporalio.envconfig` reads a TOML profile
(TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE) and the TEMPORAL_* variables (address, namespace,
API key, TLS and its certificates, gRPC metadata), as the Temporal CLI does."""

import logging
from collections.abc import Mapping
from typing import Any

from temporalio.client import Client
from temporalio.envconfig import ClientConfig, ClientConnectConfig
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
)

from casework.settings import Settings


def connect_config(settings: Settings, env: Mapping[str, str] | None = None) -> ClientConnectConfig:
    """The keyword arguments of Client.connect. Address and namespace: the settings' when they
    were given (TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE reach both), else the profile's, else
    the settings' defaults (the local dev server). `env`: instead of the process environment."""
    config = ClientConfig.load_client_connect_config(override_env_vars=env)
    given = settings.model_fields_set
    if "temporal_address" in given or "target_host" not in config:
        config["target_host"] = settings.temporal_address
    if "temporal_namespace" in given or "namespace" not in config:
        config["namespace"] = settings.temporal_namespace
    return config


async def connect(settings: Settings, **options: Any) -> Client:
    """A client on the configured Temporal; `options` are further Client.connect arguments."""
    return await Client.connect(**connect_config(settings), **options)


def sdk_runtime(metrics_address: str | None) -> Runtime:
    """The Temporal SDK's runtime for a process's client (and worker). The SDK's core (Rust)
    logs through Python's logging, so its lines come out like ours; with `metrics_address`
    (host:port) it serves its metrics there for Prometheus (`temporal_*`: RPC requests,
    failures and latencies; a worker's task latencies, slots, polls and sticky cache too)."""
    core_logs = LogForwardingConfig(
        logger=logging.getLogger("temporalio.core"), append_target_to_name=False
    )
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(filter=LoggingConfig.default.filter, forwarding=core_logs),
            metrics=PrometheusConfig(bind_address=metrics_address) if metrics_address else None,
        )
    )

"""Runtime configuration, read from the environment (pydantic-settings)."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

from pydantic import AliasChoices, BeforeValidator, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Rate(NamedTuple):
    """At most `count` requests in any `seconds`; a count of 0 turns the limit off."""

    count: int
    seconds: float


def parse_rate(value: object) -> object:
    """`COUNT/SECONDS` from the environment: `10/60` is ten a minute."""
    if isinstance(value, str):
        count, _, seconds = value.partition("/")
        return Rate(int(count), float(seconds or 60))
    return value


RateSetting = Annotated[Rate, NoDecode, BeforeValidator(parse_rate)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        "postgresql+psycopg://casework:casework@127.0.0.1:5432/casework",
        validation_alias=AliasChoices("DATABASE_URL", "CASEWORK_DATABASE_URL"),
    )
    temporal_address: str = Field(
        "127.0.0.1:7233", validation_alias=AliasChoices("TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field("default", validation_alias="TEMPORAL_NAMESPACE")
    # The Temporal Web UI, for the links from a case to its workflow (`casework dev`: :8233).
    temporal_ui_url: str = Field(
        "http://127.0.0.1:8233", validation_alias="CASEWORK_TEMPORAL_UI_URL"
    )
    task_queue: str = Field("casework", validation_alias="CASEWORK_TASK_QUEUE")
    smtp_url: str = Field("smtp://disabled", validation_alias="SMTP_URL")
    mail_from: str = Field("support@casework.localhost", validation_alias="CASEWORK_MAIL_FROM")
    # Who is told of an SLA breach (or anything for a supervisor) when there is no supervisor
    # to tell, so it still reaches someone. Unset: support-escalations@ the domain of
    # CASEWORK_MAIL_FROM (activities/deps.py).
    escalation_email: str | None = Field(None, validation_alias="CASEWORK_ESCALATION_EMAIL")
    admin_token: str | None = Field(None, validation_alias="CASEWORK_ADMIN_TOKEN")
    webhook_secret: str | None = Field(None, validation_alias="CASEWORK_WEBHOOK_SECRET")
    # ITSM escalation: our own incidents table, or an HTTP POST to an outside service desk.
    itsm_adapter: Literal["builtin", "webhook"] = Field(
        "builtin", validation_alias="CASEWORK_ITSM_ADAPTER"
    )
    itsm_webhook_url: str | None = Field(None, validation_alias="CASEWORK_ITSM_WEBHOOK_URL")
    api_host: str = Field("127.0.0.1", validation_alias="CASEWORK_API_HOST")
    api_port: int = Field(8000, validation_alias="CASEWORK_API_PORT")
    public_url: str = Field("http://127.0.0.1:8000", validation_alias="CASEWORK_PUBLIC_URL")
    home: Path = Field(Path(".casework"), validation_alias="CASEWORK_HOME")
    default_queue: str = Field("support", validation_alias="CASEWORK_DEFAULT_QUEUE")
    default_reopen_window_seconds: int = 7 * 24 * 3600
    worker_max_activities: int = Field(100, validation_alias="CASEWORK_WORKER_MAX_ACTIVITIES")
    # Mails the outbox relay has in flight at once (each worker process runs a relay).
    outbox_senders: int = Field(4, ge=1, validation_alias="CASEWORK_OUTBOX_SENDERS")
    # Running cases kept in the worker's memory between their steps; a case not in the cache
    # is rebuilt by replaying its history when it next has work (memory against CPU: about
    # 0.11 MB a cached case, so 1.1 GB when full; an action on an evicted case measured +6 ms
    # of worker and +4 ms of Temporal CPU). Temporal's Go SDK defaults to the same 10,000.
    worker_cache: int = Field(10_000, ge=1, validation_alias="CASEWORK_WORKER_CACHE")
    # One JSON object per line for `casework api` and `casework worker` (a log collector reads
    # it), or text for people reading a console.
    log_format: Literal["json", "text"] = Field("json", validation_alias="CASEWORK_LOG_FORMAT")
    log_level: str = Field("INFO", validation_alias="CASEWORK_LOG_LEVEL")
    # host:port on which `casework worker` serves the Temporal SDK's own metrics (its
    # Prometheus endpoint, /metrics); unset: none.
    worker_metrics_address: str | None = Field(
        None, validation_alias="CASEWORK_WORKER_METRICS_ADDRESS"
    )
    # Rate limits (COUNT/SECONDS, kept per API process; api/rate_limit.py). Sign-in attempts
    # per client address; cases opened by customers (API and portal) per client address and
    # per customer. Staff and integrations are not limited.
    rate_limit_login: RateSetting = Field(
        Rate(10, 60), validation_alias="CASEWORK_RATE_LIMIT_LOGIN"
    )
    rate_limit_open_case_client: RateSetting = Field(
        Rate(30, 60), validation_alias="CASEWORK_RATE_LIMIT_OPEN_CASE_CLIENT"
    )
    rate_limit_open_case: RateSetting = Field(
        Rate(10, 60), validation_alias="CASEWORK_RATE_LIMIT_OPEN_CASE"
    )
    # Sign-in links asked for one address (per client address: CASEWORK_RATE_LIMIT_LOGIN).
    rate_limit_sign_in_address: RateSetting = Field(
        Rate(5, 900), validation_alias="CASEWORK_RATE_LIMIT_SIGN_IN_ADDRESS"
    )
    # How long a browser session (the casework_token cookie) lasts, whatever signed it in.
    session_seconds: int = Field(12 * 3600, ge=60, validation_alias="CASEWORK_SESSION_SECONDS")
    # Inbound email (POST /inbound/email, `casework mail-intake`): messages per integration
    # token (or SMTP client address), the largest message and attachment taken (larger: 413),
    # reopenings of one case by mail per hour (past it a reply is kept, not acted on), and our
    # own addresses (never participants; mail from them is a loop), besides CASEWORK_MAIL_FROM.
    rate_limit_inbound_mail: RateSetting = Field(
        Rate(120, 60), validation_alias="CASEWORK_RATE_LIMIT_INBOUND_MAIL"
    )
    mail_max_bytes: int = Field(10_000_000, ge=1, validation_alias="CASEWORK_MAIL_MAX_BYTES")
    mail_max_attachment_bytes: int = Field(
        5_000_000, ge=1, validation_alias="CASEWORK_MAIL_MAX_ATTACHMENT_BYTES"
    )
    mail_reopens_per_hour: int = Field(3, ge=0, validation_alias="CASEWORK_MAIL_REOPENS_PER_HOUR")
    mail_addresses: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="CASEWORK_MAIL_ADDRESSES"
    )

    @field_validator("mail_addresses", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [a.strip().lower() for a in value.split(",") if a.strip()]
        return value

    @property
    def own_addresses(self) -> frozenset[str]:
        """Every address that is ours: the sender of our mail and the inbound ones."""
        return frozenset([self.mail_from.lower(), *self.mail_addresses])

    # Scheduled triggers (casework/schedules.py): how often each maintenance plan and the
    # entitlement expiry look for what falls due, and how far ahead an entitlement's end
    # opens its renewal case.
    scheduled_check_seconds: int = Field(
        24 * 3600, ge=60, validation_alias="CASEWORK_SCHEDULED_CHECK_SECONDS"
    )
    entitlement_expiry_lead_days: int = Field(
        30, ge=0, validation_alias="CASEWORK_ENTITLEMENT_EXPIRY_LEAD_DAYS"
    )
    # Housekeeping (workflows/housekeeping.py, daily): sessions and sign-in links are deleted
    # this many days after they expired, were revoked or were used.
    purge_after_days: int = Field(7, ge=0, validation_alias="CASEWORK_PURGE_AFTER_DAYS")
    # OpenTelemetry tracing (casework/tracing.py): the OTLP/HTTP collector's base URL; unset:
    # no tracing at all. OTEL_SERVICE_NAME and the other OTEL_* variables apply as usual.
    otlp_endpoint: str | None = Field(
        None, validation_alias=AliasChoices("CASEWORK_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    # host:port on which `casework api` serves its Temporal client's SDK metrics (as the
    # worker's CASEWORK_WORKER_METRICS_ADDRESS: RPC latencies and failures); unset: none.
    api_sdk_metrics_address: str | None = Field(
        None, validation_alias="CASEWORK_API_SDK_METRICS_ADDRESS"
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()

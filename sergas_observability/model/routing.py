"""Who gets told: receivers (with secrets only as file paths) and severities."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from .base import after_check, Definition, Duration, duration_seconds

# Field names that would put a secret inline; each maps to the *_file field to use.
_INLINE_SECRETS = {
    "routing_key": "routing_key_file",
    "service_key": "routing_key_file",
    "api_url": "api_url_file",
    "auth_password": "auth_password_file",
    "auth_secret": "auth_password_file",
    "password": "auth_password_file",
    "bearer_token": "bearer_token_file",
    "credentials": "bearer_token_file",
    "token": "bearer_token_file",
}


class _Receiver(Definition):
    kind_name = "Receiver"
    name: str
    send_resolved: bool = True

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if key in _INLINE_SECRETS:
                    raise ValueError(
                        f"inline secret '{key}' is not allowed: write it to a file and set "
                        f"'{_INLINE_SECRETS[key]}' to its path"
                    )
        return data

    @property
    def pages(self) -> bool:
        """True for receivers that wake someone up (removed where an environment never pages)."""
        return False


def _check_secret_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"'{value}' must be an absolute path to a file holding the secret")
    return value


class PagerDutyReceiver(_Receiver):
    type: Literal["pagerduty"] = "pagerduty"
    routing_key_file: str
    url: str | None = None

    _path = field_validator("routing_key_file")(classmethod(lambda cls, v: _check_secret_path(v)))

    @property
    def pages(self) -> bool:
        return True


class SlackReceiver(_Receiver):
    type: Literal["slack"] = "slack"
    api_url_file: str
    channel: str

    _path = field_validator("api_url_file")(classmethod(lambda cls, v: _check_secret_path(v)))

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if not value.startswith(("#", "@")):
            raise ValueError("channel must start with '#' or '@'")
        return value


class EmailReceiver(_Receiver):
    type: Literal["email"] = "email"
    to: str
    from_address: str
    smarthost: str
    auth_username: str | None = None
    auth_password_file: str | None = None
    require_tls: bool = True
    send_resolved: bool = False

    @field_validator("auth_password_file")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else _check_secret_path(value)

    @field_validator("to", "from_address")
    @classmethod
    def _address(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError(f"'{value}' is not an e-mail address")
        return value

    @after_check
    def _auth_pair(self) -> "EmailReceiver":
        if (self.auth_username is None) != (self.auth_password_file is None):
            raise self.fail("auth_password_file", "set both auth_username and auth_password_file, or neither")
        return self


class WebhookReceiver(_Receiver):
    type: Literal["webhook"] = "webhook"
    url: str
    bearer_token_file: str | None = None
    max_alerts: int = 0
    # A webhook into a paging service wakes someone up: dropped where an environment never pages.
    paging: bool = False

    @property
    def pages(self) -> bool:
        return self.paging

    @field_validator("url")
    @classmethod
    def _no_secret_in_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"'{value}' is not an http(s) URL")
        if parts.username or parts.password:
            raise ValueError("credentials in the URL would be written to generated files; use bearer_token_file")
        return value

    @field_validator("bearer_token_file")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else _check_secret_path(value)


Receiver = Annotated[
    Union[PagerDutyReceiver, SlackReceiver, EmailReceiver, WebhookReceiver], Field(discriminator="type")
]


class Severity(Definition):
    """An alert severity: where its notifications go and how they are batched.

    `latency_budget` is the longest acceptable time from a condition becoming
    true to the notification (checked by the lint against scrape, evaluation,
    `for` and group_wait).
    """

    kind_name = "Severity"
    name: str
    description: str
    receivers: tuple[str, ...]
    group_wait: Duration = "30s"
    group_interval: Duration = "5m"
    repeat_interval: Duration = "4h"
    inhibits: tuple[str, ...] = ()
    latency_budget: Duration | None = None

    @after_check
    def _sane(self) -> "Severity":
        if not self.receivers:
            raise self.fail("receivers", "a severity must reach at least one receiver")
        if len(set(self.receivers)) != len(self.receivers):
            raise self.fail("receivers", "receivers repeat")
        if self.name in self.inhibits:
            raise self.fail("inhibits", "a severity cannot inhibit itself")
        if duration_seconds(self.repeat_interval) < duration_seconds(self.group_interval):
            raise self.fail("repeat_interval", "repeat_interval is shorter than group_interval")
        return self

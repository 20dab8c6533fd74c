"""Small typed helpers that read the environment and fail loudly on bad values."""

import os
from email.utils import getaddresses, parseaddr
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_addresses(name: str) -> list[tuple[str, str]]:
    """`Name <a@example.org>, b@example.org` as Django's ADMINS wants them: (name, address)."""
    raw = os.environ.get(name, "")
    addresses = [(label, address) for label, address in getaddresses([raw]) if label or address]
    for _label, address in addresses:
        if "@" not in address:
            raise ImproperlyConfigured(
                f"{name} must list e-mail addresses, comma-separated: Name <a@example.org>, "
                f'"Name, with comma" <b@example.org> (got {raw!r})'
            )
    return addresses


# What "localhost" looks like in a URL or an address: none of it reaches anybody else.
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "0.0.0.0", "::1", "::"}  # noqa: S104


def _is_local_host(host: str) -> bool:
    host = host.strip().strip("[]").rstrip(".").lower()
    return (
        not host or host in _LOCAL_NAMES or host.endswith(".localhost") or host.startswith("127.")
    )


def is_local_url(url: str) -> bool:
    """True unless the URL names a host that other machines can reach."""
    return _is_local_host(urlsplit(url).hostname or "")


def is_local_address(value: str) -> bool:
    """True unless the e-mail address (`Name <a@b>` or `a@b`) has a real domain."""
    _label, address = parseaddr(value)
    _local, _at, domain = address.rpartition("@")
    return not _at or _is_local_host(domain)

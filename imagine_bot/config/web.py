"""Settings of the bot's web server (signed links, the Vary (Region) editor)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from imagine_bot.config.quoting import quoted

SECRET_ENV = "IMAGINE_WEB_SECRET"
"""The link-signing secret comes from here (never from a file that may be shared); unset, one is
generated once and kept in the data folder."""


class WebSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    listen: str = "127.0.0.1:8765"
    """``host:port`` to listen on; port 0 picks a free port (tests), and links then point at it."""
    public_url: str = "http://127.0.0.1:8765"
    """What links point at: the address members' browsers reach (a TLS reverse proxy's)."""
    link_minutes: float = Field(30.0, gt=0, le=7 * 24 * 60)
    max_upload_bytes: int = Field(4 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    """The largest request body the server reads (a mask upload, a form)."""
    header_timeout_s: float = Field(10.0, gt=0, le=300)
    """A connection that has not sent a request's headers this long after opening (or after
    the previous answer) is closed."""
    body_timeout_s: float = Field(30.0, gt=0, le=600)
    """A request whose body has not arrived whole this long after its headers is answered 408
    and closed."""
    max_connections: int = Field(256, ge=1, le=65536)
    """Connections open at once; the next is answered 503 and closed (each holds a file
    descriptor, which the bot also needs for its jobs)."""

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"{quoted(value)} is not host:port (e.g. 127.0.0.1:8765)")
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{quoted(value)} must start with http:// or https://")
        return value.rstrip("/")

    @property
    def public_url_warning(self) -> str | None:
        """A sentence when the server listens beyond this machine while links point back at
        it (``public_url`` left at localhost on a server): members' browsers would open their
        own computer. None otherwise."""
        if _is_loopback(self.host) or not _is_loopback(urlsplit(self.public_url).hostname or ""):
            return None
        return (
            f"web.listen is {self.listen}, reachable from other machines, but web.public_url "
            f"is {self.public_url}: links in Discord open members' own computers. Set [web] "
            "public_url to the address their browsers reach (your reverse proxy's https:// URL)."
        )

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

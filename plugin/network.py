"""The proxy the analyst set in QGIS (Settings > Options > Network), for pip and model downloads.

huggingface_hub (httpx) and pip read the standard proxy variables, so the QGIS proxy is copied into
this process's environment, and the hub's cached HTTP client is dropped so the next download uses it.
"""
from __future__ import annotations

import os
import sys
from typing import Optional
from urllib.parse import urlparse

from .packages_path import proxy_environment, proxy_url

_SCHEMES = {"HttpProxy": "http", "HttpCachingProxy": "http", "Socks5Proxy": "socks5h"}


def qgis_proxy(settings=None) -> tuple[Optional[str], str]:
    """(proxy URL, NO_PROXY hosts) from QGIS's settings; (None, "") when no proxy is set."""
    if settings is None:
        from qgis.core import QgsSettings

        settings = QgsSettings()
    if str(settings.value("proxy/proxyEnabled", "false")).lower() not in ("true", "1"):
        return None, ""
    kind = str(settings.value("proxy/proxyType", "HttpProxy"))
    if kind not in _SCHEMES:  # DefaultProxy: the system's, which the environment already holds
        return None, ""
    url = proxy_url(str(settings.value("proxy/proxyHost", "") or ""),
                    str(settings.value("proxy/proxyPort", "") or ""),
                    str(settings.value("proxy/proxyUser", "") or ""),
                    str(settings.value("proxy/proxyPassword", "") or ""), _SCHEMES[kind])
    return url, _no_proxy_hosts(settings.value("proxy/noProxyUrls", []))


def _no_proxy_hosts(value) -> str:
    items = value if isinstance(value, (list, tuple)) else str(value or "").split("|")
    hosts = [urlparse(i).hostname or i.strip() for i in items if str(i).strip()]
    return ",".join(h for h in hosts if h)


def apply_qgis_proxy(settings=None) -> Optional[str]:
    """Export QGIS's proxy to the environment (pip, huggingface_hub); returns the URL or None."""
    url, no_proxy = qgis_proxy(settings)
    if not url:
        return None
    os.environ.update(proxy_environment(url, no_proxy))
    hub = sys.modules.get("huggingface_hub")
    if hub is not None:  # its client read the environment when it was made
        close = getattr(hub, "close_session", None)  # older hubs read the environment per request
        if close is not None:
            close()
    return url

"""A service's own token for calls made outside any user's request (a worker's job)."""

from __future__ import annotations

from .errors import BusinessError
from .settings import get_settings


def own_token(service: str) -> str:
    """HALL_SERVICE_TOKEN, else the file deploy.prepare writes (services/auth/service_tokens.py).
    Read on every use: a renewed file is picked up without a restart."""
    settings = get_settings()
    if settings.service_token:
        return settings.service_token
    path = settings.var_path / "service_tokens" / f"{service}.jwt"
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise BusinessError("服务凭证未配置，请联系管理员", 503) from exc

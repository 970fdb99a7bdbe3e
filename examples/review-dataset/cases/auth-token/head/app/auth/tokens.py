import hmac
import time

from app.config import SECRET


def sign(user_id: str, expires_at: int) -> str:
    payload = f"{user_id}:{expires_at}"
    mac = hmac.new(SECRET, payload.encode(), "sha256").hexdigest()
    return f"{payload}:{mac}"


def verify(token: str) -> str | None:
    """Returns the user id of a valid, unexpired token."""
    user_id, expires_at, mac = token.rsplit(":", 2)
    expected = hmac.new(SECRET, f"{user_id}:{expires_at}".encode(), "sha256").hexdigest()
    if mac == expected:
        return user_id
    return None

import hmac
import time

from app.config import SECRET


def sign(user_id: str, expires_at: int) -> str:
    payload = f"{user_id}:{expires_at}"
    mac = hmac.new(SECRET, payload.encode(), "sha256").hexdigest()
    return f"{payload}:{mac}"

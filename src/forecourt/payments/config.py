"""Which payment providers this installation offers, and their keys (``FORECOURT_PAYMENTS_*``).

Kept here rather than in ``forecourt.config`` so the payment context owns its secrets. A value
starting with ``@`` is read from that file (PEM keys are best kept in files). A provider is offered
only when every one of its values is set:

- ``FORECOURT_PAYMENTS_NOTIFY_BASE_URL``: the public base URL providers call back (default
  ``http://localhost:8000``); notifications go to ``{base}/api/v1/payments/notify/{provider}``.
- ``FORECOURT_PAYMENTS_SANDBOX_ENABLED`` (default ``true``; production refuses the sandbox: a
  member could pay their own intent) and ``FORECOURT_PAYMENTS_SANDBOX_SECRET`` (default: a
  development secret derived deterministically from a fixed label, the same in every process, so a
  sandbox notification signed by one worker verifies in another).
- WeChat Pay: ``…_WECHAT_MCHID``, ``…_WECHAT_APPID``, ``…_WECHAT_SERIAL_NO``,
  ``…_WECHAT_PRIVATE_KEY`` (merchant key, PEM), ``…_WECHAT_APIV3_KEY`` (32 characters),
  ``…_WECHAT_PLATFORM_KEYS`` (``serial=@/path/key.pem`` pairs separated by commas).
- Alipay: ``…_ALIPAY_APP_ID``, ``…_ALIPAY_PRIVATE_KEY``, ``…_ALIPAY_PUBLIC_KEY`` (Alipay's key).
- UnionPay: ``…_UNIONPAY_MER_ID``, ``…_UNIONPAY_CERT_ID``, ``…_UNIONPAY_PRIVATE_KEY``,
  ``…_UNIONPAY_PUBLIC_KEY``.

Nothing here generates real provider keys: without them WeChat Pay, Alipay and UnionPay are simply
not offered, and the demo pays through the sandbox.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from forecourt.config import ConfigError
from forecourt.payments.errors import ProviderUnavailable
from forecourt.payments.providers.alipay import Alipay, AlipayConfig
from forecourt.payments.providers.base import PaymentProvider, load_private_key, load_public_key
from forecourt.payments.providers.sandbox import Sandbox
from forecourt.payments.providers.unionpay import UnionPay, UnionPayConfig
from forecourt.payments.providers.wechat import WechatConfig, WechatPay

PREFIX = "FORECOURT_PAYMENTS_"
NOTIFY_PATH = "/api/v1/payments/notify/{provider}"
DEVELOPMENT_SANDBOX_SECRET = hashlib.sha256(b"forecourt:payments:sandbox:development").digest()


@dataclass
class Payments:
    """The providers on offer (by name) and where they send their notifications."""

    providers: dict[str, PaymentProvider] = field(default_factory=dict)
    notify_base_url: str = "http://localhost:8000"

    def provider(self, name: str) -> PaymentProvider:
        found = self.providers.get(name)
        if found is None:
            raise ProviderUnavailable(provider=name, offered=sorted(self.providers))
        return found

    def notify_url(self, name: str) -> str:
        return self.notify_base_url.rstrip("/") + NOTIFY_PATH.format(provider=name)


def _value(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(PREFIX + name, "").strip()
    if not raw:
        return None
    if raw.startswith("@"):
        return Path(raw[1:]).read_text()
    return raw


def _all(env: Mapping[str, str], *names: str) -> list[str] | None:
    values = [_value(env, name) for name in names]
    if any(value is None for value in values):
        return None
    return [value for value in values if value is not None]


def from_environment(env: Mapping[str, str] | None = None) -> Payments:
    env = os.environ if env is None else env
    payments = Payments(notify_base_url=_value(env, "NOTIFY_BASE_URL") or "http://localhost:8000")
    production = env.get("FORECOURT_ENV", "").strip() == "production"
    if (_value(env, "SANDBOX_ENABLED") or ("false" if production else "true")).lower() in (
        "1",
        "true",
        "yes",
    ):
        secret = _value(env, "SANDBOX_SECRET")
        if production:  # a member could pay their own sandbox intent and be credited real wallet money
            raise ConfigError("refusing the payments sandbox in production")
        payments.providers["sandbox"] = Sandbox(secret.encode() if secret else DEVELOPMENT_SANDBOX_SECRET)
    wechat = _all(
        env,
        "WECHAT_MCHID",
        "WECHAT_APPID",
        "WECHAT_SERIAL_NO",
        "WECHAT_PRIVATE_KEY",
        "WECHAT_APIV3_KEY",
        "WECHAT_PLATFORM_KEYS",
    )
    if wechat is not None:
        mchid, appid, serial, private_pem, apiv3_key, platform = wechat
        keys = {}
        for pair in platform.split(","):
            key_serial, _, source = pair.strip().partition("=")
            pem = Path(source[1:]).read_text() if source.startswith("@") else source
            keys[key_serial] = load_public_key(pem)
        payments.providers["wechat"] = WechatPay(
            WechatConfig(mchid, appid, serial, load_private_key(private_pem), apiv3_key.encode(), keys)
        )
    alipay = _all(env, "ALIPAY_APP_ID", "ALIPAY_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY")
    if alipay is not None:
        app_id, private_pem, public_pem = alipay
        payments.providers["alipay"] = Alipay(
            AlipayConfig(app_id, load_private_key(private_pem), load_public_key(public_pem))
        )
    unionpay = _all(env, "UNIONPAY_MER_ID", "UNIONPAY_CERT_ID", "UNIONPAY_PRIVATE_KEY", "UNIONPAY_PUBLIC_KEY")
    if unionpay is not None:
        mer_id, cert_id, private_pem, public_pem = unionpay
        payments.providers["unionpay"] = UnionPay(
            UnionPayConfig(mer_id, cert_id, load_private_key(private_pem), load_public_key(public_pem))
        )
    return payments


@lru_cache(maxsize=1)
def configured() -> Payments:
    """The installation's providers, read once from the environment."""
    return from_environment()

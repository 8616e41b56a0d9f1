"""Push providers (campaigns/providers/base.py has the interface): which one sends to a device,
and the provider of an app, built from its credentials.

A device names its provider (`Device.push_provider`) or takes its platform's default: web push
for browsers, FCM for Android, and for iOS the app's choice (`PushPolicy.ios_provider`). A
provider the app has no credentials for is `Unavailable`: its sends fail with a reason the admin
can act on, instead of the device looking unreachable.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from campaigns.credentials import (
    ApnsConfig,
    CredentialsUnreadable,
    FcmConfig,
    OneSignalConfig,
    apns_config,
    fcm_config,
    onesignal_config,
)
from campaigns.models import PushPolicy
from campaigns.providers.apns import ApnsProvider
from campaigns.providers.base import Outcome, Provider, PushMessage, SendOutcome
from campaigns.providers.fcm import FcmProvider
from campaigns.providers.onesignal import OneSignalProvider

# Imported here, not on the first send: a Celery prefork parent imports it once for all its
# children, instead of each child paying pywebpush's and cryptography's imports (most of a
# second on this machine) on the push it is sending.
from campaigns.providers.webpush import WebPushProvider
from campaigns.vapid import VapidKeys, vapid_keys
from contacts.models import Device

PROVIDERS = Device.PushProvider
_DEFAULTS = {Device.Platform.WEB: PROVIDERS.WEBPUSH, Device.Platform.ANDROID: PROVIDERS.FCM}
# What each provider's missing credentials are called on the admin's pages
_CREDENTIALS = {
    PROVIDERS.FCM: "FCM credentials",
    PROVIDERS.APNS: "APNs credentials",
    PROVIDERS.ONESIGNAL: "OneSignal credentials",
}


def device_providers(devices: Iterable[Device]) -> dict[int, Provider]:
    """device id -> the provider that sends to it (one query for the apps' iOS choice, only if
    an iOS device takes the default)."""
    devices = list(devices)
    ios_apps = {d.app_id for d in devices if d.platform == Device.Platform.IOS}
    ios = {}
    if ios_apps:
        policies = PushPolicy.objects.filter(app_id__in=ios_apps)
        ios = dict(policies.values_list("app_id", "ios_provider"))
    return {
        device.pk: provider_for(
            device.app_id, provider_name(device, ios.get(device.app_id, PushPolicy.IosProvider.FCM))
        )
        for device in devices
    }


def provider_name(device: Device, ios_provider: str) -> str:
    """The provider that sends to the device: its own, or its platform's default
    (`ios_provider` is the app's PushPolicy.ios_provider)."""
    if device.push_provider:
        return device.push_provider
    if device.platform == Device.Platform.IOS:
        return ios_provider
    return _DEFAULTS.get(device.platform, PROVIDERS.WEBPUSH)


def provider_for(app_id: int, name: str) -> Provider:
    """The app's provider by name; `Unavailable` when the app has no usable credentials."""
    if name == PROVIDERS.WEBPUSH:
        return _web_push_provider(vapid_keys())
    if name not in _READERS:
        return Unavailable(f"no push provider called {name!r}")
    try:
        config = _READERS[name](app_id)
    except CredentialsUnreadable as exc:
        return Unavailable(f"the app's {_CREDENTIALS[name]} are unreadable: {exc}")
    if config is None:
        return Unavailable(
            f"the app has no {_CREDENTIALS[name]}: an admin sets them in Campaigns › "
            f"{_CREDENTIALS[name]}"
        )
    return _mobile_provider(config)


@dataclass(frozen=True)
class Unavailable:
    """A provider that cannot send: every send fails (permanently) with `reason`."""

    reason: str
    service = "no provider"

    def payload_too_large(self, message: PushMessage) -> str | None:
        return None

    def send(self, device: Device, message: PushMessage) -> SendOutcome:
        return SendOutcome(Outcome.FAILED, error=self.reason)


@functools.lru_cache(maxsize=1)
def _web_push_provider(keys: VapidKeys) -> WebPushProvider:
    # One per process and key pair: after a rotation the next send signs with the new pair.
    return WebPushProvider(keys)


@functools.lru_cache(maxsize=256)
def _mobile_provider(config: FcmConfig | ApnsConfig | OneSignalConfig) -> Provider:
    # One per process and configuration (the configurations are frozen, so changed credentials
    # make a new provider); each keeps its own access tokens or signed JWTs.
    return _MOBILE[type(config)](config)


_READERS = {PROVIDERS.FCM: fcm_config, PROVIDERS.APNS: apns_config}
_READERS[PROVIDERS.ONESIGNAL] = onesignal_config
_MOBILE = {FcmConfig: FcmProvider, ApnsConfig: ApnsProvider, OneSignalConfig: OneSignalProvider}

"""Admin login lockout (django-axes): per username and client IP, with a cool-off and a reset."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.http import HttpRequest
from django.test import Client, override_settings
from django.utils import timezone

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct-horse-battery"
# What CLIENT_IP_HEADER=X-Forwarded-For sets (config/settings.py), as behind the documented proxy.
BEHIND_PROXY = override_settings(
    AXES_IPWARE_META_PRECEDENCE_ORDER=["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
)


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)


@pytest.fixture
def other_admin(django_user_model):
    return django_user_model.objects.create_superuser("ops", "ops@example.com", PASSWORD)


def log_in(username: str, password: str, **headers):
    return Client().post(LOGIN, {"username": username, "password": password}, **headers)


def fail_until_locked(username: str, **headers) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(username, "wrong-password", **headers)


def assert_locked_out(response) -> None:
    assert response.status_code == 429
    assert b"Locked out" in response.content
    assert b"Try again in 15 minutes" in response.content


def test_wrong_passwords_below_the_limit_leave_the_login_open(admin_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in("root", "wrong-password").status_code == 200
    assert log_in("root", PASSWORD).status_code == 302


def test_the_right_password_is_refused_after_the_failure_limit(admin_user):
    fail_until_locked("root")

    response = log_in("root", PASSWORD)

    assert_locked_out(response)
    assert "_auth_user_id" not in response.client.session


def test_a_lockout_leaves_other_users_from_the_same_address_alone(admin_user, other_admin):
    fail_until_locked("root")

    assert log_in("ops", PASSWORD).status_code == 302


@BEHIND_PROXY
def test_behind_the_proxy_a_lockout_is_per_forwarded_client_ip(admin_user):
    attacker = {"HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    fail_until_locked("root", **attacker)

    assert_locked_out(log_in("root", PASSWORD, **attacker))
    assert log_in("root", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 302


def test_without_the_proxy_setting_a_forwarded_ip_is_not_trusted(admin_user):
    fail_until_locked("root", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert_locked_out(log_in("root", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2"))


def test_axes_reset_unlocks(admin_user):
    fail_until_locked("root")

    call_command("axes_reset")

    assert log_in("root", PASSWORD).status_code == 302


def test_axes_reset_username_unlocks_only_that_user(admin_user, other_admin):
    fail_until_locked("root")
    fail_until_locked("ops")

    call_command("axes_reset_username", "root")

    assert log_in("root", PASSWORD).status_code == 302
    assert_locked_out(log_in("ops", PASSWORD))


def test_the_lockout_ends_after_the_cool_off(admin_user):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail_until_locked("root")
        # No attempt in between: a locked-out try counts as a failure and restarts the cool-off.
        clock.shift(settings.AXES_COOLOFF_TIME + timedelta(seconds=1))

        assert log_in("root", PASSWORD).status_code == 302


def test_the_test_client_logs_in_when_given_a_request(admin_user):
    """Client.login needs a request for axes' backend (axes' testing docs): tests pass one."""
    assert Client().login(request=HttpRequest(), username="root", password=PASSWORD)

"""Registration limits that do not punish a room full of residents on one Wi-Fi: only
accounts actually created count, the number is configurable, and the person who hits the
limit gets the form back with what they typed and the reason."""

from __future__ import annotations

from typing import Any

from account_helpers import PASSWORD, csrf_from, post_form, text

from fedi.app import create_app
from fedi.settings import Settings


async def _register(client: Any, number: int, **changes: str) -> Any:
    form = {
        "username": f"bewoner{number}", "email": f"bewoner{number}@example.org",
        "password": PASSWORD, "password_confirm": PASSWORD, **changes,
    }
    response = await post_form(client, "/register", "/register", form)
    if response.status_code == 302:
        await client.post("/logout", form={"csrf_token": await csrf_from(client, "/")})
    return response


async def test_failed_forms_do_not_count_and_the_limit_keeps_the_form(
    settings: Settings,
) -> None:
    app = create_app(settings.with_changes(registrations_per_ip_per_hour=3))
    await app.state.db.upgrade()
    async with app.test_app():
        client = app.test_client()
        # Typos first, many of them: a mismatched password, a name already taken, a bad
        # address. None of them uses up the sign-up evening's allowance.
        assert (await _register(client, 1)).status_code == 302
        for _attempt in range(5):
            mismatch = await _register(client, 2, password_confirm="iets-anders-99")
            assert mismatch.status_code == 400
            taken = await _register(client, 2, username="bewoner1")
            assert taken.status_code in (400, 409)
            bad_mail = await _register(client, 2, email="geen-adres")
            assert bad_mail.status_code == 400
        assert (await _register(client, 2)).status_code == 302
        assert (await _register(client, 3)).status_code == 302

        # The fourth account in the hour from this address waits, with the form kept.
        limited = await _register(client, 4, reason="Ik woon in de Oosterstraat.")
        page = await text(limited)
        assert limited.status_code == 429
        assert limited.headers.get("Retry-After")
        assert "Vanaf dit netwerk hebben zich het afgelopen uur veel mensen aangemeld" in page
        assert 'value="bewoner4"' in page and 'value="bewoner4@example.org"' in page
        assert PASSWORD not in page  # never the password


async def test_limit_is_configurable_and_can_be_switched_off(
    settings: Settings, tmp_path: Any
) -> None:
    environ = {"FEDI_REGISTRATIONS_PER_IP_PER_HOUR": "80", "FEDI_MAX_UPLOAD_MB": "30",
               "FEDI_TIMEZONE": "Europe/Brussels", "FEDI_DATA_DIR": str(tmp_path / "env")}
    configured = Settings.from_env(environ)
    assert configured.registrations_per_ip_per_hour == 80
    assert configured.max_avatar_bytes == 30_000_000
    assert configured.timezone == "Europe/Brussels"
    app = create_app(settings.with_changes(registrations_per_ip_per_hour=0))
    await app.state.db.upgrade()
    async with app.test_app():
        client = app.test_client()
        for number in range(8):
            assert (await _register(client, number)).status_code == 302, number

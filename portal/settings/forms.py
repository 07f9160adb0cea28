"""The settings form (one field per setting in :data:`portal.settings.services.SPECS`)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField

from portal.settings.services import SPECS, SUPPORTED_LOCALES

LOCALE_NAMES = {"en": "English", "zh_Hans": "简体中文"}


class SettingsForm(FlaskForm):
    auto_approve_distributors = BooleanField(
        SPECS["auto_approve_distributors"].label,
        description=SPECS["auto_approve_distributors"].help,
    )
    default_locale = SelectField(
        SPECS["default_locale"].label,
        description=SPECS["default_locale"].help,
        choices=[SelectChoice(code, LOCALE_NAMES[code]) for code in SUPPORTED_LOCALES],
    )

    def values(self) -> dict[str, object]:
        return {name: self[name].data for name in SPECS}

"""The audit log's filters."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from portal.audit import services
from portal.forms import Form, strip


class AuditFilterForm(Form):
    """The filters, read from the query string (a GET form: nothing to protect by CSRF)."""

    class Meta:
        csrf = False

    action = StringField(
        _l("Action"),
        validators=[Length(max=64)],
        filters=[strip],
        description=_l("The start of an action name: withdrawal. finds every withdrawal step."),
    )
    actor = SelectField(_l("By"), default="")
    target_type = SelectField(_l("Target type"), default="")
    target_id = StringField(_l("Target id"), validators=[Length(max=64)], filters=[strip])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor.choices = [
            SelectChoice("", _l("Anyone")),
            SelectChoice(services.SYSTEM_ACTOR, _l("The system (no user)")),
            *(SelectChoice(str(user.id), user.email) for user in services.actors()),
        ]
        self.target_type.choices = [
            SelectChoice("", _l("Any")),
            *(SelectChoice(name, name) for name in services.target_types()),
        ]

    def validate_until(self, field: DateField) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date is before the start date."))

    def filters(self) -> services.Filters:
        actor = self.actor.data or None
        return services.Filters(
            action=self.action.data or "",
            actor=int(actor) if actor and actor.isdigit() else actor,
            target_type=self.target_type.data or "",
            target_id=self.target_id.data or "",
            since=self.since.data,
            until=self.until.data,
        )

    def query_args(self) -> dict[str, str]:
        """The filters as query-string values for the pager links (empty ones left out)."""
        values = {
            "action": self.action.data,
            "actor": self.actor.data,
            "target_type": self.target_type.data,
            "target_id": self.target_id.data,
            "since": self.since.data.isoformat() if self.since.data else None,
            "until": self.until.data.isoformat() if self.until.data else None,
        }
        return {name: value for name, value in values.items() if value}

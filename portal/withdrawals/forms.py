"""Withdrawal request, live fee and payout account forms."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.forms import Form, PlainDecimalField, strip
from portal.withdrawals.labels import ACCOUNT_LABELS, METHOD_LABELS
from portal.withdrawals.models import PayoutAccount, PayoutMethod
from portal.withdrawals.services import label


class WithdrawalForm(Form):
    amount = PlainDecimalField(_l("Amount"), places=None, validators=[InputRequired()])
    payout_account_id = SelectField(_l("Pay to"), coerce=int, validators=[InputRequired()])

    def __init__(self, accounts: list[PayoutAccount], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.payout_account_id.choices = [SelectChoice(a.id, label(a)) for a in accounts]


class FeeForm(Form):
    """The amount typed so far, sent by GET as the distributor types (no CSRF: it reads)."""

    class Meta:
        csrf = False

    amount = PlainDecimalField(_l("Amount"), places=None, validators=[InputRequired()])


class PayoutAccountForm(Form):
    method = SelectField(
        _l("Method"),
        choices=[SelectChoice(m.value, text) for m, text in METHOD_LABELS.items()],
        default=PayoutMethod.BANK.value,
        validators=[DataRequired()],
    )
    holder_name = StringField(
        _l("Account holder's name"),
        validators=[DataRequired(), Length(max=120)],
        filters=[strip],
    )
    bank_name = StringField(
        _l("Bank name"), validators=[Optional(), Length(max=120)], filters=[strip]
    )
    account = StringField(validators=[DataRequired(), Length(max=120)], filters=[strip])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.account.label.text = ACCOUNT_LABELS[self.chosen_method]

    @property
    def chosen_method(self) -> PayoutMethod:
        """The method picked so far (bank until a valid one is chosen)."""
        try:
            return PayoutMethod(self.method.data)
        except ValueError:
            return PayoutMethod.BANK

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

TAKE_AS = [
    SelectChoice("cash", _l("Cash")),
    SelectChoice("credit", _l("Store credit")),
    SelectChoice("split", _l("Split: part cash, part store credit")),
]


class WithdrawalForm(Form):
    amount = PlainDecimalField(_l("Amount"), places=None, validators=[InputRequired()])
    # Cash needs an account (checked by the service): store credit alone does not.
    payout_account_id = SelectField(_l("Pay to"), coerce=int, validators=[Optional()])
    # Shown only while store credit is offered (portal.withdrawals.credit).
    take_as = SelectField(_l("Take it as"), choices=TAKE_AS, default="cash")
    credit_amount = PlainDecimalField(
        _l("Of it, as store credit"), places=None, validators=[Optional()]
    )

    def __init__(self, accounts: list[PayoutAccount], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.payout_account_id.choices = [SelectChoice(a.id, label(a)) for a in accounts]


class FeeForm(Form):
    """The amount typed so far, sent by GET as the distributor types (no CSRF: it reads)."""

    class Meta:
        csrf = False

    amount = PlainDecimalField(_l("Amount"), places=None, validators=[InputRequired()])
    take_as = SelectField(choices=TAKE_AS, default="cash")
    credit_amount = PlainDecimalField(places=None, validators=[Optional()])


class PayoutAccountForm(Form):
    method = SelectField(
        _l("Method"),
        # Store credit is not an account one adds: it is chosen on the request form.
        choices=[SelectChoice(m.value, METHOD_LABELS[m]) for m in ACCOUNT_LABELS],
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
            method = PayoutMethod(self.method.data)
        except ValueError:
            return PayoutMethod.BANK
        return method if method in ACCOUNT_LABELS else PayoutMethod.BANK


class DecisionForm(Form):
    """CSRF plus the free text an ops decision may need (a reason, a payment reference)."""

    note = StringField(validators=[Optional(), Length(max=500)], filters=[strip])

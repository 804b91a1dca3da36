"""The period of the balances: a GET form, so that a page's address says its period."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import ValidationError

from foncier.meetings.balances import Period


class DayField(DateField):
    """A day as the browser's date input sends it (YYYY-MM-DD), refused in French."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Saisissez une date complète : jour, mois et année.") from None


class PeriodForm(FlaskForm):
    """« Du » and « Au », both days included; the core's Period says which periods exist."""

    class Meta:
        csrf = False

    du = DayField("Du")
    au = DayField("Au")

    def validate_au(self, field: DayField) -> None:
        if self.du.data and field.data:
            try:
                Period(self.du.data, field.data)
            except ValueError:
                raise ValidationError(
                    "La période finit avant de commencer : choisissez un « Au » égal ou "
                    "postérieur au « Du »."
                ) from None

    def period(self) -> Period:
        """The period typed, once the form is valid."""
        return Period(self.du.data, self.au.data)

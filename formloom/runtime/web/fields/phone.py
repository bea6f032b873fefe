"""A phone number: a tel: link."""
from wtforms import TelField

from formloom.runtime.web.fields.base import form_kwargs
from formloom.runtime.web.fields.email import EmailWidget


class PhoneWidget(EmailWidget):
    type = "phone"
    scheme = "tel:"

    def form_field(self, field: dict, ctx: dict):
        return TelField(**form_kwargs(field, ctx))

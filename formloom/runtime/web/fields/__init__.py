"""The field widget registry: how the pages show and edit each field type.

One class per file, registered here. A field type without a widget of its own (plain text,
serial numbers, lookups shown through their source field) uses `FieldWidget`.
"""
from formloom.runtime.registry import Registry
from formloom.runtime.web.fields.base import Cell, FieldWidget
from formloom.runtime.web.fields.boolean import BooleanWidget
from formloom.runtime.web.fields.date import DateWidget
from formloom.runtime.web.fields.datetime_ import DateTimeWidget
from formloom.runtime.web.fields.department import DepartmentWidget
from formloom.runtime.web.fields.email import EmailWidget
from formloom.runtime.web.fields.file import FileWidget
from formloom.runtime.web.fields.formula import FormulaWidget
from formloom.runtime.web.fields.image import ImageWidget
from formloom.runtime.web.fields.link import LinkWidget
from formloom.runtime.web.fields.multiselect import MultiSelectWidget
from formloom.runtime.web.fields.number import NumberWidget
from formloom.runtime.web.fields.phone import PhoneWidget
from formloom.runtime.web.fields.rating import RatingWidget
from formloom.runtime.web.fields.select import SelectWidget
from formloom.runtime.web.fields.subform import SubformWidget
from formloom.runtime.web.fields.textarea import TextareaWidget
from formloom.runtime.web.fields.url import UrlWidget
from formloom.runtime.web.fields.user import UserWidget

field_widgets: Registry[FieldWidget] = Registry("field widgets")
for _cls in (
    TextareaWidget, NumberWidget, DateWidget, DateTimeWidget, BooleanWidget, SelectWidget,
    MultiSelectWidget, UserWidget, DepartmentWidget, EmailWidget, PhoneWidget, UrlWidget,
    LinkWidget, SubformWidget, FileWidget, ImageWidget, FormulaWidget, RatingWidget,
):
    field_widgets.register(_cls())

DEFAULT = FieldWidget()


def widget_for(type_name: str) -> FieldWidget:
    """The widget of a field type: its own, or the default one."""
    return field_widgets.get(type_name) if type_name in field_widgets else DEFAULT


__all__ = ["DEFAULT", "Cell", "FieldWidget", "field_widgets", "widget_for"]

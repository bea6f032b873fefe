"""The field type registry: one class per kind, registered here and nowhere else."""
from formloom.runtime.fields.base import FieldType, FieldValueError, ValueContext
from formloom.runtime.fields.boolean import BooleanFieldType
from formloom.runtime.fields.date import DateFieldType
from formloom.runtime.fields.datetime_ import DateTimeFieldType
from formloom.runtime.fields.department import DepartmentFieldType
from formloom.runtime.fields.email import EmailFieldType
from formloom.runtime.fields.file import FileFieldType
from formloom.runtime.fields.formula import FormulaFieldType
from formloom.runtime.fields.image import ImageFieldType
from formloom.runtime.fields.link import LinkFieldType
from formloom.runtime.fields.lookup import LookupFieldType
from formloom.runtime.fields.multiselect import MultiSelectFieldType
from formloom.runtime.fields.number import NumberFieldType
from formloom.runtime.fields.phone import PhoneFieldType
from formloom.runtime.fields.rating import RatingFieldType
from formloom.runtime.fields.rollup import RollupFieldType
from formloom.runtime.fields.select import SelectFieldType
from formloom.runtime.fields.serial import SerialFieldType
from formloom.runtime.fields.subform import SubformFieldType
from formloom.runtime.fields.text import TextFieldType
from formloom.runtime.fields.textarea import TextareaFieldType
from formloom.runtime.fields.url import UrlFieldType
from formloom.runtime.fields.user import UserFieldType
from formloom.runtime.registry import Registry

field_types: Registry[FieldType] = Registry("field types")
for _cls in (
    TextFieldType, TextareaFieldType, NumberFieldType, DateFieldType, DateTimeFieldType,
    BooleanFieldType, SelectFieldType, MultiSelectFieldType, UserFieldType,
    DepartmentFieldType, EmailFieldType, PhoneFieldType, UrlFieldType, LinkFieldType,
    SubformFieldType, FileFieldType, ImageFieldType, SerialFieldType, FormulaFieldType,
    RatingFieldType, LookupFieldType, RollupFieldType,
):
    field_types.register(_cls())

# What `type_of` answers for a missing or unknown type: no capability at all.
NO_TYPE = FieldType()


def type_of(field: dict | None) -> FieldType:
    """The field type of a field definition; `NO_TYPE` when there is none or it is unknown
    (a draft being validated may name any type)."""
    name = field.get("type") if isinstance(field, dict) else None
    return field_types.get(name) if isinstance(name, str) and name in field_types else NO_TYPE


__all__ = ["NO_TYPE", "FieldType", "FieldValueError", "ValueContext", "field_types", "type_of"]

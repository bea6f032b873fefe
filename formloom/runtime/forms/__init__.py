"""HTML forms built from form definitions (WTForms) and the glue that submits them.

`builder` makes the WTForms classes, `values` moves values in and out of them, `uploads`
handles file fields, `errors` puts the service's errors back at their fields and `rules`
carries show/require rules to the page. Saving always goes through the records service.
"""
from formloom.runtime.forms.builder import attr, build_form_class, entry_fields, mark_required

__all__ = ["attr", "build_form_class", "entry_fields", "mark_required"]

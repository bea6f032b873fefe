"""Departments, shown by name."""
from formloom.runtime.web.fields.reference import ReferenceWidget


class DepartmentWidget(ReferenceWidget):
    type = "department"

    def names(self, display, field, ids):
        return [display.departments.get(i) or f"#{i}" for i in ids]

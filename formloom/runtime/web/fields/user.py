"""Members of the organisation, shown by name."""
from formloom.runtime.web.fields.reference import ReferenceWidget


class UserWidget(ReferenceWidget):
    type = "user"

    def names(self, display, field, ids):
        return [display.user_name(i) for i in ids]

"""Uploaded images: a file input that offers image types only."""
from formloom.runtime.web.fields.file import FileWidget


class ImageWidget(FileWidget):
    type = "image"

"""Uploaded images: a file field that accepts only image types."""
from formloom.runtime.fields.file import FileFieldType


class ImageFieldType(FileFieldType):
    type = "image"
    default_accept = ("image/png", "image/jpeg", "image/gif", "image/webp")

"""Uploaded files: a list of {id, name, size, content_type}, with size and type limits."""
import sqlalchemy as sa

from formloom.runtime.fields.base import FieldType, FieldValueError, ValueContext


class FileFieldType(FieldType):
    type = "file"
    holds_files = True
    kind = "file"
    can_be_indexed = False
    config_schema = {
        "type": "object",
        "properties": {
            "max_size_mb": {"type": "number", "exclusiveMinimum": 0, "maximum": 1024},
            "max_files": {"type": "integer", "minimum": 1, "maximum": 50},
            "accept": {"type": "array", "items": {"type": "string"}},
        },
    }
    default_accept: tuple[str, ...] = ()

    def accept(self, field: dict) -> list[str]:
        """Accepted extensions (".pdf") and content types ("image/*"); "pdf" means ".pdf"."""
        given = [a.strip().lower() for a in field.get("accept") or self.default_accept]
        return [a if "/" in a or a.startswith(".") else "." + a for a in given if a]

    def value_schema(self, field: dict) -> dict:
        item = {"type": "object", "required": ["id"], "properties": {
            "id": {"type": "string", "minLength": 1}, "name": {"type": "string"},
            "size": {"type": "integer"}, "content_type": {"type": "string"}}}
        return {"type": "array", "maxItems": field.get("max_files", 10),
                "items": {"anyOf": [{"type": "string", "minLength": 1}, item]}}

    def sa_type(self, field: dict):
        return sa.JSON()

    def empty(self, field: dict):
        return []

    def to_python(self, field: dict, value, ctx: ValueContext):
        if value is None or value == "" or value == []:
            return []
        items = value if isinstance(value, list) else [value]
        given = [i.get("id") if isinstance(i, dict) else i for i in items]
        if not all(isinstance(i, str) and i for i in given):
            raise FieldValueError("must be a list of uploaded file ids")
        ids = list(dict.fromkeys(given))
        limit = field.get("max_files", 10)
        if len(ids) > limit:
            raise FieldValueError(f"allows at most {limit} files")
        found = ctx.file_lookup(ids) if ctx.file_lookup else {i: {"id": i} for i in ids}
        result = []
        for file_id in ids:
            meta = found.get(file_id)
            if meta is None:
                raise FieldValueError(f"no uploaded file with id {file_id}")
            if ctx.file_lookup:  # without a lookup there is no name, type or size to check
                self.check_upload(field, meta.get("name") or "", meta.get("content_type") or "",
                                  meta.get("size") or 0)
            result.append(meta)
        return result

    def check_upload(self, field: dict, name: str, content_type: str, size: int) -> None:
        """Refuse a file over the size limit or of a type the field does not accept."""
        limit = field.get("max_size_mb", 20)
        if size > limit * 1024 * 1024:
            raise FieldValueError(f'"{name}" is larger than {limit} MB')
        accept = self.accept(field)
        if accept:
            ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
            ok = any(a == ext or a == content_type or (a.endswith("/*") and content_type.startswith(a[:-1]))
                     for a in accept)
            if not ok:
                raise FieldValueError(f'"{name}" is not an accepted file type ({", ".join(accept)})')

    def from_db(self, field: dict, value):
        return value or []

    def format(self, field: dict, value, locale: str = "en") -> str:
        return ", ".join(f.get("name", f.get("id", "")) for f in value or [])

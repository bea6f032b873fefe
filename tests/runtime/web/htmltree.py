"""A small HTML reader for page tests: parse a response, find elements, read form values.

Plain standard library (html.parser), so tests can assert on what a reader sees (a
cell's text, a field's value, an error under a field) rather than on raw markup.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict
    children: list = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text inside, whitespace collapsed, as a reader sees it."""
        parts = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text)
        return re.sub(r"\s+", " ", " ".join(parts)).strip()

    def walk(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.walk()

    def select(self, tag: str | None = None, cls: str | None = None, **attrs) -> list[Node]:
        """Elements under this one by tag, class and attributes (`data_field="x"` is data-field)."""
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        out = []
        for node in self.walk():
            if tag and node.tag != tag:
                continue
            if cls and cls not in (node.attrs.get("class") or "").split():
                continue
            if all(node.attrs.get(k) == v for k, v in wanted.items()):
                out.append(node)
        return out

    def one(self, tag: str | None = None, cls: str | None = None, **attrs) -> Node:
        found = self.select(tag, cls, **attrs)
        assert len(found) == 1, f"expected one <{tag or '*'} {cls or ''} {attrs}>, found {len(found)}"
        return found[0]

    def value(self, name: str):
        """What a form control named `name` holds: text, the chosen option, or checked boxes."""
        # Disabled controls are never submitted, so they hold no value.
        controls = [n for n in self.walk() if n.attrs.get("name") == name and "disabled" not in n.attrs
                    and n.tag in ("input", "select", "textarea")]
        assert controls, f"no control named {name}"
        control = controls[0]
        if control.tag == "textarea":
            text = "".join(c for c in control.children if isinstance(c, str))
            return text[2:] if text.startswith("\r\n") else text[1:] if text.startswith("\n") else text  # as HTML reads it
        if control.tag == "select":
            chosen = [o.attrs.get("value") for o in control.select("option") if "selected" in o.attrs]
            return chosen if "multiple" in control.attrs else (chosen[0] if chosen else "")
        if control.attrs.get("type") in ("checkbox", "radio"):
            return [c.attrs.get("value") for c in controls if "checked" in c.attrs]
        return control.attrs.get("value", "")


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {k: (v if v is not None else "") for k, v in attrs}))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(source) -> Node:
    """A response's (or a string's) HTML as a tree of Nodes."""
    text = source if isinstance(source, str) else source.get_data(as_text=True)
    builder = _Builder()
    builder.feed(text)
    builder.close()
    return builder.root

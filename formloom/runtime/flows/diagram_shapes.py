"""The shapes of a flow diagram (runtime/flows/diagram.py lays them out): a step's box, the
start and end pills, a sequence, and a split with its cases side by side. Each knows its
width and height and draws itself as SVG at a centre x and a top y."""
from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import escape

from formloom.runtime.flows.model import flow_node_types

BOX_W, BOX_H, BOX_MAX_W = 224, 74, 320  # a box widens for its words, up to BOX_MAX_W
V_GAP = 34  # between the items of a sequence: room for the arrow
H_GAP = 28  # between cases side by side
PAD = 20
PILL_H, LABEL_H = 28, 24
CASE_MIN_W = 120
SPLIT_DROP = 16  # header pill to split line, split line to case label
TERM_H = 34
TEXT_X, MARK_ROOM = 54, 30  # the words start right of the icon; the status mark sits at the top right


def text_width(text: str, size: float, bold: bool = False) -> float:
    """An estimate of the text's width (CJK characters are square, Latin ones about half)."""
    narrow = 0.66 if bold else 0.6
    return sum(size * (1.0 if ord(c) >= 0x2E80 else narrow) for c in text)


def fit(text: str, size: float, width: float, bold: bool = False) -> str:
    """The text cut (with an ellipsis) to fit `width`."""
    if text_width(text, size, bold) <= width:
        return text
    while text and text_width(text + "…", size, bold) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _text(out: list, x: float, y: float, text: str, cls: str, anchor: str = "start") -> None:
    a = ' text-anchor="middle"' if anchor == "middle" else ""
    out.append(f'<text x="{x:g}" y="{y:g}" class="{cls}"{a}>{escape(text)}</text>')


def _line(out: list, x1, y1, x2, y2, arrow: bool = False) -> None:
    end = y2 - 6 if arrow else y2
    out.append(f'<path class="fld-line" d="M{x1:g} {y1:g}L{x2:g} {end:g}"/>')
    if arrow:
        out.append(f'<path class="fld-arrow" d="M{x2 - 4.5:g} {y2 - 7:g}L{x2 + 4.5:g} {y2 - 7:g}L{x2:g} {y2:g}Z"/>')


# -- the pieces ----------------------------------------------------------------------------------
@dataclass
class Step:
    """One approval, cc or action step: a box with its kind, name and who it goes to."""

    id: str
    kind: str
    caption: str
    name: str
    who: str
    status: str = ""
    height: float = BOX_H
    floor: float = BOX_W  # the widest box of its sequence: boxes one under another line up

    @property
    def wanted(self) -> float:
        return max(text_width(self.caption, 11) + MARK_ROOM, text_width(self.name, 13.5, True) + MARK_ROOM,
                   text_width(self.who, 12) + 16) + TEXT_X

    @property
    def width(self) -> float:
        return min(max(self.wanted, self.floor), BOX_MAX_W)

    def draw(self, out: list, cx: float, y: float) -> None:
        w = self.width
        x = cx - w / 2
        cls = f"fld-step fld-{self.kind}" + (f" fld-{self.status}" if self.status else "")
        out.append(f'<g class="{cls}" data-step="{escape(self.id)}"><title>{escape(self.name)} · '
                   f'{escape(self.who)}</title>')
        out.append(f'<rect class="fld-shadow" x="{x:g}" y="{y + 2:g}" width="{w:g}" height="{BOX_H}" rx="10"/>')
        out.append(f'<rect class="fld-box" x="{x:g}" y="{y:g}" width="{w:g}" height="{BOX_H}" rx="10"/>')
        chip_x, chip_y = x + 14, y + BOX_H / 2 - 14
        out.append(f'<rect class="fld-chip" x="{chip_x:g}" y="{chip_y:g}" width="28" height="28" rx="7"/>')
        out.append(flow_node_types.get(self.kind).glyph(chip_x + 14, chip_y + 14))
        tx, room = x + TEXT_X, w - TEXT_X - MARK_ROOM
        _text(out, tx, y + 21, fit(self.caption, 11, room), "fld-kind")
        _text(out, tx, y + 41, fit(self.name, 13.5, room, bold=True), "fld-name")
        _text(out, tx, y + 60, fit(self.who, 12, w - TEXT_X - 14), "fld-who")
        if self.status in MARKS:
            out.append(_mark(self.status, x + w - 18, y + 18))
        out.append("</g>")


MARKS = {
    "done": "M{a} {b}l2.6 2.6 5-5.2",
    "rejected": "M{a} {b}l6 6m0-6l-6 6",
    "returned": "M{a} {b}h4.2a2.6 2.6 0 0 1 0 5.2h-2.2m-2-5.2l2.2-2.2m-2.2 2.2l2.2 2.2",
    "current": "M{a} {b}v3.6l2.4 1.6",
}
MARK_AT = {"done": (-4, 0), "rejected": (-3, -3), "returned": (-3.4, -1.8), "current": (0, -3.6)}


def _mark(status: str, cx: float, cy: float) -> str:
    """A round status mark: a check, a cross, a return arrow or a clock."""
    dx, dy = MARK_AT[status]
    d = MARKS[status].format(a=f"{cx + dx:g}", b=f"{cy + dy:g}")
    return (f'<g class="fld-mark"><circle class="fld-mark-{status}" cx="{cx:g}" cy="{cy:g}" r="9"/>'
            f'<path class="fld-glyph-line" stroke-width="1.8" d="{d}"/></g>')


@dataclass
class Terminal:
    """The start (the submit) or the end of the flow: a pill."""

    role: str
    label: str
    status: str = ""

    @property
    def width(self) -> float:
        return max(text_width(self.label, 12, True) + 40, 112)

    height: float = TERM_H

    def draw(self, out: list, cx: float, y: float) -> None:
        cls = f"fld-term fld-{self.role}" + (f" fld-{self.status}" if self.status else "")
        w = self.width
        out.append(f'<g class="{cls}"><rect class="fld-pill" x="{cx - w / 2:g}" y="{y:g}" width="{w:g}" '
                   f'height="{TERM_H}" rx="{TERM_H / 2:g}"/>')
        _text(out, cx, y + 21.5, self.label, "fld-pill-text", "middle")
        out.append("</g>")


@dataclass
class Seq:
    """Items stacked top to bottom with arrows between them."""

    items: list

    @property
    def width(self) -> float:
        return max((i.width for i in self.items), default=0)

    @property
    def height(self) -> float:
        return sum(i.height for i in self.items) + V_GAP * max(len(self.items) - 1, 0)

    def draw(self, out: list, cx: float, y: float) -> None:
        for n, item in enumerate(self.items):
            if n:
                _line(out, cx, y - V_GAP, cx, y, arrow=True)
            item.draw(out, cx, y)
            y += item.height + V_GAP


@dataclass
class Case:
    label: str
    seq: Seq
    skipped: bool = False

    @property
    def width(self) -> float:
        return max(self.seq.width, min(text_width(self.label, 11.5), 200) + 24, CASE_MIN_W)


@dataclass
class Split:
    """A branch or a parallel step: a header, its cases side by side, a merge line."""

    id: str
    kind: str
    header: str
    cases: list[Case] = field(default_factory=list)

    @property
    def width(self) -> float:
        return max(sum(c.width for c in self.cases) + H_GAP * (len(self.cases) - 1),
                   text_width(self.header, 12, True) + 32)

    @property
    def _inner(self) -> float:
        return max(c.seq.height for c in self.cases)

    @property
    def height(self) -> float:
        return PILL_H + 2 * SPLIT_DROP + LABEL_H + V_GAP + self._inner + (V_GAP if self._inner else 0)

    def draw(self, out: list, cx: float, y: float) -> None:
        out.append(f'<g class="fld-split fld-{self.kind}" data-step="{escape(self.id)}">')
        hw = text_width(self.header, 12, True) + 28
        out.append(f'<rect class="fld-pill" x="{cx - hw / 2:g}" y="{y:g}" width="{hw:g}" height="{PILL_H}" '
                   f'rx="{PILL_H / 2:g}"/>')
        _text(out, cx, y + 18.5, self.header, "fld-pill-text", "middle")
        total = sum(c.width for c in self.cases) + H_GAP * (len(self.cases) - 1)
        split_y = y + PILL_H + SPLIT_DROP
        label_y = split_y + SPLIT_DROP
        seq_y = label_y + LABEL_H + V_GAP
        merge_y = y + self.height
        centers, left = [], cx - total / 2
        for case in self.cases:
            centers.append(left + case.width / 2)
            left += case.width + H_GAP
        _line(out, cx, y + PILL_H, cx, split_y)
        _line(out, centers[0], split_y, centers[-1], split_y)
        out.append(f'<path class="fld-line" d="M{centers[0]:g} {merge_y:g}H{centers[-1]:g}"/>')
        for case, ccx in zip(self.cases, centers, strict=True):
            out.append('<g class="fld-case fld-skipped">' if case.skipped else '<g class="fld-case">')
            _line(out, ccx, split_y, ccx, label_y)
            label = fit(case.label, 11.5, 200)
            lw = text_width(label, 11.5) + 20
            out.append(f'<rect class="fld-label" x="{ccx - lw / 2:g}" y="{label_y:g}" width="{lw:g}" '
                       f'height="{LABEL_H}" rx="6"/>')
            _text(out, ccx, label_y + 16, label, "fld-label-text", "middle")
            if case.seq.items:
                _line(out, ccx, label_y + LABEL_H, ccx, seq_y, arrow=True)
                case.seq.draw(out, ccx, seq_y)
                _line(out, ccx, seq_y + case.seq.height, ccx, merge_y)
            else:
                _line(out, ccx, label_y + LABEL_H, ccx, merge_y)
            out.append("</g>")
        out.append(f'<circle class="fld-dot" cx="{cx:g}" cy="{merge_y:g}" r="3.5"/></g>')



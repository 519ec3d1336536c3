"""Rows of the comparison table and their text, markdown and JSON forms."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: How each kind of figure reads; every figure is stored in base units
#: (seconds, bytes, runs per second, KiB for memory).
LOWER_IS_BETTER = {"per_run": True, "seconds": True, "bytes_per_run": True, "kib": True, "rate": False,
                   "speedup": False, "ratio": True}


@dataclass
class Row:
    """One measured figure, ours beside the reference, and whether it met its target.

    ``status`` is empty for a measured row, otherwise why there is no figure
    ("n/a (plugin not available)", "error: ..."); such rows count as not met.
    """

    section: str
    workload: str
    kind: str
    ours: float | None = None
    other: float | None = None
    other_label: str = ""
    target: str = ""
    met: bool | None = None
    notes: list[str] = field(default_factory=list)
    status: str = ""
    #: the 1-minute load average when the row's measurement finished (rows
    #: are made right after their measurement)
    load: float = field(default_factory=lambda: os.getloadavg()[0])

    @property
    def advantage(self) -> float | None:
        """How many times better ours is than the reference (>1: ours is better)."""
        if self.ours is None or self.other is None or self.ours == 0 or self.other == 0:
            return None
        return self.other / self.ours if LOWER_IS_BETTER[self.kind] else self.ours / self.other


def format_figure(value: float | None, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "per_run":
        if value < 1e-3:
            return f"{value * 1e6:.1f} µs/run"
        return f"{value * 1e3:.2f} ms/run"
    if kind == "seconds":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if kind == "bytes_per_run":
        return f"{value:,.1f} B/run"
    if kind == "kib":
        return f"{value / 1024:,.1f} MiB"
    if kind == "rate":
        return f"{value:,.0f} runs/s"
    if kind == "speedup":
        return f"{value:.2f}×"
    if kind == "ratio":
        return f"{value:.2f}"
    raise ValueError(f"unknown figure kind {kind!r}")


def _met_text(row: Row) -> str:
    if row.status:
        return "no" if row.target else "-"
    if row.met is None:
        return "-"
    return "yes" if row.met else "**no**"


def _advantage_text(row: Row) -> str:
    adv = row.advantage
    if adv is None:
        return "-"
    return f"{adv:,.1f}×" if adv >= 10 else f"{adv:.2f}×"


def markdown_table(rows: list[Row]) -> str:
    """The table with numbered notes below it, one section heading per group."""
    lines: list[str] = []
    notes: list[str] = []
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            lines += ["", f"### {section}", "",
                      "| workload | ours | reference | reference figure | ours better by | target | met? | load |",
                      "|---|---|---|---|---|---|---|---|"]
        marks = ""
        for note in row.notes:
            if note not in notes:
                notes.append(note)
            marks += f" [{notes.index(note) + 1}]"
        ours = row.status if row.status else format_figure(row.ours, row.kind)
        lines.append(
            f"| {row.workload}{marks} | {ours} | {row.other_label or '-'} | "
            f"{format_figure(row.other, row.kind)} | {_advantage_text(row)} | {row.target or '-'} | "
            f"{_met_text(row)} | {row.load:.2f} |"
        )
    if notes:
        lines += ["", "Notes:", ""]
        lines += [f"{i}. {note}" for i, note in enumerate(notes, 1)]
    return "\n".join(lines).lstrip("\n") + "\n"


def plain_table(rows: list[Row]) -> str:
    """The table for a terminal: fixed-width columns, notes left out."""
    header = ("workload", "ours", "reference", "ref. figure", "better by", "target", "met?", "load")
    body = [
        (
            row.workload,
            row.status or format_figure(row.ours, row.kind),
            row.other_label or "-",
            format_figure(row.other, row.kind),
            _advantage_text(row),
            row.target or "-",
            _met_text(row).strip("*"),
            f"{row.load:.2f}",
        )
        for row in rows
    ]
    widths = [min(48, max(len(str(line[i])) for line in [header, *body])) for i in range(len(header))]
    out = []
    for line in [header, *body]:
        out.append("  ".join(str(cell)[:48].ljust(width) for cell, width in zip(line, widths)))
    return "\n".join(out)


def write_outputs(rows: list[Row], meta: dict[str, Any], folder: Path, stem: str) -> tuple[Path, Path]:
    """Save ``<stem>.md`` (meta, table, notes) and ``<stem>.json`` (raw figures)."""
    folder.mkdir(parents=True, exist_ok=True)
    md_path, json_path = folder / f"{stem}.md", folder / f"{stem}.json"
    header = [f"- **{key}**: {value}" for key, value in meta.items() if not isinstance(value, dict)]
    md_path.write_text("\n".join(header) + "\n\n" + markdown_table(rows))
    payload = {"meta": meta, "rows": [dict(asdict(row), advantage=row.advantage) for row in rows]}
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return md_path, json_path


TABLE_START, TABLE_END = "<!-- compare_pypet table: start -->", "<!-- compare_pypet table: end -->"


def update_docs(page: Path, table_markdown: str) -> None:
    """Replace what lies between the table markers of ``page`` with the new table.

    Only the generated part changes; the prose around it (profile findings,
    how to read the table) is written by hand and stays.
    """
    text = page.read_text()
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"{page} has no '{TABLE_START}' ... '{TABLE_END}' markers to put the table between")
    page.write_text(text[: start + len(TABLE_START)] + "\n\n" + table_markdown.strip() + "\n\n" + text[end:])

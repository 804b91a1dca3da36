"""Reading a CNIG CSV file into records located by their line number, checking its header.

The delimiter is ';' (the CNIG examples) or ',' , told apart on the header line, whose names
contain neither. A record whose number of fields differs from the header's is reported and
skipped: it usually hides an unquoted delimiter inside a value, and guessing which value it
split would import wrong data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from foncier.inventory.cnig.columns import Column
from foncier.inventory.cnig.issues import IssueError, IssueLog, SourceFile

HEADER_LINE = 1


@dataclass(frozen=True)
class Record:
    """A row of a CNIG table as text cells: a line of a CSV file, or a feature of a GeoJSON or
    GeoPackage file whose values were written as a CSV file would write them."""

    line: int
    # Stripped cell text by column name, for the known columns of the header.
    cells: dict[str, str]
    # Columns whose value the reader already refused (and reported): not to be parsed.
    refused: frozenset[str] = frozenset()


def _first_bad_byte(content: bytes) -> int | None:
    """Where the content stops being UTF-8 text: an invalid byte, or a NUL, which is valid
    UTF-8 but in no text file (a UTF-16 or binary file) and which PostgreSQL cannot store."""
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start
    nul = content.find(b"\x00")
    return nul if nul >= 0 else None


def decode(source: SourceFile, log: IssueLog) -> str | None:
    """The text of the file (a UTF-8 BOM is dropped), or None after reporting why not."""
    bad = _first_bad_byte(source.content)
    if bad is not None:
        line = source.content[:bad].count(b"\n") + 1
        log.add(IssueError("encoding"), source.name, line=line)
        return None
    return source.content.decode("utf-8-sig")


def non_empty_text(source: SourceFile, log: IssueLog) -> str | None:
    """The text of the file, or None after reporting it unreadable or empty."""
    text = decode(source, log)
    if text is not None and not text.strip():
        log.add(IssueError("empty_file"), source.name)
        return None
    return text


def detect_delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") >= header_line.count(",") else ","


def check_header(
    header: list[str],
    columns: Sequence[Column],
    table: str,
    name: str,
    log: IssueLog,
    line: int | None = HEADER_LINE,
) -> None:
    """Report repeated, unknown and missing required columns; ``line``: where the header is."""
    known = {column.name for column in columns}
    seen: set[str] = set()
    for label in header:
        if label in seen:
            log.add(IssueError("duplicate_column"), name, line=line, column=label)
        elif label not in known:
            log.add(IssueError("unknown_column", table=table), name, line=line, column=label)
        seen.add(label)
    for column in columns:
        if column.required and column.name not in seen:
            log.add(IssueError("missing_column"), name, line=line, column=column.name)


def header_names(source: SourceFile) -> set[str]:
    """The column names of a CSV file's header (empty if it cannot be read), to tell its class."""
    if _first_bad_byte(source.content) is not None:
        return set()
    first_line = source.content.decode("utf-8-sig").partition("\n")[0]
    try:
        header = next(csv.reader([first_line], delimiter=detect_delimiter(first_line)), [])
    except csv.Error:
        return set()
    return {label.strip() for label in header}


def read_records(
    source: SourceFile, columns: Sequence[Column], table: str, log: IssueLog
) -> list[Record]:
    """The records of a CNIG file whose allowed columns are ``columns``; problems go to log."""
    known = {column.name for column in columns}
    text = non_empty_text(source, log)
    if text is None:
        return []
    delimiter = detect_delimiter(text.partition("\n")[0])
    # Strict: a stray or unclosed quote is an error, not a field that swallows the next lines.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[Record] = []
    line = HEADER_LINE
    try:
        header = [label.strip() for label in next(reader)]
        check_header(header, columns, table, source.name, log)
        wanted = [(index, label) for index, label in enumerate(header) if label in known]
        line = reader.line_num + 1
        for fields in reader:
            if any(field.strip() for field in fields):
                record = _record(fields, line, header, wanted, delimiter, source.name, log)
                if record is not None:
                    records.append(record)
            line = reader.line_num + 1
    except csv.Error as error:
        log.add(IssueError("bad_csv", reason=str(error)), source.name, line=line)
    return records


def _record(
    fields: list[str],
    line: int,
    header: list[str],
    wanted: list[tuple[int, str]],
    delimiter: str,
    name: str,
    log: IssueLog,
) -> Record | None:
    if len(fields) != len(header):
        error = IssueError(
            "field_count", found=len(fields), expected=len(header), delimiter=delimiter
        )
        log.add(error, name, line=line)
        return None
    return Record(line=line, cells={label: fields[index].strip() for index, label in wanted})

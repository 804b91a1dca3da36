"""Reading a CNIG CSV file into records located by their line number, checking its header.

The delimiter is ';' (the CNIG examples) or ',' , told apart on the header line, whose names
contain neither. Lines end with CRLF, LF or a lone CR (old Mac and some Excel exports), even
mixed in one file. A record whose number of fields differs from the header's is reported and
skipped: it usually hides an unquoted delimiter inside a value, and guessing which value it
split would import wrong data.

The file's text is decoded once and read line by line, never copied whole again: a web
preview holds the upload's bytes, its text and the records, nothing more. ``max_rows`` stops
the reading of a file with more records than its caller accepts (the web's previews).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from foncier.inventory.cnig.columns import Column
from foncier.inventory.cnig.issues import IssueError, IssueLog, SourceFile

HEADER_LINE = 1
UTF8_BOM = b"\xef\xbb\xbf"
LINE_END = re.compile(r"\r\n|\r|\n")
LINE_END_BYTES = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class Record:
    """A row of a CNIG table as text cells: a line of a CSV file, or a feature of a GeoJSON or
    GeoPackage file whose values were written as a CSV file would write them."""

    line: int
    # Stripped cell text by column name, for the known columns of the header.
    cells: dict[str, str]
    # Columns whose value the reader already refused (and reported): not to be parsed.
    refused: frozenset[str] = frozenset()


def decode(source: SourceFile, log: IssueLog) -> str | None:
    """The text of the file (a UTF-8 BOM is dropped), or None after reporting why not: an
    invalid byte, or a NUL, which is valid UTF-8 but in no text file (a UTF-16 or binary
    file) and which PostgreSQL cannot store."""
    content = source.content
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        bad: int | None = error.start
    else:
        bad = content.find(b"\x00") if "\x00" in text else None
    if bad is not None:
        line = len(LINE_END_BYTES.findall(content, 0, bad)) + 1
        log.add(IssueError("encoding"), source.name, line=line)
        return None
    return text.removeprefix("\ufeff")


def non_empty_text(source: SourceFile, log: IssueLog) -> str | None:
    """The text of the file, or None after reporting it unreadable or empty."""
    text = decode(source, log)
    # isspace() rather than strip(), which would copy the whole text.
    if text is not None and (not text or text.isspace()):
        log.add(IssueError("empty_file"), source.name)
        return None
    return text


def first_line(text: str) -> str:
    """The header line of a CSV text, whatever its line ends."""
    end = LINE_END.search(text)
    return text[: end.start()] if end else text


def lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their ends, as csv.reader takes them, one at a time."""
    start = 0
    for end in LINE_END.finditer(text):
        yield text[start : end.end()]
        start = end.end()
    if start < len(text):
        yield text[start:]


def detect_delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") >= header_line.count(",") else ","


def header_labels(header_line: str) -> set[str]:
    """The column names of a header line (empty if it cannot be read)."""
    try:
        header = next(csv.reader([header_line], delimiter=detect_delimiter(header_line)), [])
    except csv.Error:
        return set()
    return {label.strip() for label in header}


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


def too_many_rows(count: int, max_rows: int | None, name: str, log: IssueLog) -> bool:
    """Whether a table of ``count`` rows is beyond ``max_rows`` (then reported)."""
    if max_rows is None or count <= max_rows:
        return False
    limit = f"{max_rows:,}"
    log.add(
        IssueError("too_many_rows", limit_en=limit, limit_fr=limit.replace(",", "\u202f")), name
    )
    return True


def header_names(source: SourceFile) -> set[str]:
    """The column names of a CSV file's header, to tell its class (empty if it cannot be
    read); only the first line is decoded."""
    end = LINE_END_BYTES.search(source.content)
    head = source.content[: end.start()] if end else source.content
    try:
        line = head.removeprefix(UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError:
        return set()
    return set() if "\x00" in line else header_labels(line)


def read_records(
    name: str,
    text: str,
    columns: Sequence[Column],
    table: str,
    log: IssueLog,
    max_rows: int | None = None,
) -> list[Record]:
    """The records of the CNIG file ``name`` (its decoded, non-empty ``text``) whose allowed
    columns are ``columns``; problems go to log. Beyond ``max_rows`` records, the file is
    refused as a whole (``too_many_rows``) and none is returned."""
    known = {column.name for column in columns}
    delimiter = detect_delimiter(first_line(text))
    # Strict: a stray or unclosed quote is an error, not a field that swallows the next lines.
    reader = csv.reader(lines(text), delimiter=delimiter, strict=True)
    records: list[Record] = []
    line = HEADER_LINE
    rows = 0
    try:
        header = [label.strip() for label in next(reader)]
        check_header(header, columns, table, name, log)
        wanted = [(index, label) for index, label in enumerate(header) if label in known]
        line = reader.line_num + 1
        for fields in reader:
            if any(field.strip() for field in fields):
                rows += 1
                if too_many_rows(rows, max_rows, name, log):
                    return []
                record = _record(fields, line, header, wanted, delimiter, name, log)
                if record is not None:
                    records.append(record)
            line = reader.line_num + 1
    except csv.Error as error:
        log.add(IssueError("bad_csv", reason=str(error)), name, line=line)
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

"""The files of an import: the CSV members of a ZIP archive or of a folder, read line by line.

Lines are decoded one at a time, so a byte that is not UTF-8 is reported with its file, line
and column, and nothing is held in memory beyond the line being read.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from footfall.accounts.errors import DomainError


class ImportFileError(DomainError):
    """A file of an import cannot be read; the message names the file, the row and the column."""

    def __init__(self, file: str, message: str, row: int | None = None, column: str | None = None) -> None:
        where = file
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column '{column}'"
        super().__init__(f"{where}: {message}")
        self.file = file
        self.row = row
        self.column = column


@dataclass(frozen=True)
class SourceFile:
    """One CSV file of an import: its name (as errors show it), its size, how to open it, and
    what tells it from another file of the same name and size (a ZIP member's CRC-32; empty for
    a file on disk): the fingerprint a resumed import checks."""

    name: str
    size: int
    opener: Callable[[], IO[bytes]]
    digest: str = ""


def source_files(path: Path) -> list[SourceFile]:
    """The CSV files in a ZIP archive or a folder (not its subfolders), in name order; or the
    one CSV file `path` names."""
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
        if not found:
            raise DomainError(f"{path}: the folder holds no .csv files")
        return [SourceFile(p.name, p.stat().st_size, _file_opener(p)) for p in found]
    if not path.exists():
        raise DomainError(f"{path}: no such file or folder")
    if path.suffix.lower() == ".csv":  # one file: a GA4 report, or one of Plausible's tables
        return [SourceFile(path.name, path.stat().st_size, _file_opener(path))]
    if not zipfile.is_zipfile(path):
        raise DomainError(f"{path}: neither a ZIP archive nor a folder of CSV files")
    with zipfile.ZipFile(path) as archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and info.filename.lower().endswith(".csv")
            and not info.filename.startswith("__MACOSX/")
            and not Path(info.filename).name.startswith(".")
        ]
    if not members:
        raise DomainError(f"{path}: the archive holds no .csv files")
    members.sort(key=lambda info: Path(info.filename).name)
    return [
        SourceFile(Path(m.filename).name, m.file_size, _member_opener(path, m.filename), f"crc32:{m.CRC:08x}")
        for m in members
    ]


def _file_opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: open(path, "rb")


def _member_opener(archive: Path, member: str) -> Callable[[], IO[bytes]]:
    def opener() -> IO[bytes]:
        handle = zipfile.ZipFile(archive)
        stream = handle.open(member)
        original_close = stream.close

        def close() -> None:
            original_close()
            handle.close()

        stream.close = close  # type: ignore[method-assign]
        return stream

    return opener


def decoded_lines(
    source: SourceFile, stream: IO[bytes], progress: Callable[[int], None], header: list[str]
) -> Iterator[str]:
    """The stream's lines as text; a line that is not UTF-8 is an ImportFileError naming the
    column it happened in (`header` is filled in by the caller once the header row is read)."""
    for number, raw in enumerate(stream, start=1):
        progress(len(raw))
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as error:
            prefix = raw[: error.start].decode("utf-8", errors="replace")
            index = max(len(next(csv.reader([prefix]), [""])) - 1, 0)
            column = header[index] if index < len(header) else f"#{index + 1}"
            raise ImportFileError(
                source.name,
                f"byte 0x{raw[error.start]:02x} is not UTF-8 text; save the file as UTF-8 and try again",
                number,
                column,
            ) from None

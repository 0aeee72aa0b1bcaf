"""Checking hand-written TOML tables: ``SpecError`` and the readers that raise it.

Experiment specs (``experiments.spec``, ``experiments.designs``) and the calibration file
(``experiments.calibrate``) are read with these, so a mistake in either names its field (the
dotted path ``where`` it was read from) and what is allowed, in the same words. Each reader
takes the table, the key and the path prefix, and returns the value checked or raises.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from model.params import Param, ParameterError


class SpecError(ValueError):
    """A mistake in an experiment spec; names the field and what is allowed."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


def error_reason(err: ParameterError | SpecError) -> str:
    """The message of a ParameterError (or SpecError) without its field name, for a SpecError
    that names the field by its full path instead."""
    return str(err).split(": ", 1)[1]


def read_toml(path: Path, field: str) -> dict[str, Any]:
    """The TOML file at ``path``. A file that cannot be read is an error of ``field`` (the
    option or name that pointed to it); text that is not UTF-8, or not TOML, the file's."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise SpecError(field, f"cannot read {path}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise SpecError(str(path), f"not UTF-8 text ({err.reason} at byte {err.start})") from err
    except tomllib.TOMLDecodeError as err:
        raise SpecError(str(path), f"not valid TOML: {err}") from err


def sub_table(data: dict, key: str, prefix: str = "") -> dict[str, Any]:
    """``data[key]``, a table (empty when absent)."""
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise SpecError(prefix + key, f"got {value!r}; allowed: a table")
    return value


def table_array(data: dict, key: str) -> list[dict[str, Any]]:
    """``data[key]``, a non-empty array of tables (``[[key]]``)."""
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise SpecError(key, f"got {value!r}; allowed: a non-empty array of tables, [[{key}]]")
    return value


def check_keys(data: dict, allowed: set[str], prefix: str, context: str = "") -> None:
    """Refuse a key of ``data`` not in ``allowed``: a misspelt key is an error, not ignored.
    ``context`` ends the message's first part (" for a grid design")."""
    for key in data:
        if key not in allowed:
            raise SpecError(prefix + key,
                            f"unknown key{context}; allowed: {', '.join(sorted(allowed)) or 'none'}")


def typed_value(data: dict, key: str, kind: type, default: Any, prefix: str) -> Any:
    """``data[key]`` (``default`` when absent), an instance of ``kind``."""
    value = data.get(key, default)
    if not isinstance(value, kind):
        raise SpecError(prefix + key, f"got {value!r}; allowed: a {kind.__name__}")
    return value


def integer_value(data: dict, key: str, default: int, low: int, prefix: str, high: int | None = None) -> int:
    """``data[key]`` (``default`` when absent), an integer >= ``low`` and, if given, <= ``high``
    (true/false is not one)."""
    value = data.get(key, default)
    in_range = isinstance(value, int) and low <= value and (high is None or value <= high)
    if isinstance(value, bool) or not in_range:
        allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
        raise SpecError(prefix + key, f"got {value!r}; allowed: {allowed}")
    return value


def coerced(param: Param, value: Any, where: str) -> Any:
    """``value`` as a value of the parameter ``param`` (its schema's check), read at ``where``."""
    try:
        return param.coerce(value)
    except ParameterError as err:
        raise SpecError(where, error_reason(err)) from err


def parameter_range(value: Any, param: Param, where: str) -> dict[str, Any]:
    """A range ``{low = ..., high = ...}`` of the parameter ``param``: both ends its values,
    ``low < high``."""
    if not isinstance(value, dict):
        raise SpecError(where, f"got {value!r}; allowed: a range {{low = ..., high = ...}} "
                               "(lists of values are for grid designs and categorical parameters)")
    check_keys(value, {"low", "high"}, where + ".")
    for end in ("low", "high"):
        if end not in value:
            raise SpecError(f"{where}.{end}", "missing; a range needs low and high")
    low, high = (coerced(param, value[end], f"{where}.{end}") for end in ("low", "high"))
    if low >= high:
        raise SpecError(f"{where}.low", f"got {low!r}, not below high = {high!r}; allowed: low < high")
    return {"low": low, "high": high}

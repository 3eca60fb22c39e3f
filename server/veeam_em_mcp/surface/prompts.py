"""MCP prompts, kept as Markdown files in ``prompts/`` and loaded once at start.

Prompts are text that people review and edit more often than code, so each one is a file: a small
front-matter block declares its name, title, description and arguments, and the body is the
template, with ``{{argument}}`` placeholders. The files ship inside the wheel (pyproject
force-includes ``prompts/`` as ``veeam_em_mcp/surface/prompts``); in a source or editable tree they are
read from the repository's ``prompts/``.

Front matter (one ``key: value`` per line; ``argument`` may repeat)::

    ---
    name: vm_recoverability_report
    title: VM recoverability report
    description: Report whether a VM can be recovered ...
    argument: vm_name (required): The VM's name as Veeam shows it
    argument: rpo_hours (number, default 24): The recovery point objective in hours
    ---

A malformed file stops the server at start with the file and line named: a broken prompt is a
packaging bug, and failing loudly beats serving a half-rendered template.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from ..errors import PromptFileError
from ..text import UNSAFE_IN_LINE

log = logging.getLogger("veeam_em_mcp.prompts")

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_ARGUMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\((?P<options>[^)]*)\))?\s*:\s*(?P<description>.+)$")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_MAX_VALUE_CHARS = 2048
_MAX_NUMBER = 24 * 366  # a year: an RPO beyond that is a typo

ArgumentKind = Literal["text", "number"]


@dataclass(frozen=True)
class PromptArgumentSpec:
    name: str
    description: str
    required: bool = False
    kind: ArgumentKind = "text"
    default: str | None = None


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    title: str
    description: str
    arguments: tuple[PromptArgumentSpec, ...]
    body: str
    source: Path

    def render(self, values: Mapping[str, Any] | None) -> str:
        """The body with every placeholder replaced; bad values raise ``MCPError`` (invalid params)."""
        given = dict(values or {})
        unknown = set(given) - {arg.name for arg in self.arguments}
        if unknown:
            raise _invalid(f"prompt {self.name!r} has no argument(s) {', '.join(sorted(unknown))}")
        resolved = {arg.name: _value(self.name, arg, given.get(arg.name)) for arg in self.arguments}
        return _PLACEHOLDER.sub(lambda m: resolved[m.group(1)], self.body)


def prompts_dir() -> Path:
    """Where the prompt files are: inside the installed package, else the source tree's ``prompts/``."""
    package = Path(__file__).resolve().parent
    installed = package / "prompts"
    if installed.is_dir():
        return installed
    return package.parents[2] / "prompts"  # server/veeam_em_mcp/surface -> repository root


def load_prompts(directory: Path | None = None) -> list[PromptTemplate]:
    """Every ``*.md`` prompt in ``directory`` (default: ``prompts_dir()``), sorted by name."""
    directory = prompts_dir() if directory is None else directory
    if not directory.is_dir():
        log.warning("no prompt directory at %s: the server will offer no prompts", directory)
        return []
    templates = [load_prompt_file(path) for path in sorted(directory.glob("*.md"))]
    seen: dict[str, Path] = {}
    for template in templates:
        if template.name in seen:
            raise PromptFileError(
                f"{template.source}: prompt name {template.name!r} is already used by {seen[template.name]}"
            )
        seen[template.name] = template.source
    return sorted(templates, key=lambda t: t.name)


def load_prompt_file(path: Path) -> PromptTemplate:
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise PromptFileError(f"{path}:1: a prompt file starts with a '---' front-matter line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise PromptFileError(f"{path}: the front matter has no closing '---' line") from None
    fields: dict[str, str] = {}
    arguments: list[PromptArgumentSpec] = []
    for number in range(1, end):
        line = lines[number].strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if not sep or not value:
            raise PromptFileError(f"{path}:{number + 1}: expected 'key: value', got {line!r}")
        if key == "argument":
            arguments.append(_argument(path, number + 1, value))
        elif key in ("name", "title", "description"):
            if key in fields:
                raise PromptFileError(f"{path}:{number + 1}: {key!r} is given twice")
            fields[key] = value
        else:
            raise PromptFileError(f"{path}:{number + 1}: unknown key {key!r} (name, title, description, argument)")
    for key in ("name", "title", "description"):
        if key not in fields:
            raise PromptFileError(f"{path}: the front matter lacks {key!r}")
    name = fields["name"]
    if not _NAME.match(name):
        raise PromptFileError(f"{path}: prompt name {name!r} must be lower-case letters, digits and '_'")
    body = "\n".join(lines[end + 1 :]).strip() + "\n"
    declared = [arg.name for arg in arguments]
    if len(set(declared)) != len(declared):
        raise PromptFileError(f"{path}: an argument is declared twice")
    used = set(_PLACEHOLDER.findall(body))
    if undeclared := used - set(declared):
        raise PromptFileError(f"{path}: the body uses undeclared argument(s) {', '.join(sorted(undeclared))}")
    if unused := set(declared) - used:
        raise PromptFileError(f"{path}: argument(s) {', '.join(sorted(unused))} are declared but never used")
    return PromptTemplate(
        name=name,
        title=fields["title"],
        description=fields["description"],
        arguments=tuple(arguments),
        body=body,
        source=path,
    )


def _argument(path: Path, line: int, text: str) -> PromptArgumentSpec:
    match = _ARGUMENT.match(text)
    if not match:
        raise PromptFileError(
            f"{path}:{line}: expected 'argument: name (required|number|default X): description', got {text!r}"
        )
    required = False
    kind: ArgumentKind = "text"
    default: str | None = None
    for option in filter(None, (o.strip() for o in (match.group("options") or "").split(","))):
        if option == "required":
            required = True
        elif option in ("text", "number"):
            kind = "number" if option == "number" else "text"
        elif option.startswith("default "):
            default = option[len("default ") :].strip()
        else:
            raise PromptFileError(f"{path}:{line}: unknown argument option {option!r} (required, number, default X)")
    if required and default is not None:
        raise PromptFileError(f"{path}:{line}: a required argument cannot have a default")
    if not required and default is None:
        raise PromptFileError(f"{path}:{line}: an optional argument needs a default")
    spec = PromptArgumentSpec(match.group("name"), match.group("description").strip(), required, kind, default)
    if default is not None:
        try:
            _value(str(path), spec, default)  # the default itself must be valid
        except MCPError as exc:
            raise PromptFileError(f"{path}:{line}: bad default: {exc.error.message}") from None
    return spec


def _value(prompt: str, arg: PromptArgumentSpec, raw: Any) -> str:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if arg.default is None:
            raise _invalid(f"prompt {prompt!r} needs the argument {arg.name!r}: {arg.description}")
        raw = arg.default
    text = str(raw).strip()
    if len(text) > _MAX_VALUE_CHARS:
        raise _invalid(f"argument {arg.name!r} is longer than {_MAX_VALUE_CHARS} characters")
    # The value lands inside the prompt text: a newline could forge a new instruction paragraph, a bidi
    # override hides what a reviewer reads.
    if UNSAFE_IN_LINE.search(text):
        raise _invalid(f"argument {arg.name!r} contains control characters (line breaks included); give one line")
    if arg.kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise _invalid(f"argument {arg.name!r} must be a number (e.g. 24), not {text!r}") from None
        if not math.isfinite(number) or number <= 0 or number > _MAX_NUMBER:
            raise _invalid(f"argument {arg.name!r} must be above 0 and at most {_MAX_NUMBER}, not {text}")
        return f"{number:g}"
    return text


def _invalid(message: str) -> MCPError:
    return MCPError(code=INVALID_PARAMS, message=message)


def register(server: MCPServer[Any], templates: list[PromptTemplate] | None = None) -> None:
    """Serve every prompt file through MCP ``prompts/list`` and ``prompts/get``."""
    for template in load_prompts() if templates is None else templates:
        server.add_prompt(_as_prompt(template))


class _FilePrompt(Prompt):
    """A prompt whose missing-argument error reaches the client.

    The SDK reports a missing required argument as a plain ``ValueError``, which the client sees
    only as "Internal server error"; checking first turns it into an invalid-params error that
    names the argument and says what it is.
    """

    async def render(self, arguments: dict[str, Any] | None, context: Any) -> Any:
        for argument in self.arguments or []:
            value = (arguments or {}).get(argument.name)
            if argument.required and (value is None or not str(value).strip()):
                raise _invalid(f"prompt {self.name!r} needs the argument {argument.name!r}: {argument.description}")
        return await super().render(arguments, context)


def _as_prompt(template: PromptTemplate) -> Prompt:
    def render(**values: Any) -> str:
        return template.render(values)

    return _FilePrompt(
        name=template.name,
        title=template.title,
        description=template.description,
        arguments=[
            PromptArgument(
                name=arg.name,
                description=arg.description if arg.default is None else f"{arg.description} (default {arg.default})",
                required=arg.required,
            )
            for arg in template.arguments
        ],
        fn=render,
    )

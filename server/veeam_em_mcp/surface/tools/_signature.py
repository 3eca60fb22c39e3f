"""A tool function made from an argument model: the model's fields are the tool's arguments, plus ``cursor``.

The MCP SDK reads a tool's input schema from its function signature. ``argument_tool`` builds a function
whose signature is the argument model's fields (each optional: an argument left out takes the model's
default, and the model knows which ones the caller gave, which is what a cursor is checked against), so
the argument list is written once, in ``models.arguments``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Optional

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, Field, ValidationError

from ...errors import InvalidArgument
from ...models.arguments import Arguments
from ...services.context import EmContext
from ..state import state_of

CURSOR: Any = Annotated[
    str | None, Field(max_length=4096, description="next_cursor of the previous result (give it alone to continue)")
]

Run = Callable[[EmContext, Any, str | None], Awaitable[CallToolResult]]


def argument_tool(name: str, arguments: type[Arguments], result: type[BaseModel], run: Run) -> Callable[..., Any]:
    """An async tool ``name(ctx, <the model's fields>, cursor)`` that builds the model and calls ``run``."""
    parameters = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    annotations: dict[str, Any] = {"ctx": Context}
    for field_name, info in arguments.model_fields.items():
        published = Field(description=info.description) if info.description else Field()
        # Built at run time for the SDK, which reads annotation objects, not text.
        annotation: Any = Annotated.__class_getitem__((Optional[info.rebuild_annotation()], published))  # type: ignore[attr-defined]  # noqa: UP045
        # Every argument is optional on the wire, even a required one: beside a cursor it may be left out;
        # without one the model refuses its absence (InvalidArgument, naming it).
        default = None
        parameters.append(
            inspect.Parameter(field_name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        )
        annotations[field_name] = annotation
    parameters.append(inspect.Parameter("cursor", inspect.Parameter.KEYWORD_ONLY, annotation=CURSOR, default=None))
    annotations["cursor"] = CURSOR
    returns = Annotated[CallToolResult, result]
    annotations["return"] = returns

    async def tool(**kwargs: Any) -> CallToolResult:
        ctx = kwargs.pop("ctx")
        cursor = kwargs.pop("cursor", None)
        given = {key: value for key, value in kwargs.items() if value is not None}
        em = state_of(ctx)
        if cursor is not None:
            # Beside a cursor only what was given is checked (the cursor carries the rest); a required
            # argument may be left out.
            model = arguments.model_construct(**given)
            model.__pydantic_fields_set__ = set(given)
            return await run(em, model, cursor)
        try:
            model = arguments.model_validate(given)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise InvalidArgument(f"{name}: {problems}. Nothing was sent to Enterprise Manager.") from None
        return await run(em, model, None)

    tool.__name__ = tool.__qualname__ = name
    tool.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    tool.__annotations__ = annotations
    return tool

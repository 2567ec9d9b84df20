"""How a state's input becomes its output, in both query languages.

JSONPath states: InputPath -> Parameters -> (work) -> ResultSelector -> ResultPath ->
OutputPath. JSONata states: Arguments -> (work) -> Output, with ``$states`` bound. Assign
works in both and sees the variables as they were before the state ran.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from invoiceflow.engine import jsonata_eval
from invoiceflow.engine.errors import RESULT_PATH_MATCH_FAILURE, RUNTIME, StatesError
from invoiceflow.engine.paths import PathError, compile_getter, compile_reference, set_steps
from invoiceflow.engine.templates import compile_template
from invoiceflow.engine.values import dumps

Variables = Mapping[str, Any]
_ABSENT = object()


@dataclass(slots=True)
class Flow:
    """The compiled data-flow fields of one state (or one catcher)."""

    jsonata: bool
    input_path: Callable[[Any, Any, Any], Any] | None = None
    input_null: bool = False
    parameters: Callable[[Any, Any, Any], Any] | None = None
    result_selector: Callable[[Any, Any, Any], Any] | None = None
    result_path: tuple[str | int, ...] | None = ()
    output_path: Callable[[Any, Any, Any], Any] | None = None
    output_null: bool = False
    arguments: Callable[[Mapping[str, Any], Any], Any] | None = None
    output: Callable[[Mapping[str, Any], Any], Any] | None = None
    assign: Callable[..., dict[str, Any]] | None = None
    result_path_text: str = "$"

    # -- JSONPath pieces -------------------------------------------------------------------
    def effective_input(self, raw: Any, ctx: Any, variables: Variables | None) -> Any:
        if self.jsonata:
            return raw
        if self.input_null:
            return {}
        if self.input_path is None:
            return raw
        try:
            return self.input_path(raw, ctx, variables)
        except PathError as exc:
            raise StatesError(RUNTIME, f"Invalid path for InputPath: {exc}") from None

    def task_input(self, raw: Any, eff: Any, ctx: Any, variables: Variables | None) -> Any:
        """The payload sent to the work: Parameters (JSONPath) or Arguments (JSONata)."""
        if self.jsonata:
            if self.arguments is None:
                return raw
            return self.arguments({"input": raw, "context": ctx}, variables)
        if self.parameters is None:
            return eff
        return self.parameters(eff, ctx, variables)

    def select(self, result: Any, ctx: Any, variables: Variables | None) -> Any:
        if self.jsonata or self.result_selector is None:
            return result
        return self.result_selector(result, ctx, variables)

    def finish(
        self,
        raw: Any,
        result: Any,
        ctx: Any,
        variables: Variables | None,
        *,
        error_output: Any = _ABSENT,
    ) -> tuple[Any, dict[str, Any] | None]:
        """The state's output and the variables it assigns, given its (selected) result."""
        if self.jsonata:
            states: dict[str, Any] = {"input": raw, "context": ctx}
            if error_output is not _ABSENT:
                states["errorOutput"] = error_output
            else:
                states["result"] = result
            assigned = self.assign(states, variables) if self.assign else None
            out = self.output(states, variables) if self.output else result
            return out, assigned
        assigned = self.assign(result, ctx, variables) if self.assign else None
        if self.result_path is None:
            combined = raw
        else:
            try:
                combined = set_steps(raw, self.result_path, result)
            except PathError:
                raise StatesError(
                    RESULT_PATH_MATCH_FAILURE,
                    f'Unable to apply ResultPath "{self.result_path_text}" to input "{dumps(raw)}"',
                ) from None
        return self.apply_output_path(combined, ctx, variables), assigned

    def apply_output_path(self, value: Any, ctx: Any, variables: Variables | None) -> Any:
        if self.output_null:
            return {}
        if self.output_path is None:
            return value
        try:
            return self.output_path(value, ctx, variables)
        except PathError as exc:
            raise StatesError(RUNTIME, f"Invalid path for OutputPath: {exc}") from None


def compile_flow(
    fields: Mapping[str, Any], jsonata: bool, *, payload_field: str | None = "Parameters"
) -> Flow:
    """Compile the data-flow fields of a state definition (already validated).

    ``payload_field`` names the template that builds the work's input: "Parameters" for
    Task/Pass/Parallel, None for Map, whose Parameters/ItemSelector apply per item.
    """
    flow = Flow(jsonata=jsonata)
    if "Assign" in fields:
        flow.assign = _compile_assign(fields["Assign"], jsonata)
    if jsonata:
        if "Arguments" in fields:
            flow.arguments = jsonata_eval.compile_value(fields["Arguments"])
        if "Output" in fields:
            flow.output = jsonata_eval.compile_value(fields["Output"])
        return flow
    if "InputPath" in fields:
        if fields["InputPath"] is None:
            flow.input_null = True
        elif fields["InputPath"] != "$":
            flow.input_path = compile_getter(fields["InputPath"])
    if payload_field is not None and payload_field in fields:
        flow.parameters = compile_template(fields[payload_field])
    if "ResultSelector" in fields:
        flow.result_selector = compile_template(fields["ResultSelector"])
    if "ResultPath" in fields:
        text = fields["ResultPath"]
        flow.result_path = None if text is None else compile_reference(text)
        flow.result_path_text = text or ""
    if "OutputPath" in fields:
        if fields["OutputPath"] is None:
            flow.output_null = True
        elif fields["OutputPath"] != "$":
            flow.output_path = compile_getter(fields["OutputPath"])
    return flow


def _compile_assign(assign: Any, jsonata: bool) -> Callable[..., dict[str, Any]]:
    if jsonata:
        evaluate = jsonata_eval.compile_value(assign)

        def assign_jsonata(states: Mapping[str, Any], variables: Any) -> dict[str, Any]:
            values = evaluate(states, variables)
            return values if isinstance(values, dict) else {}

        return assign_jsonata
    build = compile_template(assign)

    def assign_jsonpath(data: Any, ctx: Any, variables: Any) -> dict[str, Any]:
        values = build(data, ctx, variables)
        return values if isinstance(values, dict) else {}

    return assign_jsonpath

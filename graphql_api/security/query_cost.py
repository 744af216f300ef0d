"""The cost of an operation, estimated from its document and variables before it runs.

The cost is the number of objects the response could hold, as Shopify and GitHub count it: every object
costs 1 (scalars are free), a connection holds `first`/`last` edges (or the argument's default, at most the
page limit), other lists hold their estimated length (stockPrices by its date range and interval, the
leaderboard by its `limit`, an equity curve by a fixed estimate), and nested lists multiply. A mutation's
root field costs 10 more: it writes. The estimate walks the document with fragments expanded; the shape
limits (document_shape.py) have already bounded that walk. Under an interface (node, nodes) every fragment
counts on its own type, so a selection costs the same there as where the type is named.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_composite_type,
    is_interface_type,
    is_list_type,
    is_object_type,
)
from graphql.execution.values import get_argument_values, get_variable_values

from db_models.arenas import MAX_ARENA_MODELS
from db_models.runs import BenchmarkKind
from graphql_api.errors import QueryTooComplex
from graphql_api.market.queries import MAX_BARS
from graphql_api.market.types import PriceInterval
from graphql_api.nodes.types import MAX_NODES
from graphql_api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

MUTATION_COST = 10
MAX_LEADERBOARD = 100  # graphql_api/admin/service.py refuses more
EQUITY_CURVE_POINTS = 1_000  # about four years of daily closes, or a few minute-bar sessions
BASELINES = len(BenchmarkKind)
BARS_PER_DAY = {PriceInterval.DAY: 1, PriceInterval.HOUR: 24, PriceInterval.MINUTE: 24 * 60}

ListSize = Callable[[Mapping[str, Any]], int]
# A type whose fields a selection names: an object, or an interface (Node) whose fragments name its objects'.
Selectable = GraphQLObjectType | GraphQLInterfaceType


def _clamp(value: object, default: int, low: int, high: int) -> int:
    number = value if isinstance(value, int) and not isinstance(value, bool) else default
    return max(low, min(high, number))


def _weekdays(start: dt.date, end: dt.date) -> int:
    weeks, extra = divmod((end - start).days + 1, 7)
    return weeks * 5 + sum((start.weekday() + i) % 7 < 5 for i in range(extra))


def _bars(args: Mapping[str, Any]) -> int:
    """Bars of a stockPrices range: daily bars on weekdays, intraday bars around the clock (currencies trade
    on Sundays); the resolver refuses more than MAX_BARS, so no range costs more."""
    start, end = args.get("from"), args.get("to") or dt.date.today()
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        return MAX_BARS
    if end < start:
        return 0
    interval = args.get("interval") or PriceInterval.DAY
    days = _weekdays(start, end) if interval == PriceInterval.DAY else (end - start).days + 1
    return min(MAX_BARS, days * BARS_PER_DAY.get(interval, 1))


# Every list of objects in the schema, by (type, field), with how long it can be. `edges` lists take their
# connection's page size. tests/test_query_cost.py fails when a new list of objects has no entry here.
OPEN_RANGE_ACTIONS = 200


def _actions(args: Mapping[str, Any]) -> int:
    """Splits and dividends of one symbol in a range: at most about one a month (monthly payers), so the
    range's months, and an open range as a long history's worth."""
    start, end = args.get("from"), args.get("to") or dt.date.today()
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        return OPEN_RANGE_ACTIONS
    return max(0, min(OPEN_RANGE_ACTIONS, (end - start).days // 28 + 2))


LIST_SIZES: dict[tuple[str, str], ListSize] = {
    ("Query", "stockPrices"): _bars,
    ("Query", "leaderboard"): lambda args: _clamp(args.get("limit"), 20, 1, MAX_LEADERBOARD),
    ("Query", "aiModels"): lambda _: 50,
    ("Run", "equityCurve"): lambda _: EQUITY_CURVE_POINTS,
    ("SystemStatus", "toolServers"): lambda _: 10,
    ("Query", "corporateActions"): _actions,
    # One result per symbol of a fetch: a universe's worth (the NASDAQ-100) is the usual job.
    ("PriceFetchJob", "results"): lambda _: 101,
    # A run's or an arena's baselines: a buy-and-hold and at most one index; their curves as long as a run's.
    ("Run", "benchmarks"): lambda _: BASELINES,
    ("Run", "relative"): lambda _: BASELINES,
    ("Arena", "benchmarks"): lambda _: BASELINES,
    ("Benchmark", "equityCurve"): lambda _: EQUITY_CURVE_POINTS,
    ("Arena", "runs"): lambda _: MAX_ARENA_MODELS,
    ("Arena", "standings"): lambda _: MAX_ARENA_MODELS,
    ("Query", "nodes"): lambda args: min(len(args.get("ids") or ()), MAX_NODES),
}


def _page_size(args: Mapping[str, Any]) -> int:
    value = args["first"] if "first" in args else args.get("last")
    return _clamp(value, DEFAULT_PAGE_SIZE, 0, MAX_PAGE_SIZE)


def _selectable(type_: object) -> bool:
    return is_object_type(type_) or is_interface_type(type_)


class _Estimate:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: Any) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def fields(self, parent: Selectable, selection_set: SelectionSetNode) -> Iterator[tuple[Selectable, FieldNode]]:
        """The fields of a selection set with its fragments expanded, each with the type it is selected on. Under
        an interface every fragment counts, as if the object were of each fragment's type at once: never less
        than the object it turns out to be."""
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield parent, selection
                continue
            if isinstance(selection, InlineFragmentNode):
                fragment_type, inner = selection.type_condition, selection.selection_set
            else:
                assert isinstance(selection, FragmentSpreadNode)
                fragment = self.fragments[selection.name.value]
                fragment_type, inner = fragment.type_condition, fragment.selection_set
            target = self.schema.get_type(fragment_type.name.value) if fragment_type else parent
            yield from self.fields(target if _selectable(target) else parent, inner)

    def _arguments(self, definition: GraphQLField, node: FieldNode) -> Mapping[str, Any]:
        try:
            return get_argument_values(definition, node, self.variables)
        except GraphQLError:  # execution reports it; the defaults stand in for the estimate
            return {}

    def cost(self, parent: Selectable, selection_set: SelectionSetNode | None, page: int) -> int:
        total = 0
        if selection_set is None:
            return total
        for owner, node in self.fields(parent, selection_set):
            definition = owner.fields.get(node.name.value)
            named = get_named_type(definition.type) if definition is not None else None
            if named is None or not is_composite_type(named):
                continue  # scalars, enums and introspection are free
            args = self._arguments(definition, node)
            count = 1
            if is_list_type(get_nullable_type(definition.type)):
                size = LIST_SIZES.get((owner.name, node.name.value))
                count = page if node.name.value == "edges" else size(args) if size else MAX_PAGE_SIZE
            inner_page = _page_size(args) if named.name.endswith("Connection") else page
            inner = self.cost(named, node.selection_set, inner_page) if _selectable(named) else 0
            total += count * (1 + inner)
        return total


def estimate_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: dict[str, Any] | None
) -> int | None:
    """The operation's cost, or None when it cannot run as sent (no such operation, variables that do not
    coerce): execution then reports why."""
    operation: OperationDefinitionNode | None = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return None
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    estimate = _Estimate(schema, document, coerced)
    cost = estimate.cost(root, operation.selection_set, DEFAULT_PAGE_SIZE)
    if operation.operation == OperationType.MUTATION:
        cost += MUTATION_COST * sum(1 for _ in estimate.fields(root, operation.selection_set))
    return cost


def check_cost(cost: int | None, max_cost: int) -> None:
    if cost is not None and cost > max_cost:
        raise QueryTooComplex(
            f"This query would cost {cost:,} points (about that many objects in its response), over the limit "
            f"of {max_cost:,}: ask for smaller pages (first/last), narrower date ranges or fewer aliases.",
            cost=cost,
            maxCost=max_cost,
        )

"""The root schema: stitches each domain's queries and mutations together."""

from __future__ import annotations

from graphql.error import GraphQLError
from strawberry import Schema
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from graphql_api.accounts.mutations import AccountMutations
from graphql_api.accounts.profile_mutations import ProfileMutations
from graphql_api.accounts.queries import AccountQueries
from graphql_api.admin.queries import AdminQueries
from graphql_api.arenas.mutations import ArenaMutations
from graphql_api.arenas.queries import ArenaQueries
from graphql_api.arenas.subscriptions import ArenaSubscriptions
from graphql_api.chat.mutations import ChatMutations
from graphql_api.chat.queries import ChatQueries
from graphql_api.chat.subscriptions import ChatSubscriptions
from graphql_api.context import OperationContext
from graphql_api.document_cache import OffLoopParser
from graphql_api.error_handling import ErrorFormatter
from graphql_api.executor import AibtExecutor
from graphql_api.market.queries import MarketQueries
from graphql_api.metrics import MetricsExtension
from graphql_api.nodes.queries import NodeQueries
from graphql_api.price_fetches.mutations import PriceFetchMutations
from graphql_api.price_fetches.queries import PriceFetchQueries
from graphql_api.price_fetches.subscriptions import PriceFetchSubscriptions
from graphql_api.runs.mutations import RunMutations
from graphql_api.runs.queries import RunQueries
from graphql_api.runs.subscriptions import RunSubscriptions
from graphql_api.security.query_limits import QueryLimits
from graphql_api.trading_models.mutations import TradingModelMutations
from graphql_api.trading_models.queries import TradingModelQueries

Query = merge_types(
    "Query",
    (
        AccountQueries,
        TradingModelQueries,
        RunQueries,
        ArenaQueries,
        ChatQueries,
        MarketQueries,
        AdminQueries,
        PriceFetchQueries,
        NodeQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutations,
        ProfileMutations,
        TradingModelMutations,
        RunMutations,
        ArenaMutations,
        ChatMutations,
        PriceFetchMutations,
    ),
)
Subscription = merge_types(
    "Subscription", (RunSubscriptions, ArenaSubscriptions, ChatSubscriptions, PriceFetchSubscriptions)
)


class AibtSchema(Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """ErrorFormatter logs the unexpected errors with their request id; expected ones are not noise."""


def build_schema() -> Schema:
    extensions = [OperationContext, QueryLimits, OffLoopParser, MetricsExtension, ErrorFormatter]
    return AibtSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=AibtExecutor,
    )


schema = build_schema()

"""Creating, changing and finding trading models, with ownership enforced in one place."""

from __future__ import annotations

from typing import Any

from strawberry import UNSET
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db_models.accounts import User
from db_models.costs import NO_COSTS, TradingCosts
from db_models.runs import ACTIVE_STATUSES, Run
from db_models.trading import TradingModel
from graphql_api.errors import BadUserInput, Conflict
from graphql_api.ids import find_by_global_id
from graphql_api.runs.performance_cache import finished_run_figures
from graphql_api.trading_models import validation as check
from graphql_api.trading_models.types import CreateModelInput, UpdateModelInput

_SIGNATURE_ATTEMPTS = 5


def model_scope(user: User) -> dict[str, Any]:
    """The models a user may look up by ID: their own (an admin browses others' with allModels, never by ID)."""
    return {"owner_id": user.id}


async def get_owned_model(user: User, model_id: str) -> TradingModel:
    """The caller's model; another user's model is as missing as a model that never existed."""
    return await find_by_global_id(TradingModel, "TradingModel", model_id, kind="trading model", **model_scope(user))


async def _free_signature(owner_id: int, name: str, exclude_id: int | None = None) -> str:
    base = check.slugify(name)
    taken_query = TradingModel.filter(owner_id=owner_id, signature__startswith=base)
    if exclude_id is not None:
        taken_query = taken_query.exclude(id=exclude_id)
    taken = set(await taken_query.values_list("signature", flat=True))
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


async def _save_with_signature(model: TradingModel, *, creating: bool) -> TradingModel:
    """Saves, picking a free signature; retries when a concurrent save takes the same one."""
    for _ in range(_SIGNATURE_ATTEMPTS):
        model.signature = await _free_signature(model.owner_id, model.name, None if creating else model.id)
        try:
            async with in_transaction():
                await model.save()
            return model
        except IntegrityError:
            continue
    raise Conflict("Could not find a free signature for this name; try another name.")


def _cost_columns(costs: TradingCosts) -> dict[str, Any]:
    return {
        "commission_fixed": costs.commission_fixed,
        "commission_bps": costs.commission_bps,
        "commission_minimum": costs.commission_minimum,
        "slippage_bps": costs.slippage_bps,
        "max_position_weight": costs.max_position_weight,
    }


async def create_model(owner: User, data: CreateModelInput) -> TradingModel:
    model = TradingModel(
        **_cost_columns(check.clean_costs(data.costs, NO_COSTS)),
        owner_id=owner.id,
        name=check.clean_name(data.name),
        description=check.clean_text(data.description, field="description", limit=check.MAX_DESCRIPTION),
        allowed_tickers=await check.clean_tickers(data.allowed_tickers),
        initial_cash=check.clean_cash(data.initial_cash),
        ai_model=check.clean_ai_model(data.ai_model),
        parameters=check.clean_parameters(data.parameters),
        custom_rules=check.clean_text(data.custom_rules, field="customRules", limit=check.MAX_RULES),
        custom_instructions=check.clean_text(
            data.custom_instructions, field="customInstructions", limit=check.MAX_RULES
        ),
        extra_tools=check.clean_extra_tools(data.extra_tools),
    )
    return await _save_with_signature(model, creating=True)


def _required(value: Any, field: str) -> Any:
    if value is None:
        raise BadUserInput(f"{field} cannot be null; omit it to keep the current value.", field=field)
    return value


async def _changes(model: TradingModel, data: UpdateModelInput) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if data.name is not UNSET:
        changes["name"] = check.clean_name(_required(data.name, "name"))
    if data.description is not UNSET:
        changes["description"] = check.clean_text(data.description, field="description", limit=check.MAX_DESCRIPTION)
    if data.is_active is not UNSET:
        changes["is_active"] = _required(data.is_active, "isActive")
    if data.allowed_tickers is not UNSET:
        changes["allowed_tickers"] = await check.clean_tickers(_required(data.allowed_tickers, "allowedTickers"))
    if data.initial_cash is not UNSET:
        changes["initial_cash"] = check.clean_cash(_required(data.initial_cash, "initialCash"))
    if data.ai_model is not UNSET:
        changes["ai_model"] = check.clean_ai_model(_required(data.ai_model, "aiModel"))
    if data.parameters is not UNSET:
        changes["parameters"] = check.clean_parameters(data.parameters, model.parameters)
    if data.custom_rules is not UNSET:
        changes["custom_rules"] = check.clean_text(data.custom_rules, field="customRules", limit=check.MAX_RULES)
    if data.custom_instructions is not UNSET:
        changes["custom_instructions"] = check.clean_text(
            data.custom_instructions, field="customInstructions", limit=check.MAX_RULES
        )
    if data.extra_tools is not UNSET:
        changes["extra_tools"] = check.clean_extra_tools(_required(data.extra_tools, "extraTools"))
    if data.costs is not UNSET:
        costs = _required(data.costs, "costs")
        changes.update(_cost_columns(check.clean_costs(costs, TradingCosts.of_model(model))))
    return changes


async def update_model(owner: User, model_id: str, data: UpdateModelInput) -> TradingModel:
    model = await get_owned_model(owner, model_id)
    changes = await _changes(model, data)
    renamed = "name" in changes and changes["name"] != model.name
    for field, value in changes.items():
        setattr(model, field, value)
    if renamed:
        return await _save_with_signature(model, creating=False)
    await model.save()
    return model


async def delete_model(owner: User, model_id: str) -> None:
    model = await get_owned_model(owner, model_id)
    async with in_transaction():
        if await Run.filter(model_id=model.id, status__in=ACTIVE_STATUSES).exists():
            raise Conflict("This model has a queued or running run; cancel it before deleting the model.")
        await model.delete()
    finished_run_figures.forget_model(model.id)

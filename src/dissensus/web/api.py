"""The JSON API, version 1: enrichment, runs and their records, the review queue, governance.

Mounted at ``/api/v1`` by :func:`dissensus.web.create_app`; its OpenAPI document is
``/api/v1/openapi.json``. Machine clients authenticate with a token (``dissensus tokens add``)
sent as ``Authorization: Bearer dss_...``; a token acts as its user with a role no higher than
the user's, so the role matrix is the web app's (:data:`dissensus.web._auth.PERMISSIONS`) and
every write is recorded under the user's name. Cookie sessions do not reach the API: without
cookies there is no cross-site request to forge, so the API needs no CSRF token.

Every handler calls the same library functions as the CLI and the pages (runs read model, review
queue, governance, the call log), so the three fronts report the same numbers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from dissensus.domain import EnrichedRecord, Learning, LearningStatus
from dissensus.errors import (
    DissensusError,
    InputError,
    KnowledgeError,
    NotFoundError,
    ReviewError,
    RunError,
)
from dissensus.llm import ModelPool
from dissensus.observability import CallLog, LoggedCall
from dissensus.pipeline import Runner, RunRequest, RunSummary
from dissensus.pipeline.enrich import enrich_products, prepare_request
from dissensus.pipeline.runs import RunView, get_run, list_runs
from dissensus.pipeline.store import RunStore
from dissensus.review import (
    OutputRefresh,
    ReviewDetail,
    ReviewItem,
    ReviewReason,
    ReviewState,
    SubmitResult,
    SupervisorView,
    ValueChange,
    refresh_output,
    restore,
    value_history,
)
from dissensus.review.provenance import CaseView, OutputUse, cases_of, outputs_using
from dissensus.web._auth import Action, allowed
from dissensus.web._deps import WebDeps
from dissensus.web.users import User

__all__ = ["API_PREFIX", "MAX_SYNC_PRODUCTS", "create_api"]

API_PREFIX = "/api/v1"
MAX_SYNC_PRODUCTS = 50
"""``POST /enrich`` answers in the request; more products go to ``POST /runs``."""
MAX_RUN_PRODUCTS = 100_000


class ProductIn(BaseModel):
    """One product to enrich (the fields of an input line)."""

    id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1)
    description: str | None = None
    category: str = Field(min_length=1)


class EnrichRequest(BaseModel):
    """Products and the schema of their categories (the YAML schema file's content as JSON)."""

    products: list[ProductIn] = Field(min_length=1)
    catalog_schema: dict[str, Any] = Field(alias="schema")
    """``{"categories": [{"path": "Home > Knives", "attributes": [{"name": "Brand"}]}]}``."""
    run_id: str | None = Field(default=None, max_length=64)


class EnrichResponse(BaseModel):
    run_id: str
    summary: RunSummary
    records: list[EnrichedRecord]
    """In input order."""


class RunStarted(BaseModel):
    run_id: str
    status: Literal["running"] = "running"
    href: str


class StoredRecord(BaseModel):
    seq: int
    record: EnrichedRecord


class RecordRef(BaseModel):
    run_id: str
    seq: int


class RecordDetail(StoredRecord):
    supervisor: SupervisorView | None = None
    calls: list[LoggedCall]
    """Every model call that worked on the record: the exact prompts behind its values."""
    history: list[ValueChange]
    """Every change a person made to its values since the run stored them, oldest first."""
    elsewhere: list[RecordRef] = Field(default_factory=list)
    """The same product in other runs, in the order they finished."""


class RestoreIn(BaseModel):
    attribute: str
    value: str | None
    """The value to put back (``null``: absent)."""


class Reason(BaseModel):
    reason: str = Field(default="", max_length=500)


class SubmitIn(BaseModel):
    values: dict[str, str | None] = Field(default_factory=dict)
    """Attribute → final value (``null``: absent from the text)."""
    all_absent: bool = False
    """Required to submit every reviewed attribute as absent (an empty answer is refused)."""


class ProvenanceOut(BaseModel):
    """Where a learning came from and where it was used."""

    cases: list[CaseView]
    uses: list[OutputUse]


class SubmitOut(BaseModel):
    result: SubmitResult
    output: OutputRefresh


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _deps(request: Request) -> WebDeps:
    found: WebDeps = request.app.state.deps
    return found


App = Annotated[WebDeps, Depends(_deps)]


def token(action: Action) -> Callable[[Request], User]:
    """A dependency: the token's user, allowed to do ``action`` (401 without, 403 if not)."""

    def dependency(request: Request) -> User:
        secret = _bearer(request)
        user = _deps(request).users.token_user(secret) if secret else None
        if user is None:
            raise HTTPException(
                status_code=401,
                detail="send a valid API token: Authorization: Bearer dss_... "
                "(create one with `dissensus tokens add`)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not allowed(user, action):
            raise HTTPException(
                status_code=403, detail=f"{user.name}'s token is {user.role}; it may not {action}"
            )
        return user

    return dependency


Reader = Annotated[User, Depends(token("read"))]
Reviewer = Annotated[User, Depends(token("review"))]
Enricher = Annotated[User, Depends(token("enrich"))]


def _status(exc: DissensusError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ReviewError | KnowledgeError | RunError):
        return 409
    if isinstance(exc, InputError):
        return 422
    return 400


def create_api(deps: WebDeps, pool: ModelPool) -> FastAPI:
    """The API app over the web app's dependencies and model pool."""
    api = FastAPI(
        title="dissensus API",
        version="1",
        description=__doc__,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    api.state.deps = deps
    background: set[asyncio.Task[Any]] = set()

    @api.exception_handler(DissensusError)
    async def library_error(_request: Request, exc: DissensusError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=_status(exc))

    # --- enrichment ----------------------------------------------------------------------

    def _prepare(body: EnrichRequest) -> RunRequest:
        return prepare_request(
            [p.model_dump() for p in body.products],
            body.catalog_schema,
            home=deps.settings.home,
            run_id=body.run_id,
        )

    def _runner() -> Runner:
        return Runner(deps.settings, db=deps.db, open_model=pool.get)

    @api.post("/enrich", response_model=EnrichResponse)
    async def enrich(body: EnrichRequest, user: Enricher) -> EnrichResponse:
        """Enrich up to 50 products now and answer with their records (a run like any other)."""
        if len(body.products) > MAX_SYNC_PRODUCTS:
            raise HTTPException(
                413, f"{len(body.products)} products: at most {MAX_SYNC_PRODUCTS} per /enrich; "
                "start a run with POST /runs for more",
            )  # fmt: skip
        result = await enrich_products(
            [p.model_dump() for p in body.products],
            body.catalog_schema,
            settings=deps.settings,
            db=deps.db,
            open_model=pool.get,
            run_id=body.run_id,
        )
        return EnrichResponse(run_id=result.run_id, summary=result.summary, records=result.records)

    @api.post("/runs", status_code=202, response_model=RunStarted)
    async def start_run(body: EnrichRequest, user: Enricher) -> RunStarted:
        """Start a run in the server and answer at once; poll ``GET /runs/{run_id}``."""
        if len(body.products) > MAX_RUN_PRODUCTS:
            raise HTTPException(413, f"at most {MAX_RUN_PRODUCTS} products per run")
        request = _prepare(body)
        task = asyncio.create_task(_runner().run(request))
        background.add(task)
        task.add_done_callback(background.discard)
        return RunStarted(run_id=request.run_id, href=f"{API_PREFIX}/runs/{request.run_id}")

    # --- runs and records ----------------------------------------------------------------

    @api.get("/runs", response_model=list[RunView])
    def runs(user: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[RunView]:
        """The newest runs, oldest first (the same read model as ``dissensus runs list``)."""
        return list_runs(deps.db, limit=limit)

    @api.get("/runs/{run_id}", response_model=RunView)
    def run(run_id: str, user: Reader) -> RunView:
        return get_run(deps.db, run_id)

    @api.get("/runs/{run_id}/records", response_model=list[StoredRecord])
    def records(
        run_id: str,
        user: Reader,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[StoredRecord]:
        """Stored records in input order (reviewed values included)."""
        get_run(deps.db, run_id)  # 404 for an unknown run
        out: list[StoredRecord] = []
        for seq, output in RunStore(deps.db, run_id).outputs(offset):
            if len(out) >= limit:
                break
            out.append(StoredRecord(seq=seq, record=EnrichedRecord.model_validate(output)))
        return out

    @api.get("/runs/{run_id}/records/{seq}", response_model=RecordDetail)
    def record(run_id: str, seq: int, user: Reader) -> RecordDetail:
        """One record with its provenance: the supervisor's answer and every model call."""
        store = RunStore(deps.db, run_id)
        stored = store.record(seq)
        if stored is None:
            raise HTTPException(404, f"run {run_id!r} has no record {seq}")
        output, supervisor = stored
        record = EnrichedRecord.model_validate(output)
        return RecordDetail(
            seq=seq,
            record=record,
            elsewhere=[RecordRef(run_id=r, seq=s) for r, s in store.elsewhere(record.id)],
            supervisor=SupervisorView.model_validate(supervisor) if supervisor else None,
            calls=CallLog(deps.db).calls(limit=None, run_id=run_id, seq=seq),
            history=value_history(deps.db, run_id, seq),
        )

    @api.post("/runs/{run_id}/records/{seq}/restore", response_model=StoredRecord)
    def restore_value(run_id: str, seq: int, body: RestoreIn, user: Reviewer) -> StoredRecord:
        """Put an earlier value back (status ``human``, recorded in the history)."""
        record = restore(deps.db, run_id, seq, body.attribute, body.value, actor=user.name)
        refresh_output(deps.db, run_id)
        return StoredRecord(seq=seq, record=record)

    # --- review queue --------------------------------------------------------------------

    @api.get("/review/items", response_model=list[ReviewItem])
    def review_items(
        user: Reader,
        state: ReviewState | None = "open",
        run_id: str | None = None,
        reason: ReviewReason | None = None,
        category: Annotated[str | None, Query(max_length=300)] = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[ReviewItem]:
        """Items in claim order (``state`` open, claimed or done; omit it for all), filtered
        as on the review desk: run, reason, category (and everything under it), text ``q``."""
        return deps.queue.list(
            state=state,
            run_id=run_id,
            reason=reason,
            category=category,
            query=q,
            limit=limit,
            offset=offset,
        )

    @api.get("/review/items/{item_id}", response_model=ReviewDetail)
    def review_item(item_id: int, user: Reader) -> ReviewDetail:
        return deps.queue.get(item_id)

    @api.post("/review/next", response_model=ReviewDetail | None)
    def review_next(user: Reviewer) -> ReviewDetail | None:
        """Claim the next item in priority order (``null`` when the queue is empty)."""
        return deps.queue.claim_next(reviewer=user.name)

    @api.post("/review/items/{item_id}/claim", response_model=ReviewDetail)
    def claim(item_id: int, user: Reviewer) -> ReviewDetail:
        return deps.queue.claim(item_id, reviewer=user.name)

    @api.post("/review/items/{item_id}/release", response_model=ReviewItem)
    def release(item_id: int, user: Reviewer) -> ReviewItem:
        return deps.queue.release(item_id, reviewer=user.name)

    @api.post("/review/items/{item_id}/submit", response_model=SubmitOut)
    async def submit(item_id: int, body: SubmitIn, user: Reviewer) -> SubmitOut:
        """Final values for a claimed item; the run's output file is brought up to date."""
        result = await deps.queue.submit(
            item_id, reviewer=user.name, values=body.values, all_absent=body.all_absent
        )
        return SubmitOut(result=result, output=refresh_output(deps.db, result.item.run_id))

    # --- knowledge governance ------------------------------------------------------------

    @api.get("/kb/learnings", response_model=list[Learning])
    def learnings(user: Reader, status: LearningStatus | None = None) -> list[Learning]:
        return deps.kb.list(status=status)

    @api.get("/kb/learnings/{learning_id}", response_model=Learning)
    def learning(learning_id: str, user: Reader) -> Learning:
        return deps.kb.get(learning_id)

    @api.get("/kb/learnings/{learning_id}/provenance", response_model=ProvenanceOut)
    def provenance(learning_id: str, user: Reader) -> ProvenanceOut:
        """The cases the learning cites and the newest outputs its prompts produced: the same
        read as the web app's learning page."""
        learning = deps.kb.get(learning_id)
        return ProvenanceOut(
            cases=cases_of(deps.db, learning), uses=outputs_using(deps.db, learning_id)
        )

    @api.get("/kb/version")
    def version(user: Reader) -> dict[str, int]:
        return {"version": deps.governance.version()}

    def _transition(name: Literal["approve", "reject", "deprecate", "reactivate"]) -> None:
        needed = Depends(token(name))

        # A plain default, not Annotated[...]: the handler is built here, and postponed
        # annotations cannot name a local alias.
        async def handler(learning_id: str, body: Reason, user: User = needed) -> Learning:
            act = getattr(deps.governance, name)
            changed: Learning = act(learning_id, actor=user.name, reason=body.reason)
            return changed

        handler.__doc__ = f"{name.capitalize()} a learning; recorded under the token's user."
        api.post(
            f"/kb/learnings/{{learning_id}}/{name}",
            response_model=Learning,
            name=name,
            summary=f"{name.capitalize()} a learning",
        )(handler)

    for transition in ("approve", "reject", "deprecate", "reactivate"):
        _transition(transition)  # type: ignore[arg-type]

    return api

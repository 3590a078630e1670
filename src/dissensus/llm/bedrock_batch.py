"""``bedrock-batch:``: a Bedrock model asked through batch inference jobs, not per request.

For runs where latency does not matter (a nightly backfill of a whole catalog), Bedrock's batch
inference costs about half of on-demand calls. Requests are collected instead of sent: when
``records`` of them wait, or the first has waited ``linger_seconds``, they are written as one
JSONL file to S3 (``{"recordId": ..., "modelInput": <InvokeModel body>}`` per line), a job is
created with ``CreateModelInvocationJob``, polled with ``GetModelInvocationJob`` until it ends,
and its output file (``<output prefix>/<job id>/<input file>.out``, one
``{"recordId", "modelInput", "modelOutput" | "error"}`` per line) answers every waiting call.

To the pipeline it is one more model: the call awaits its job like any slow request, so
consensus, the supervisor and the review queue work unchanged; with ``concurrency`` of a few
thousand, a job holds that many products. A line with an ``error`` (or a job that failed,
stopped or expired) makes the call fail, which the pipeline records as the worker abstaining.

Model families differ in their InvokeModel bodies; two are built in: Amazon Nova
(``schemaVersion: messages-v1``) and Anthropic Claude (``anthropic_version:
bedrock-2023-05-31``), chosen by the model id. Answers are asked for as JSON text matching the
output schema (given in the system prompt) and validated as any other model's.

The clients are passed in (``bedrock`` and ``s3`` boto3 clients), so nothing here talks to AWS
on import; :func:`open_bedrock_batch` makes them from the usual AWS settings.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryPromptPart,
    SystemPromptPart,
    TextPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.profiles import ModelProfile as PydanticAIProfile
from pydantic_ai.usage import RequestUsage

from dissensus.errors import ConfigError, ModelError
from dissensus.llm._pydantic_ai import PydanticAILLM
from dissensus.llm.base import ModelProfile

__all__ = [
    "BatchOptions",
    "BedrockBatchLLM",
    "BedrockBatchQueue",
    "Family",
    "family_of",
    "open_bedrock_batch",
]

Family = Literal["nova", "anthropic"]

_ENDED_OK = frozenset({"Completed", "PartiallyCompleted"})
_ENDED_BADLY = frozenset({"Failed", "Stopped", "Expired"})


class BedrockClient(Protocol):
    """The part of boto3's ``bedrock`` (control plane) client this module calls."""

    def create_model_invocation_job(self, **kwargs: Any) -> dict[str, Any]: ...
    def get_model_invocation_job(self, **kwargs: Any) -> dict[str, Any]: ...


class S3Client(Protocol):
    """The part of boto3's ``s3`` client this module calls."""

    def put_object(self, **kwargs: Any) -> dict[str, Any]: ...
    def get_object(self, **kwargs: Any) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """Where and how batch jobs run (``bedrock_batch:`` in the settings)."""

    s3_uri: str
    """``s3://bucket/prefix``: inputs go under ``prefix/input/``, outputs under
    ``prefix/output/``."""
    role_arn: str
    """The service role Bedrock assumes to read and write that bucket."""
    records: int = 1000
    """Requests per job (Bedrock sets a minimum per job and model; 100 for most)."""
    linger_seconds: float = 60.0
    """How long the first waiting request may wait for the job to fill."""
    poll_seconds: float = 30.0
    """Between two ``GetModelInvocationJob`` calls."""
    timeout_hours: int = 24
    """The job's own limit (``timeoutDurationInHours``)."""

    def __post_init__(self) -> None:
        if not self.s3_uri.startswith("s3://") or not self.s3_uri[5:].split("/", 1)[0]:
            raise ConfigError(
                f"bedrock_batch.s3_uri {self.s3_uri!r} must look like s3://bucket/prefix"
            )
        if not self.role_arn.startswith("arn:"):
            raise ConfigError(
                f"bedrock_batch.role_arn {self.role_arn!r} must be the ARN of Bedrock's service "
                "role for batch inference"
            )
        if self.records < 1:
            raise ConfigError(f"bedrock_batch.records must be at least 1, got {self.records}")

    @property
    def bucket(self) -> str:
        return self.s3_uri[5:].split("/", 1)[0]

    @property
    def prefix(self) -> str:
        rest = self.s3_uri[5:].split("/", 1)
        return rest[1].strip("/") if len(rest) > 1 else ""

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)


def family_of(model_id: str) -> Family:
    """The InvokeModel body family of a Bedrock model id (``us.amazon.nova-lite-v1:0``)."""
    if "anthropic." in model_id:
        return "anthropic"
    if "amazon.nova" in model_id:
        return "nova"
    raise ConfigError(
        f"bedrock-batch:{model_id}: batch bodies are built for Amazon Nova and Anthropic Claude "
        "models only"
    )


def model_input(family: Family, system: str, prompt: str, max_tokens: int) -> dict[str, Any]:
    """The InvokeModel request body of one call, as the model family documents it."""
    if family == "nova":
        return {
            "schemaVersion": "messages-v1",
            "system": [{"text": system}],
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
            "inferenceConfig": {"maxTokens": max_tokens, "temperature": 0.0},
        }
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "system": system,
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
    }


def read_output(family: Family, body: Mapping[str, Any]) -> tuple[str, int, int]:
    """Text, input tokens and output tokens of one InvokeModel response body.

    Raises:
        ModelError: the body is not the family's response shape.
    """
    try:
        if family == "nova":
            parts = body["output"]["message"]["content"]
            usage = body.get("usage", {})
            text = "".join(p.get("text", "") for p in parts)
            return text, int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0))
        parts = body["content"]
        usage = body.get("usage", {})
        text = "".join(p.get("text", "") for p in parts if p.get("type") == "text")
        return text, int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"batch output is not a {family} response body: {exc}") from exc


@dataclass
class _Waiting:
    record_id: str
    body: dict[str, Any]
    answer: asyncio.Future[dict[str, Any]]


@dataclass
class BedrockBatchQueue:
    """Collects requests for one model into jobs and hands each caller its line of the output.

    Jobs run one after another per queue would waste the wait; each flush starts its own job,
    and several jobs may run at once.
    """

    model_id: str
    options: BatchOptions
    bedrock: BedrockClient
    s3: S3Client
    _waiting: list[_Waiting] = field(default_factory=list)
    _timer: asyncio.TimerHandle | None = None
    _jobs: set[asyncio.Task[None]] = field(default_factory=set)
    jobs_started: int = 0

    async def ask(self, body: dict[str, Any]) -> dict[str, Any]:
        """Queue one InvokeModel body; return its ``modelOutput`` once its job has ended.

        Raises:
            ModelError: the line has an ``error``, or the job failed, stopped or expired.
        """
        loop = asyncio.get_running_loop()
        waiting = _Waiting(f"r{secrets.token_hex(6)}", body, loop.create_future())
        self._waiting.append(waiting)
        if len(self._waiting) >= self.options.records:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.options.linger_seconds, self._flush)
        return await waiting.answer

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._waiting = self._waiting, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._job(batch))
            self._jobs.add(task)
            task.add_done_callback(self._jobs.discard)

    async def _job(self, batch: list[_Waiting]) -> None:
        try:
            outputs = await asyncio.to_thread(self._run_job, batch)
        except Exception as exc:
            for waiting in batch:
                if not waiting.answer.done():
                    waiting.answer.set_exception(
                        exc if isinstance(exc, ModelError) else ModelError(str(exc))
                    )
            return
        for waiting in batch:
            if waiting.answer.done():
                continue
            line = outputs.get(waiting.record_id)
            if line is None:
                waiting.answer.set_exception(
                    ModelError(f"batch job output has no line for {waiting.record_id}")
                )
            elif "modelOutput" in line:
                waiting.answer.set_result(line["modelOutput"])
            else:
                error = line.get("error", {})
                waiting.answer.set_exception(
                    ModelError(
                        f"batch record failed: {error.get('errorCode', '?')} "
                        f"{error.get('errorMessage', 'no message')}"
                    )
                )

    def _run_job(self, batch: list[_Waiting]) -> dict[str, dict[str, Any]]:
        """Write the input, create the job, wait for it, read its output (blocking)."""
        name = f"dissensus-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        input_name = f"{name}.jsonl"
        lines = "".join(
            json.dumps({"recordId": w.record_id, "modelInput": w.body}, ensure_ascii=False) + "\n"
            for w in batch
        )
        o = self.options
        self.s3.put_object(
            Bucket=o.bucket, Key=o.key("input", input_name), Body=lines.encode("utf-8")
        )
        created = self.bedrock.create_model_invocation_job(
            jobName=name,
            roleArn=o.role_arn,
            modelId=self.model_id,
            clientRequestToken=name,
            inputDataConfig={
                "s3InputDataConfig": {
                    "s3Uri": f"s3://{o.bucket}/{o.key('input', input_name)}",
                    "s3InputFormat": "JSONL",
                }
            },
            outputDataConfig={
                "s3OutputDataConfig": {"s3Uri": f"s3://{o.bucket}/{o.key('output')}/"}
            },
            timeoutDurationInHours=o.timeout_hours,
        )
        self.jobs_started += 1
        arn = created["jobArn"]
        while True:
            job = self.bedrock.get_model_invocation_job(jobIdentifier=arn)
            status = job.get("status", "")
            if status in _ENDED_OK:
                break
            if status in _ENDED_BADLY:
                raise ModelError(
                    f"batch job {arn} ended {status}: {job.get('message') or 'no message'}"
                )
            time.sleep(o.poll_seconds)
        job_id = arn.rsplit("/", 1)[-1]
        body = self.s3.get_object(
            Bucket=o.bucket, Key=o.key("output", job_id, f"{input_name}.out")
        )["Body"].read()
        outputs: dict[str, dict[str, Any]] = {}
        for raw in body.decode("utf-8").splitlines():
            if raw.strip():
                line = json.loads(raw)
                outputs[str(line.get("recordId"))] = line
        return outputs


class BedrockBatchLLM(PydanticAILLM):
    """A Bedrock model whose calls wait in a :class:`BedrockBatchQueue` for a batch job."""

    def __init__(self, name: str, queue: BedrockBatchQueue, profile: ModelProfile) -> None:
        self.queue = queue
        self.family = family_of(queue.model_id)
        model = FunctionModel(
            self._respond,
            model_name=name,
            profile=PydanticAIProfile(supports_json_schema_output=True),
        )
        super().__init__(name, model, profile, output_mode="native")

    async def _respond(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        system, prompt = _texts(messages, info)
        max_tokens = int((info.model_settings or {}).get("max_tokens", 1024))
        body = model_input(self.family, system, prompt, max_tokens)
        output = await self.queue.ask(body)
        text, tokens_in, tokens_out = read_output(self.family, output)
        return ModelResponse(
            parts=[TextPart(text)],
            usage=RequestUsage(input_tokens=tokens_in, output_tokens=tokens_out),
            model_name=self.name,
        )


def _texts(messages: list[ModelMessage], info: AgentInfo) -> tuple[str, str]:
    """The system text (instructions, then the output schema) and the user text of a call;
    a repair attempt's feedback joins the user text, as a chat API would see it."""
    system: list[str] = []
    user: list[str] = []
    for message in messages:
        if isinstance(message, ModelRequest):
            if message.instructions:
                system.append(message.instructions)
            for part in message.parts:
                if isinstance(part, SystemPromptPart):
                    system.append(part.content)
                elif isinstance(part, UserPromptPart) and isinstance(part.content, str):
                    user.append(part.content)
                elif isinstance(part, RetryPromptPart):
                    user.append(part.model_response())
        elif isinstance(message, ModelResponse):
            user.append(
                "Your previous answer: "
                + "".join(p.content for p in message.parts if isinstance(p, TextPart))
            )
    wanted = info.model_request_parameters.output_object
    schema = wanted.json_schema if wanted is not None else None
    if schema is not None:
        system.append(
            "Answer with one JSON object only, no prose, matching this JSON schema:\n"
            + json.dumps(schema, ensure_ascii=False)
        )
    return "\n\n".join(system), "\n\n".join(user)


def open_bedrock_batch(
    spec: str,
    model_id: str,
    profile: ModelProfile,
    options: BatchOptions | Mapping[str, Any] | None,
    *,
    bedrock_client: Any = None,
    s3_client: Any = None,
    region: str | None = None,
) -> BedrockBatchLLM:
    """A ``bedrock-batch:`` model (boto3 clients from the AWS settings unless given).

    Raises:
        ConfigError: no ``bedrock_batch`` settings (bucket and role), or an unknown family.
    """
    if isinstance(options, Mapping):
        options = BatchOptions(**options)
    if options is None:
        raise ConfigError(
            f"{spec}: batch inference needs a bucket and a role; set bedrock_batch: {{s3_uri: "
            "s3://bucket/prefix, role_arn: arn:aws:iam::...}} in the settings"
        )
    family_of(model_id)
    if bedrock_client is None or s3_client is None:
        import boto3

        bedrock_client = bedrock_client or boto3.client("bedrock", region_name=region)
        s3_client = s3_client or boto3.client("s3", region_name=region)
    queue = BedrockBatchQueue(model_id, options, bedrock_client, s3_client)
    return BedrockBatchLLM(spec, queue, profile)

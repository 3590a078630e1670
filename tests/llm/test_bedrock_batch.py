"""``bedrock-batch:`` models: requests collected into batch inference jobs.

S3 is moto's server on loopback (real HTTP, real boto3). moto has no Bedrock batch inference
(``CreateModelInvocationJob`` is not implemented in moto 5.2), so the control plane is a fake
written from the AWS documentation's shapes: the request fields of CreateModelInvocationJob,
the statuses of GetModelInvocationJob, the job ARN's id, and the output layout
``<output s3Uri><job id>/<input file name>.out`` with one ``{"recordId", "modelInput",
"modelOutput" | "error"}`` line per record. It reads the job's input from moto's S3 and writes
its output there, as Bedrock would.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from dissensus.errors import ConfigError
from dissensus.llm import open_model
from dissensus.llm.bedrock_batch import BatchOptions, BedrockBatchLLM

boto3 = pytest.importorskip("boto3")

pytestmark = pytest.mark.anyio

NOVA = "us.amazon.nova-lite-v1:0"
CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
ROLE = "arn:aws:iam::123456789012:role/bedrock-batch"


class Brand(BaseModel):
    brand: str


@pytest.fixture
def s3(moto_endpoint: str, aws_credentials: None) -> Any:
    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")


def bucket(s3: Any) -> str:
    name = f"batch-{secrets.token_hex(4)}"
    s3.create_bucket(Bucket=name)
    return name


def nova_answer(body: dict[str, Any]) -> dict[str, Any]:
    """A Nova InvokeModel response body: the first word of the user text as the brand."""
    prompt = body["messages"][0]["content"][0]["text"]
    text = json.dumps({"brand": prompt.split()[0]})
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 11, "outputTokens": 5, "totalTokens": 16},
    }


def claude_answer(body: dict[str, Any]) -> dict[str, Any]:
    prompt = body["messages"][0]["content"][0]["text"]
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": json.dumps({"brand": prompt.split()[-1]})}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 20, "output_tokens": 7},
    }


class FakeBedrock:
    """Bedrock's batch control plane, from the documented request and response shapes."""

    def __init__(
        self,
        s3: Any,
        answer: Callable[[dict[str, Any]], dict[str, Any] | None],
        *,
        status: str = "Completed",
    ) -> None:
        self.s3 = s3
        self.answer = answer
        self.final = status
        self.jobs: dict[str, dict[str, Any]] = {}
        self.polls = 0

    def create_model_invocation_job(self, **kwargs: Any) -> dict[str, Any]:
        for required in ("jobName", "roleArn", "modelId", "inputDataConfig", "outputDataConfig"):
            assert required in kwargs, required
        assert kwargs["inputDataConfig"]["s3InputDataConfig"]["s3InputFormat"] == "JSONL"
        assert kwargs["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"].startswith("s3://")
        job_id = secrets.token_hex(6)  # the documented pattern: 12 of [a-z0-9]
        arn = f"arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/{job_id}"
        self.jobs[arn] = {**kwargs, "statuses": ["Submitted", "InProgress", self.final]}
        return {"jobArn": arn}

    def get_model_invocation_job(self, *, jobIdentifier: str) -> dict[str, Any]:
        self.polls += 1
        job = self.jobs[jobIdentifier]
        status = job["statuses"].pop(0) if len(job["statuses"]) > 1 else job["statuses"][0]
        if status in ("Completed", "PartiallyCompleted") and "done" not in job:
            self._run(jobIdentifier, job)
        reply = {"jobArn": jobIdentifier, "modelId": job["modelId"], "status": status}
        if status == "Failed":
            reply["message"] = "the role cannot read the input bucket"
        return reply

    def _run(self, arn: str, job: dict[str, Any]) -> None:
        uri = job["inputDataConfig"]["s3InputDataConfig"]["s3Uri"][5:]
        in_bucket, key = uri.split("/", 1)
        lines = self.s3.get_object(Bucket=in_bucket, Key=key)["Body"].read().decode().splitlines()
        out = []
        for raw in lines:
            record = json.loads(raw)
            body = self.answer(record["modelInput"])
            line = {"recordId": record["recordId"], "modelInput": record["modelInput"]}
            if body is None:
                line["error"] = {"errorCode": 400, "errorMessage": "Malformed input request"}
            else:
                line["modelOutput"] = body
            out.append(json.dumps(line))
        target = job["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"][5:]
        out_bucket, prefix = target.split("/", 1)
        job_id = arn.rsplit("/", 1)[1]
        name = key.rsplit("/", 1)[1]
        self.s3.put_object(
            Bucket=out_bucket, Key=f"{prefix}{job_id}/{name}.out", Body="\n".join(out).encode()
        )
        job["done"] = True


def model(
    s3: Any, fake: FakeBedrock, name: str, *, model_id: str = NOVA, **options: Any
) -> BedrockBatchLLM:
    batch = {"s3_uri": f"s3://{name}/jobs", "role_arn": ROLE, "poll_seconds": 0.01, **options}
    llm = open_model(f"bedrock-batch:{model_id}", batch=batch, bedrock_client=fake, s3_client=s3)
    assert isinstance(llm, BedrockBatchLLM)
    return llm


async def test_calls_wait_for_one_job_and_each_gets_its_own_line(s3: Any) -> None:
    name = bucket(s3)
    fake = FakeBedrock(s3, nova_answer)
    llm = model(s3, fake, name, records=3)
    answers = await asyncio.gather(
        *(llm.structured(Brand, system="Extract the brand.", prompt=f"{b} Chef Knife")
          for b in ("Kaito", "Alpen", "Ridge"))
    )  # fmt: skip
    assert [a.output.brand for a in answers if a.output] == ["Kaito", "Alpen", "Ridge"]
    assert llm.queue.jobs_started == 1
    assert {(a.usage.input_tokens, a.usage.output_tokens) for a in answers} == {(11, 5)}
    # The job's input: one Nova InvokeModel body per line, the schema in the system text.
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]]
    [input_key] = [k for k in keys if k.startswith("jobs/input/")]
    lines = [
        json.loads(x) for x in s3.get_object(Bucket=name, Key=input_key)["Body"].read().splitlines()
    ]
    assert len(lines) == 3 and len({line["recordId"] for line in lines}) == 3
    body = lines[0]["modelInput"]
    assert body["schemaVersion"] == "messages-v1"
    assert body["inferenceConfig"]["temperature"] == 0.0
    assert '"brand"' in body["system"][0]["text"]


async def test_a_lone_call_waits_no_longer_than_the_linger_time(s3: Any) -> None:
    name = bucket(s3)
    fake = FakeBedrock(s3, nova_answer)
    llm = model(s3, fake, name, records=1000, linger_seconds=0.05)
    answer = await asyncio.wait_for(
        llm.structured(Brand, system="Extract the brand.", prompt="Vesta Pan"), timeout=10
    )
    assert answer.output == Brand(brand="Vesta")
    assert fake.polls >= 3  # Submitted, InProgress, Completed


async def test_an_error_line_abstains_that_call_only(s3: Any) -> None:
    name = bucket(s3)
    fake = FakeBedrock(s3, lambda body: None if "Bad" in json.dumps(body) else nova_answer(body))
    llm = model(s3, fake, name, records=2)
    good, bad = await asyncio.gather(
        llm.structured(Brand, system="s", prompt="Kaito Knife"),
        llm.structured(Brand, system="s", prompt="Bad Knife"),
    )
    assert good.output == Brand(brand="Kaito")
    assert bad.output is None and bad.error is not None
    assert "400 Malformed input request" in bad.error


async def test_a_failed_job_abstains_every_call_with_its_message(s3: Any) -> None:
    name = bucket(s3)
    fake = FakeBedrock(s3, nova_answer, status="Failed")
    llm = model(s3, fake, name, records=2)
    answers = await asyncio.gather(
        *(llm.structured(Brand, system="s", prompt=p) for p in ("A b", "C d"))
    )
    assert all(a.output is None for a in answers)
    assert all(
        "ended Failed: the role cannot read the input bucket" in (a.error or "") for a in answers
    )


async def test_claude_models_get_anthropic_bodies(s3: Any) -> None:
    name = bucket(s3)
    seen: list[dict[str, Any]] = []

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        seen.append(body)
        return claude_answer(body)

    llm = model(s3, FakeBedrock(s3, answer), name, model_id=CLAUDE, records=1)
    result = await llm.structured(Brand, system="Extract.", prompt="Knife by Kaito")
    assert result.output == Brand(brand="Kaito")
    assert (result.usage.input_tokens, result.usage.output_tokens) == (20, 7)
    assert seen[0]["anthropic_version"] == "bedrock-2023-05-31"
    assert seen[0]["temperature"] == 0.0
    # Batch prices are half the on-demand ones; a batch answers once, so no tool loop.
    on_demand = open_model(f"bedrock:{CLAUDE}", region="us-east-1").profile
    assert llm.profile.input_price_per_mtok == on_demand.input_price_per_mtok / 2
    assert llm.profile.supports_tools is False


def test_missing_or_wrong_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="needs a bucket and a role"):
        open_model(f"bedrock-batch:{NOVA}", bedrock_client=object(), s3_client=object())
    with pytest.raises(ConfigError, match="must look like s3://bucket/prefix"):
        BatchOptions(s3_uri="bucket/prefix", role_arn=ROLE)
    with pytest.raises(ConfigError, match="Amazon Nova and Anthropic Claude"):
        open_model(
            "bedrock-batch:meta.llama3-70b-instruct-v1:0",
            batch={"s3_uri": "s3://b/p", "role_arn": ROLE},
            bedrock_client=object(),
            s3_client=object(),
        )


async def test_a_run_whose_generator_is_a_batch_model(s3: Any, tmp_path: Any) -> None:
    # The generator's calls of a batch of products wait for one job; consensus, the supervisor
    # and the output file work as with any model.
    from dissensus.config import GeneratorConfig, Settings
    from dissensus.llm import ModelPool
    from dissensus.pipeline import Runner, RunRequest
    from dissensus.storage import Database

    name = bucket(s3)

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        title = body["messages"][0]["content"][0]["text"]
        brand = "Kaito" if "Kaito" in title else "Alpen"
        text = json.dumps({"Brand": brand})
        return {"output": {"message": {"content": [{"text": text}]}},
                "usage": {"inputTokens": 50, "outputTokens": 6}}  # fmt: skip

    fake = FakeBedrock(s3, answer)
    llm = model(s3, fake, name, records=4)
    schema = tmp_path / "schema.yaml"
    schema.write_text(
        "categories:\n  - path: Home > Knives\n    attributes:\n      - {name: Brand}\n",
        encoding="utf-8",
    )
    catalog = tmp_path / "catalog.jsonl"
    rows = [{"id": f"p{i}", "title": f"{'Kaito' if i % 2 else 'Alpen'} Knife {i}",
             "category": "Home > Knives"} for i in range(8)]  # fmt: skip
    catalog.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    settings = Settings(
        home=tmp_path / "home",
        generators=[GeneratorConfig(model=llm.name)],
        evaluator=None,
        supervisor="scripted:echo",
        lexicon_worker=False,
        consensus={"min_voters": 1},
        batch_size=4,
        concurrency=4,
        learning=False,
    )
    db = Database.open(None, home=tmp_path / "home")
    out = tmp_path / "out.jsonl"
    async with ModelPool() as pool:
        pool.add(llm)
        summary = await Runner(settings, db=db, open_model=pool.get).run(
            RunRequest(catalog, schema, out)
        )
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["attributes"]["Brand"]["value"] for r in records] == [
        "Kaito" if i % 2 else "Alpen" for i in range(8)
    ]
    assert summary.supervisor_calls == 0
    assert llm.queue.jobs_started == 2  # two batches of four products, one job each

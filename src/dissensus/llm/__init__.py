"""Models: the only room that imports model SDKs or the local engine.

Owns the model registry (model strings such as ``local:gemma3-270m``), capability profiles,
pricing, the embedded xllamacpp engine and scripted test models. Must not know about catalogs,
knowledge or pipelines: it turns prompts into typed answers, and says what each call was
(``calls``: prompt, answer, latency, tokens, for the call log, metrics and traces). It imports
only ``domain`` and ``errors`` from dissensus; scripted models live in the
``dissensus.llm.testing`` submodule.
"""

from dissensus.llm.base import LLM, Answer, ModelProfile
from dissensus.llm.calls import CallRecord, calling_as, for_purpose, record_call, recording
from dissensus.llm.local import EngineOptions
from dissensus.llm.registry import (
    PROVIDERS,
    ModelInfo,
    ModelPool,
    Provider,
    list_models,
    open_model,
    parse_model_string,
)

__all__ = [
    "LLM",
    "PROVIDERS",
    "Answer",
    "CallRecord",
    "EngineOptions",
    "ModelInfo",
    "ModelPool",
    "ModelProfile",
    "Provider",
    "calling_as",
    "for_purpose",
    "list_models",
    "open_model",
    "parse_model_string",
    "record_call",
    "recording",
]

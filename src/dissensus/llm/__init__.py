"""Models: the only room that imports model SDKs or the local engine.

Owns the model registry (model strings such as ``local:gemma3-270m``), capability profiles,
pricing, the embedded xllamacpp engine and scripted test models. Must not know about catalogs,
knowledge or pipelines: it turns prompts into typed answers. It imports only ``domain`` and
``errors`` from dissensus; scripted models live in the ``dissensus.llm.testing`` submodule.
"""

from dissensus.llm.base import LLM, Answer, ModelProfile
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
    "EngineOptions",
    "ModelInfo",
    "ModelPool",
    "ModelProfile",
    "Provider",
    "list_models",
    "open_model",
    "parse_model_string",
]

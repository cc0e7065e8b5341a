"""Instruction data cleaning: readers, rules, dedup, an LLM judge, and the SFT / KTO tables training reads.

``run_instruct(cfg)`` (``dataflow instruct run``) reads Alpaca, ShareGPT, OpenAI-messages and
prompt/response files, drops what the rules and the project's dedup catch, asks a judge (any
OpenAI-compatible endpoint, or a local transformers model) for a strict verdict per example
through a verdict cache, and commits ``instruct.examples``, ``verdicts``, ``kto`` and ``sft``
(schemas/instruct.py) to the project's Iceberg catalog. docs/instruct.md is the guide.
"""

from __future__ import annotations

from dataflow.instruct.config import InstructConfig, load_instruct_config
from dataflow.instruct.run import InstructResult, run_instruct

__all__ = ["InstructConfig", "InstructResult", "load_instruct_config", "run_instruct"]

"""The judge's structured verdict, parsed strictly: anything else is unparseable, never guessed.

Accepted: exactly one JSON object (optionally inside one ```json fence, which chat models add)
with integer scores 1-5 for every rubric criterion and nothing else, an overall score 1-5
(fractions allowed), and a non-empty rationale of at most ``MAX_RATIONALE`` characters. No
key may be missing or extra; no number may be a string or a bool. pydantic validates it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dataflow.instruct.rubric import CRITERIA

MAX_RATIONALE = 1000  # characters: "a short rationale"; longer means the model ignored the format
_FENCE = re.compile(r"^```(?:json)?\s*\n?(.*?)\n?```$", re.DOTALL)


class _Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    scores: dict[str, int]
    overall: float = Field(ge=1, le=5)
    rationale: str = Field(min_length=1, max_length=MAX_RATIONALE)

    @field_validator("scores")
    @classmethod
    def _criteria(cls, v: dict[str, int]) -> dict[str, int]:
        if set(v) != set(CRITERIA):
            raise ValueError(f"scores must name exactly {', '.join(CRITERIA)}")
        if any(not 1 <= s <= 5 for s in v.values()):
            raise ValueError("scores must lie in 1..5")
        return v


@dataclass(frozen=True)
class Verdict:
    scores: dict[str, int]
    overall: float
    rationale: str

    def to_json(self) -> str:
        return json.dumps(
            {"scores": self.scores, "overall": self.overall, "rationale": self.rationale}, ensure_ascii=False
        )


class UnparseableVerdict(ValueError):
    """The judge's reply is not a verdict of the schema."""


def parse_verdict(text: str | None) -> Verdict:
    if text is None:
        raise UnparseableVerdict("empty reply")
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        data = json.loads(body)
    except ValueError as err:
        raise UnparseableVerdict(f"not JSON: {err}") from None
    if isinstance(data, dict) and isinstance(data.get("overall"), int) and not isinstance(data["overall"], bool):
        data["overall"] = float(data["overall"])  # strict float refuses ints; 4 is a fine overall score
    try:
        v = _Verdict.model_validate(data)
    except ValidationError as err:
        raise UnparseableVerdict(f"not a verdict: {err.errors()[0]['msg']}") from None
    return Verdict(dict(v.scores), float(v.overall), v.rationale)

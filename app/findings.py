"""Findings answered as data rather than raised: the studio's problems and warnings (Validate,
a deploy's warnings), the saved scenarios re-run, a dry run's problems. The domain writes their
``message`` as a ``Message`` (processes.errors.msg); here it is put in the caller's language,
by app/errors.py ``translated``, as a refusal's problems are, every other key unchanged."""

from __future__ import annotations

from app.errors import translated


def scenarios(rerun: list[dict]) -> list[dict]:
    """The scenarios re-run (processes/requests/scenarios.py ``rerun``), their problems
    translated."""
    return [{**s, "problems": translated(s.get("problems") or [])} for s in rerun]


def validation(result: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Validate's ``{problems, warnings, scenarios}`` (processes/design/deploy.py
    ``validate``) in the caller's language."""
    return {**result, "problems": translated(result["problems"]),
            "warnings": translated(result["warnings"]),
            "scenarios": scenarios(result.get("scenarios") or [])}

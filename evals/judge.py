"""Optional LLM-judged faithfulness, used only when an `openai` answerer is configured.

The judge asks the same OpenAI-compatible server, per answer sentence, whether the passages the
sentence cites support it (yes/no). Faithfulness = share of sentences judged supported. It is a
second opinion beside the judge-free ALCE scores, never a replacement for them.
"""

from __future__ import annotations

from collections.abc import Callable

from rag.settings import Settings

PROMPT = (
    "Passage:\n{passage}\n\nClaim: {claim}\n\n"
    "Is the claim fully supported by the passage? Answer with one word: yes or no."
)

Judge = Callable[[str, str], bool]


def make_judge(settings: Settings) -> Judge:
    """A yes/no support judge backed by the configured OpenAI-compatible server."""
    from openai import OpenAI

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "none"
    client = OpenAI(base_url=settings.openai_base_url, api_key=key, timeout=settings.llm_timeout)

    def judge(claim: str, passage: str) -> bool:
        reply = client.chat.completions.create(
            model=settings.openai_model, temperature=0, max_tokens=3,
            messages=[{"role": "user", "content": PROMPT.format(passage=passage, claim=claim)}],
        )
        text = (reply.choices[0].message.content or "").strip().lower()
        return text.startswith("yes")

    return judge


def faithfulness(claims: list[tuple[str, str]], judge: Judge) -> float | None:
    """Share of (claim, cited passages) pairs the judge calls supported (None when empty)."""
    if not claims:
        return None
    return sum(judge(claim, passage) for claim, passage in claims) / len(claims)

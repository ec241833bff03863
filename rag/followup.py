"""Follow-up questions become standalone queries before retrieval.

"and if they still don't open up?" means nothing to a retriever; after "How do I approach a tribal
team?" it should search for both. With an LLM configured, the model rewrites the follow-up and
its rewrite is kept only if it still carries the follow-up's own words and the conversation's
topic; otherwise (and with the extractive answerer) a rule joins the follow-up to the previous
standalone query. The searched query is returned to users as `Answer.query`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer import Turn
from rag.settings import Settings
from rag.text import content_terms

_CONTINUES = re.compile(
    r"^\s*(and|but|or|so|also|then|what about|how about|what if|if|else|otherwise|"
    r"any other|anything else|what else|same)\b",
    re.I,
)
_REFERS = re.compile(
    r"\b(they|them|their|theirs|it|its|this|that|these|those|he|she|him|her|there|such|"
    r"one|ones|the same|above|previous|earlier|else)\b",
    re.I,
)
STANDALONE_TERMS = 4  # a question with this many content words of its own stands alone
MAX_QUERY_CHARS = 400


def is_followup(question: str) -> bool:
    """True when the question leans on the conversation (starts with 'and', 'what about',
    refers back with 'they'/'it'/'that' and has few words of its own)."""
    terms = content_terms(question)
    if not terms or _CONTINUES.search(question):  # "why?", "and then?"
        return True
    return bool(_REFERS.search(question)) and len(terms) < STANDALONE_TERMS


def rule_rewrite(question: str, previous_query: str) -> str:
    """The previous standalone query followed by the follow-up."""
    return f"{previous_query.rstrip()} {question.strip()}"[-MAX_QUERY_CHARS:].strip()


def standalone_queries(history: Sequence[Turn]) -> list[str]:
    """The standalone query of every earlier turn, by the rule (no model calls)."""
    queries: list[str] = []
    for user, _ in history:
        text = " ".join(str(user).split())
        if queries and is_followup(text):
            text = rule_rewrite(text, queries[-1])
        queries.append(text)
    return queries


def standalone_query(question: str, history: Sequence[Turn], settings: Settings) -> str:
    """The query to search for `question` asked after `history`."""
    previous = standalone_queries(history)
    if not previous or not is_followup(question):
        return question
    fallback = rule_rewrite(question, previous[-1])
    if settings.llm == "extractive":
        return fallback
    rewritten = llm_rewrite(question, previous[-1], settings)
    return rewritten if rewritten and acceptable(rewritten, question, previous[-1]) else fallback


def acceptable(rewritten: str, question: str, previous: str) -> bool:
    """A model's rewrite is used only if it keeps the follow-up's words and the topic."""
    own, topic, new = content_terms(question), content_terms(previous), content_terms(rewritten)
    if not new or len(rewritten) > MAX_QUERY_CHARS or "\n" in rewritten.strip():
        return False
    keeps_own = len(own & new) >= max(1, len(own) // 2) if own else True
    return keeps_own and bool(topic & new)


def llm_rewrite(question: str, previous: str, settings: Settings) -> str:
    """The model's standalone rewrite ('' when the model fails)."""
    from rag.answerers.generative import prompt
    from rag.errors import LLMError
    from rag.llm import complete, make_llm

    message = prompt("rewrite").format(previous=previous, question=question)
    try:
        text = complete(make_llm(settings), [{"role": "user", "content": message}], 48)
    except LLMError:
        return ""
    text = text.strip().strip('"').splitlines()[0].strip() if text.strip() else ""
    return re.sub(r"^(rewritten question|question)\s*:\s*", "", text, flags=re.I)

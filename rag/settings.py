"""One typed Settings object, read from PLAYBOOK_* environment variables.

Entry points (CLI, UI, evals) build it and pass it down; nothing creates it at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

AnswererName = Literal["extractive", "local", "openai"]


class Settings(BaseSettings):
    """Every knob of Playbook Q&A. Environment variables use the prefix PLAYBOOK_."""

    model_config = SettingsConfigDict(env_prefix="PLAYBOOK_", extra="ignore")

    # Where things live
    content_dir: Path = Field(Path("content"), description="Folder of Markdown articles.")
    index_dir: Path = Field(Path(".playbook"), description="Folder holding the index.")

    # What ingest reads
    max_article_bytes: int = Field(
        5_000_000, ge=1_000,
        description="Skip (with a reason) Markdown files larger than this many bytes. 5 MB is "
        "~300x the largest article of the bundled dev corpora and ingests in well under a "
        "minute; it stops a stray export or log named .md from filling the index.",
    )
    follow_external_symlinks: bool = Field(
        False, description="Read symlinked files and folders that resolve outside the content "
        "folder (default: skip them with a reason, so a link cannot leak e.g. /etc/passwd).",
    )

    # Embedding and chunking
    embed_model: str = Field(
        "all-MiniLM-L6-v2",
        description="Embedding model: 'all-MiniLM-L6-v2' (bundled, offline) or a local model path.",
    )
    embed_runtime: Literal["torch", "onnx"] = Field(
        "onnx",
        description="Runtime for the embedding model: 'onnx' (ONNX Runtime on a graph exported "
        "once from the local weights; same vectors, fast start) or 'torch' "
        "(sentence-transformers).",
    )
    embed_int8: bool = Field(
        False, description="With the onnx runtime, use the partly int8-quantised graph "
        "(~1.3x the fp32 graph's ingest speed on AVX2, cwe dev nDCG@10 within 0.3 point; "
        "slightly different vectors: changing it re-embeds everything on the next ingest).",
    )
    model_cache_dir: Path = Field(
        Path("~/.cache/playbook-qa"),
        description="Folder for derived model files (the ONNX export of the embedding model).",
    )
    embed_batch_size: int = Field(64, ge=1, description="Texts per embedding batch.")
    chunk_tokens: int = Field(
        256, ge=32, description="Token budget per chunk (embedding model's tokenizer)."
    )
    chunk_overlap: int = Field(
        32, ge=0, description="Tokens of the previous chunk prepended as context when splitting."
    )

    # Retrieval
    top_k: int = Field(5, ge=1, le=50, description="Passages retrieved per question.")
    max_per_article: int = Field(
        3, ge=1, description="At most this many passages from one article."
    )
    retrieval: Literal["hybrid", "dense", "bm25"] = Field(
        "hybrid", description="Retriever: hybrid (dense + BM25 fused), dense or bm25."
    )
    dense_search: Literal["exact", "chroma"] = Field(
        "exact", description="Dense search on the embedded store: 'exact' (the generation's "
        "vector matrix, no chromadb import) or 'chroma' (Chroma's HNSW index). A Chroma server "
        "is always queried through Chroma.",
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    bm25_weight: float = Field(
        1.0, ge=0.0, description="Weight of the BM25 ranking in the fusion (dense ranking = 1)."
    )
    heading_weight: float = Field(
        0.0, ge=0.0, description="Weight of a BM25 ranking over chunk titles and heading paths "
        "in the fusion (0 = off; see evals/results/report.md, retrieval variants).",
    )
    article_weight: float = Field(
        0.0, ge=0.0, description="Share of its article's fused score added to each chunk's "
        "(0 = rank chunks alone; see evals/results/report.md, retrieval variants).",
    )
    candidates: int = Field(
        30, ge=1, le=1000, description="Chunks each retriever proposes before fusion."
    )
    max_question_chars: int = Field(
        2000, ge=10, description="Longer questions are truncated to this many characters."
    )

    # Answering
    llm: AnswererName = Field("extractive", description="Answerer: extractive, local or openai.")
    llm_model_path: Path | None = Field(
        None, description="GGUF file for the local answerer (default: bundled SmolLM2-135M)."
    )
    llm_threads: int = Field(2, ge=1, description="CPU threads for the local model.")
    llm_max_tokens: int = Field(256, ge=16, description="Most tokens an answer may generate.")
    openai_base_url: str = Field(
        "http://127.0.0.1:11434/v1", description="OpenAI-compatible server base URL."
    )
    openai_model: str = Field("llama3.2", description="Model name on the OpenAI-compatible server.")
    openai_api_key: SecretStr | None = Field(None, description="API key, if the server needs one.")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds before an LLM call is abandoned.")
    llm_connect_timeout: float = Field(
        5.0, gt=0, description="Seconds to wait for the OpenAI-compatible server to accept."
    )
    llm_context_chars: int = Field(
        1000, ge=200,
        description="Characters of passage text put in the LLM prompt (most relevant sentences "
        "first; small keeps time to first token low).",
    )
    llm_passages: int = Field(3, ge=1, description="Passages shown to the LLM (the top ones).")
    extractive_units: int = Field(
        4, ge=1, le=10, description="Most sentences / list items in an extractive answer."
    )
    refusal_threshold: float | None = Field(
        None, description="Refuse when the best passage's relevance is below this "
        "(default: the value chosen on dev data, see rag/refusal.py).",
    )
    support_threshold: float | None = Field(
        None, description="Support score a cited sentence needs to be verified "
        "(default: the value chosen on dev data, see rag/citations.py).",
    )
    min_verified: float = Field(
        0.5, ge=0, le=1, description="Fall back to the extractive answer when fewer than this "
        "fraction of a generated answer's sentences are verified.",
    )

    # Scale-out
    chroma_url: str | None = Field(
        None, description="Chroma server URL (http://host:port); unset = embedded store."
    )
    chroma_token: SecretStr | None = Field(None, description="Auth token for the Chroma server.")
    chroma_prefix: str = Field(
        "playbook", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,40}$",
        description="Name prefix of this playbook's collections on the Chroma server.",
    )

    # Serving
    auth: SecretStr | None = Field(
        None, description="user:password required when serving on a non-loopback host."
    )

    @property
    def content_path(self) -> Path:
        """The content dir, resolved."""
        return self.content_dir.expanduser().resolve()

    @property
    def index_path(self) -> Path:
        """The index dir, resolved."""
        return self.index_dir.expanduser().resolve()

"""The corpus stage's datatrove pipeline steps: read, clean, filter, redact, sign.

Each step is a datatrove `PipelineStep`, so the same list runs in-process (local
executor), on Slurm or on Ray. Every document a step does not pass on is written to the
step's accounting file (`<work>/accounting/<step>-<rank>.jsonl`) with its reason, so the
corpus manifest can account for every input.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from datatrove.data import Document as DtDocument
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
from datatrove.utils.hashing import HashConfig
from datatrove.utils.text import TextNormConfig
from datatrove.utils.word_tokenizers import WordTokenizer

from toolkit.recipe import CorpusSection, CorpusSource

ACCOUNTING = "accounting"
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.?!。]\s+|\n+")


class _Accounting:
    """Lines of `<work>/accounting/<step>-<rank>.jsonl`, opened on first use."""

    def __init__(self, work: str, step: str, rank: int):
        self.path = Path(work) / ACCOUNTING / f"{step}-{rank:05d}.jsonl"
        self._fh = None

    def write(self, row: dict) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def _row(doc: DtDocument, status: str, step: str, reason: str) -> dict:
    m = doc.metadata
    return {"id": doc.id, "source": m.get("source"), "path": m.get("path"),
            "sha256": m.get("sha256"), "status": status, "step": step, "reason": reason}


class ReadSources(PipelineStep):
    """Reads every file of the recipe's sources; rank r of n takes files r, r+n, …"""

    name = "📖 gongmu sources"
    type = "📖 - READER"

    def __init__(self, sources: list[CorpusSource], work: str):
        super().__init__()
        self.sources = sources
        self.work = work

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        from toolkit.corpus.sources import Quarantined, read_source_file, source_files

        work = [(src, path) for src in self.sources for path in source_files(src)]
        log = _Accounting(self.work, "read", rank)
        try:
            for src, path in work[rank::world_size]:
                for item in read_source_file(src, path):
                    if isinstance(item, Quarantined):
                        self.stat_update("quarantined")
                        log.write({"id": item.id, "source": item.source, "path": item.path,
                                   "status": "quarantined", "step": "read", "reason": item.reason})
                        continue
                    self.stat_update("documents")
                    with self.track_time():
                        doc = DtDocument(text=item.text, id=item.id, metadata=item.meta)
                    yield doc
        finally:
            log.close()


class CleanKoreanText(PipelineStep):
    """NFC, full-width ASCII folded, whitespace tidied; amendment notes removed where the
    source's profile says so."""

    name = "🧹 Korean clean"
    type = "✂️ - FORMAT"

    def __init__(self, corpus: CorpusSection):
        super().__init__()
        self.profiles = corpus.profiles

    def run(self, data, rank: int = 0, world_size: int = 1):
        from toolkit.corpus.clean import normalize_text
        from toolkit.korean.legal import strip_amendment_notes

        for doc in data:
            with self.track_time():
                profile = self.profiles[doc.metadata["profile"]]
                text = normalize_text(doc.text)
                if profile.strip_amendment_notes:
                    text, n = strip_amendment_notes(text)
                    text = normalize_text(text)
                    doc.metadata["amendment_notes_removed"] = n
                    self.stat_update("amendment_notes_removed", value=n)
                doc.text = text
            yield doc


class FilterByProfile(PipelineStep):
    """Length and Hangul-ratio limits of the source's profile; datatrove's Gopher
    repetition filter only for profiles with `web_filters` (it rejects real statutes)."""

    name = "🔻 profile filter"
    type = "🔻 - FILTER"

    def __init__(self, corpus: CorpusSection, work: str):
        super().__init__()
        self.profiles = corpus.profiles
        self.work = work

    def run(self, data, rank: int = 0, world_size: int = 1):
        from datatrove.pipeline.filters import GopherRepetitionFilter

        from toolkit.corpus.clean import hangul_ratio

        repetition = GopherRepetitionFilter(language=EojeolWords())
        log = _Accounting(self.work, "filter", rank)
        try:
            for doc in data:
                with self.track_time():
                    reason = self._reason(doc, hangul_ratio, repetition)
                if reason:
                    self.stat_update("dropped")
                    log.write(_row(doc, "dropped", "filter", reason))
                    continue
                self.stat_update("kept")
                yield doc
        finally:
            log.close()

    def _reason(self, doc: DtDocument, hangul_ratio, repetition) -> str | None:
        name = doc.metadata["profile"]
        p = self.profiles[name]
        n = len(doc.text)
        if n < p.min_chars:
            return f"shorter than profile '{name}' min_chars ({n} < {p.min_chars})"
        if n > p.max_chars:
            return f"longer than profile '{name}' max_chars ({n} > {p.max_chars})"
        ratio = hangul_ratio(doc.text)
        if ratio < p.min_hangul_ratio:
            return (f"Hangul ratio {ratio:.2f} below profile '{name}' min_hangul_ratio "
                    f"({p.min_hangul_ratio})")
        if p.web_filters:
            verdict = repetition.filter(doc)
            if verdict is not True:
                why = verdict[1] if isinstance(verdict, tuple) else "repetition"
                return f"web filter (Gopher repetition): {why}"
        return None


class RedactPII(PipelineStep):
    """Replaces personal data with typed placeholders and counts them per type."""

    name = "🔒 Korean PII"
    type = "🔒 - PII"

    def __init__(self, corpus: CorpusSection):
        super().__init__()
        self.profiles = corpus.profiles

    def run(self, data, rank: int = 0, world_size: int = 1):
        from toolkit.korean.pii import redact_pii

        for doc in data:
            if self.profiles[doc.metadata["profile"]].redact_pii:
                with self.track_time():
                    doc.text, counts = redact_pii(doc.text)
                doc.metadata["pii"] = dict(counts)
                for kind, n in counts.items():
                    self.stat_update(f"pii/{kind}", value=n)
            yield doc


# Recipe source types -> the document kinds instruction builders know.
SOURCE_KINDS = {"statutes": "statute", "rulings": "ruling", "ordinances": "ordinance",
                "documents": "documents"}


class SynthesizeInstructions(PipelineStep):
    """Builds each document's instruction examples (the recipe's task families) into
    its metadata, so synthesis runs sharded with the rest; splits and dedup come later."""

    name = "🧩 instructions"
    type = "🧩 - SYNTH"

    def __init__(self, corpus: CorpusSection, seed: int):
        super().__init__()
        self.families = list(corpus.families)
        self.family_options = dict(corpus.family_options)
        self.options = dict(max_answer_chars=corpus.max_answer_chars,
                            max_source_chars=corpus.max_source_chars,
                            max_per_doc=corpus.max_per_doc, seed=seed)

    def run(self, data, rank: int = 0, world_size: int = 1):
        from toolkit import plugins
        from toolkit.corpus.families import SourceDoc, SynthOptions

        options = SynthOptions(**self.options)
        # Each family from the registry (built-in or plug-in); one with its own options
        # model gets its corpus.family_options, the others the corpus-wide options.
        families = {name: plugins.load(plugins.FAMILIES, name) for name in self.families}
        family_options = {
            name: options if family.options is None else
            plugins.options_model(plugins.FAMILIES, name, self.family_options.get(name))
            for name, family in families.items()}
        for doc in data:
            with self.track_time():
                m = doc.metadata
                sdoc = SourceDoc(id=doc.id, source=m.get("source"),
                                 source_type=SOURCE_KINDS.get(m.get("source_type"), "text"),
                                 path=m.get("path"), text=doc.text, meta=dict(m))
                records = []
                for name, family in families.items():
                    made = family.build(sdoc, family_options[name])
                    self.stat_update(f"records/{name}", value=len(made))
                    records += made
                m["records"] = records
            yield doc


class EojeolWords(WordTokenizer):
    """Korean words as written (eojeol: runs between spaces, punctuation trimmed) and
    sentences ending in 다./요./. — for datatrove steps that split text. datatrove's own
    Korean tokenizer asks kiwipiepy for a model ("sbg") current kiwipiepy no longer
    ships, and its English one needs spaCy."""

    def __init__(self):
        super().__init__("ko")

    def word_tokenize(self, text: str) -> list[str]:
        return _WORD.findall(text)

    def sent_tokenize(self, text: str) -> list[str]:
        return [text[a:b] for a, b in self.span_tokenize(text)]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        spans, start = [], 0
        for m in _SENTENCE_END.finditer(text):
            spans.append((start, m.end()))
            start = m.end()
        if start < len(text):
            spans.append((start, len(text)))
        return spans


def minhash_config(corpus: CorpusSection) -> MinhashConfig:
    m = corpus.dedup.minhash
    # norm_unicode_diacritics would NFD-decompose Hangul into jamo; numbers stay as
    # written because amounts and dates carry meaning in administrative text.
    norm = TextNormConfig(lowercase=True, norm_whitespace=True, remove_punctuation=True,
                          norm_unicode_diacritics=False, norm_numbers=False)
    return MinhashConfig(n_grams=m.shingle_chars, num_buckets=m.num_buckets,
                         hashes_per_bucket=m.hashes_per_bucket, seed=m.seed,
                         norm_config=norm, hash_config=HashConfig(precision=32))


class KoreanMinhashSignature(MinhashDedupSignature):
    """datatrove's MinHash signature stage over character shingles, with vectorised
    shingle hashing and signatures (a statute of a million characters needs a few MB)."""

    def __init__(self, output_folder: str, corpus: CorpusSection):
        super().__init__(output_folder, minhash_config(corpus), language=EojeolWords())
        self._odd = self._add = None

    def get_shingles(self, text: str) -> np.ndarray:
        """64-bit hashes of every run of `n_grams` characters (letters and digits only,
        ASCII lower-cased; see `clean.shingle_codepoints`), computed with numpy: a polynomial over the code points, then the splitmix64
        finaliser to spread the bits. (datatrove hashes Python strings one n-gram at a
        time, which current xxhash refuses and which dominated the build's time.)"""
        from toolkit.corpus.clean import shingle_codepoints

        cp = shingle_codepoints(text).astype(np.uint64)
        n = self.config.n_grams
        if len(cp) < n:
            return np.empty((0, 1), dtype=np.uint64)
        m = len(cp) - n + 1
        with np.errstate(over="ignore"):
            h = np.zeros(m, dtype=np.uint64)
            for k in range(n):
                h = h * np.uint64(0x100000001B3) + cp[k:k + m]
            h ^= h >> np.uint64(30)
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(27)
            h *= np.uint64(0x94D049BB133111EB)
            h ^= h >> np.uint64(31)
        return h.reshape((-1, 1))

    def get_signature(self, shingles: np.ndarray) -> list[list[int]]:
        """Per hash function i, the minimum of (a_i·x + b_i) mod 2^32 over the distinct
        shingles (odd a_i: a permutation of the 32-bit space). 32-bit wrapping arithmetic,
        one hash function at a time over a contiguous array, instead of datatrove's 64-bit
        modulo a Mersenne prime over an (n × hashes) matrix: that was most of the build's
        time. The bucket and cluster stages only compare the values."""
        x = np.unique((shingles.ravel() >> np.uint64(32)).astype(np.uint32))
        if self._odd is None:
            rng = np.random.RandomState(self.config.seed)
            self._odd = rng.randint(0, 2**32, size=self.num_hashes, dtype=np.uint64).astype(np.uint32) | np.uint32(1)
            self._add = rng.randint(0, 2**32, size=self.num_hashes, dtype=np.uint64).astype(np.uint32)
        with np.errstate(over="ignore"):
            if len(x) <= 4096:  # short texts: one small matrix beats 112 numpy calls
                low = (x[:, None] * self._odd + self._add).min(axis=0)
            else:
                low = np.empty(self.num_hashes, dtype=np.uint32)
                for i in range(self.num_hashes):
                    low[i] = (x * self._odd[i] + self._add[i]).min()
        return [x.tolist() for x in np.split(low, self.config.num_buckets)]

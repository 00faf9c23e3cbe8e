"""Catalog search (事项检索): an in-process index over the current item versions.

People type what they say, not what the catalog calls it — 开饭店, 生孩子上户口, ``spjy`` — so
the index combines Chinese word segmentation (jieba, with the catalog's own names and keywords
as a user dictionary), colloquial synonyms from ``search_synonyms.yaml``, BM25 ranking with field
boosts (name ≫ keywords > result > themes > department > materials), character bigrams for words
the dictionary does not know, pinyin initials and full pinyin with a light typo tolerance, an
exact-name/prefix bonus and a small popularity prior. The index is built from the database once
per process and rebuilt (in the background, the old one serving meanwhile) when the catalog
changes (``CatalogRevision`` or a new item version); a search costs at most one small query, to
check that, and none while the check interval has not elapsed. Everything a query needs is
precomputed postings, so a query is a few dictionary look-ups.
"""

from __future__ import annotations

import bisect
import heapq
import logging
import math
import re
import threading
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import connection, connections
from django.db.models import F

from tongban.catalog import selectors
from tongban.catalog.models import CatalogRevision, Implementation, ItemVersion, Material

logger = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 100
MAX_LIMIT = 100

# BM25 parameters and field boosts (a term in the name is worth far more than in a material).
K1 = 1.2
B = 0.75
FIELD_BOOSTS: dict[str, float] = {
    "name": 6.0,
    "keywords": 3.0,
    "result": 2.0,
    "themes": 1.5,
    "department": 1.0,
    "materials": 0.3,
}
GRAM_FIELDS = ("name", "keywords", "result")

# Weights of the alternatives a query word is searched as.
WHOLE_WEIGHT = 1.0
SUBWORD_WEIGHT = 0.5
GRAM_WEIGHT = 0.35
SYNONYM_WEIGHT = 0.9
STRONG_WEIGHT = 0.7  # whole words and synonym terms find candidates; parts only add to them
LATER_SYNONYM_FACTOR = 0.85

EXACT_NAME_BONUS = 2.0
NAME_IN_QUERY_BONUS = 1.5
PREFIX_BONUS = 1.4
CONTAINS_BONUS = 1.2
POPULARITY_PRIOR = 0.1  # at most +10 % for the most popular item
COVERAGE_EXPONENT = 1.5
TYPO_FACTOR = 0.6
KEYWORD_PINYIN_SCORE = 10.0
HOMOPHONE_FACTOR = 0.8

_USER_WORD_FREQ = 2000
_DEFAULT_CHECK_INTERVAL_MS = 1000

Fingerprint = tuple[int, str, int]

# Words that say how someone asks, not what they ask for.
# fmt: off
STOPWORDS = frozenset([
    "我", "我们", "想", "要", "想要", "我想", "我要", "需要", "怎么", "怎么办", "怎么样", "怎样", "如何", "哪里",
    "哪儿", "在哪", "在哪里", "去哪", "去哪里", "哪个", "什么", "啥", "办", "办理", "去", "的", "了", "吗", "呢",
    "吧", "啊", "呀", "请问", "咨询", "一下", "可以", "能", "能否", "是否", "有", "要求", "需", "该", "应该",
    "流程", "手续", "条件", "材料", "资料", "多久", "时间", "地点", "费用", "多少钱", "和", "与", "及", "或", "给",
    "帮", "帮我", "自己", "网上", "在线", "线上",
])
# fmt: on

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN = re.compile(f"[{_HAN}]+")
_WORDY = re.compile(f"[0-9a-z{_HAN}]")
_NOT_COMPACT = re.compile(f"[^0-9a-z{_HAN}]+")
_ALL_HAN = re.compile(f"[{_HAN}]+$")
_PINYIN_QUERY = re.compile(r"[a-z]+$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class SearchHit:
    """One search result. ``highlight`` holds (start, end) character spans of ``name`` that
    matched; ``matched_terms`` the words (or synonym terms) that made the item match."""

    code: str
    name: str
    department_name: str
    score: float
    matched_terms: tuple[str, ...]
    highlight: tuple[tuple[int, int], ...] = ()
    item_type: str = ""


@dataclass(frozen=True)
class IndexStats:
    items: int
    terms: int
    grams: int
    pinyin_keys: int
    build_seconds: float
    revision: Fingerprint


def normalise(text: str) -> str:
    """NFKC (full-width → half-width), lower case, trimmed."""
    return unicodedata.normalize("NFKC", text).lower().strip()


def compact(text: str) -> str:
    """Only the letters, digits and Chinese characters of normalised ``text``."""
    return _NOT_COMPACT.sub("", text)


def bigrams(text: str) -> list[str]:
    """Chinese character bigrams of every run of Chinese characters in ``text``."""
    out: list[str] = []
    for run in _HAN_RUN.findall(text):
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


# --- word segmentation (jieba), initialised quietly and once --------------------------------------
class Segmenter:
    """A private jieba tokenizer with the catalog's terms added as user words."""

    def __init__(self) -> None:
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self._words: set[str] = set()

    def _tk(self) -> Any:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    import jieba

                    jieba.setLogLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    self._tokenizer = tokenizer
        return self._tokenizer

    def add_words(self, words: Iterable[str]) -> int:
        """Add user words (once each); returns how many were new."""
        tk = self._tk()
        added = 0
        with self._lock:
            for word in words:
                if len(word) >= 2 and word not in self._words and _WORDY.search(word):
                    tk.add_word(word, freq=_USER_WORD_FREQ)
                    self._words.add(word)
                    added += 1
        return added

    def cut(self, text: str) -> list[str]:
        """Words of normalised ``text`` (punctuation and spaces dropped)."""
        return [t for t in self._tk().cut(text, HMM=False) if _WORDY.search(t)]

    def subwords(self, word: str) -> list[str]:
        """Dictionary words strictly inside ``word`` (城镇职工基本养老保险 → 城镇, 职工, 城镇职工,
        养老, 保险, 养老保险 …); like jieba's search mode but for every length."""
        if len(word) <= 2 or not _ALL_HAN.match(word):
            return []
        freq = self._tk().FREQ
        out = []
        for n in range(2, len(word)):
            for i in range(len(word) - n + 1):
                sub = word[i : i + n]
                if freq.get(sub):
                    out.append(sub)
        return out

    def terms(self, text: str) -> list[str]:
        """Index terms of a text: its words plus the words inside them."""
        out: list[str] = []
        for word in self.cut(text):
            out.append(word)
            out.extend(self.subwords(word))
        return out


_segmenter = Segmenter()


def segment(text: str) -> list[str]:
    """The words of ``text`` as the index sees them (for tests and diagnostics)."""
    return _segmenter.cut(normalise(text))


# --- pinyin -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class NamePinyin:
    """Pinyin of a name: ``initials`` (one letter per syllable), ``full`` (syllables joined),
    ``char_of`` (character offset in the name of each syllable), ``ends`` (end offset of each
    syllable in ``full``) and ``word_starts`` (syllable index where each word begins)."""

    initials: str
    full: str
    char_of: tuple[int, ...]
    ends: tuple[int, ...]
    word_starts: tuple[int, ...]


_pinyin_cache: dict[str, tuple[str, ...]] = {}


def _syllables(word: str) -> tuple[str, ...]:
    cached = _pinyin_cache.get(word)
    if cached is None:
        from pypinyin import lazy_pinyin

        cached = tuple(lazy_pinyin(word))
        if len(_pinyin_cache) < 200_000:
            _pinyin_cache[word] = cached
    return cached


def name_pinyin(name: str, words: Sequence[str] | None = None) -> NamePinyin:
    """Pinyin of a (normalised) name, aligned with its characters and words."""
    if words is None:
        words = _segmenter._tk().cut(name, HMM=False)
    initials: list[str] = []
    full: list[str] = []
    char_of: list[int] = []
    ends: list[int] = []
    starts: list[int] = []
    offset = 0
    length = 0
    for word in words:
        pieces: list[tuple[int, str]] = []
        if _ALL_HAN.match(word):
            syl = _syllables(word)
            if len(syl) == len(word):
                pieces = [(offset + i, s) for i, s in enumerate(syl)]
        elif word.isascii() and word.isalnum():
            pieces = [(offset, word)]
        if not pieces:
            for i, ch in enumerate(word):
                if _ALL_HAN.match(ch):
                    pieces.append((offset + i, _syllables(ch)[0]))
                elif ch.isascii() and ch.isalnum():
                    pieces.append((offset + i, ch))
        if pieces:
            starts.append(len(initials))
        for char, syllable in pieces:
            initials.append(syllable[0])
            full.append(syllable)
            char_of.append(char)
            length += len(syllable)
            ends.append(length)
        offset += len(word)
    return NamePinyin("".join(initials), "".join(full), tuple(char_of), tuple(ends), tuple(starts))


def pinyin_initials(text: str) -> str:
    """出生登记 → ``csdj``."""
    return name_pinyin(normalise(text)).initials


def typo_variants(query: str) -> set[str]:
    """Every string one edit (delete, transpose, substitute, insert) away from ``query``."""
    splits = [(query[:i], query[i:]) for i in range(len(query) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in _ALPHABET}
    out |= {a + c + b for a, b in splits for c in _ALPHABET}
    out.discard(query)
    return out


# --- synonyms ---------------------------------------------------------------------------------
def load_synonyms(path: Path | str | None = None) -> dict[str, tuple[str, ...]]:
    """Read the synonym file: phrase → catalog terms (phrases normalised)."""
    path = Path(path or settings.TONGBAN_SEARCH_SYNONYMS)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        logger.warning("search synonyms file %s not found; searching without synonyms", path)
        return {}
    out: dict[str, list[str]] = {}
    for n, entry in enumerate(data.get("synonyms") or []):
        phrases = entry.get("phrases") if isinstance(entry, dict) else None
        terms = entry.get("terms") if isinstance(entry, dict) else None
        if not isinstance(phrases, list) or not isinstance(terms, list):
            raise ValueError(f"{path}: synonyms[{n}] needs a list of phrases and a list of terms")
        for phrase in phrases:
            key = normalise(str(phrase))
            if not key:
                continue
            bucket = out.setdefault(key, [])
            for term in terms:
                value = normalise(str(term))
                if value and value not in bucket:
                    bucket.append(value)
    return {k: tuple(v) for k, v in out.items()}


# --- the index ----------------------------------------------------------------------------------
@dataclass(slots=True)
class _Doc:
    code: str
    name: str
    norm_name: str
    department_name: str
    item_type: str
    popularity: int
    applicant_types: frozenset[str]
    divisions: frozenset[str]
    pinyin: NamePinyin
    keyword_initials: tuple[tuple[str, str], ...]  # (initials, keyword): 社保卡 → sbk


@dataclass
class _Clause:
    """One concept of the query; a document matches it through any of its alternatives."""

    label: str
    alternatives: list[tuple[str, float, bool]] = field(default_factory=list)  # term, weight, gram

    def add(self, term: str, weight: float, gram: bool = False) -> None:
        for i, (t, w, g) in enumerate(self.alternatives):
            if t == term and g == gram:
                if weight > w:
                    self.alternatives[i] = (t, weight, g)
                return
        self.alternatives.append((term, weight, gram))


@dataclass
class _Query:
    text: str
    clauses: list[_Clause]
    core: str  # the query's content words, compacted (for exact/prefix bonuses)
    pinyin: str  # the query as pinyin letters, when it is only letters


class SearchIndex:
    """An immutable snapshot of the catalog prepared for searching."""

    def __init__(
        self,
        docs: list[_Doc],
        words: dict[str, dict[int, float]],
        grams: dict[str, dict[int, float]],
        synonyms: dict[str, tuple[str, ...]],
        division_parents: dict[str, str | None],
        fingerprint: Fingerprint,
    ) -> None:
        self.docs = docs
        self.words = words
        self.grams = grams
        self.synonyms = synonyms
        self._synonym_lengths = sorted({len(p) for p in synonyms}, reverse=True)
        self.division_parents = division_parents
        self.fingerprint = fingerprint
        self.checked_at = time.monotonic()
        self.build_seconds = 0.0
        n = max(len(docs), 1)
        self.idf = {t: _idf(n, len(p)) for t, p in words.items()}
        self.gram_idf = {t: _idf(n, len(p)) for t, p in grams.items()}
        top = max((d.popularity for d in docs), default=0)
        scale = math.log1p(top) or 1.0
        self.prior = [1.0 + POPULARITY_PRIOR * math.log1p(d.popularity) / scale for d in docs]
        self.by_code = {d.code.lower(): i for i, d in enumerate(docs)}
        self.by_name: dict[str, list[int]] = defaultdict(list)
        self._compact_names = [compact(d.norm_name) for d in docs]
        for i, key in enumerate(self._compact_names):
            self.by_name[key].append(i)
        self._allowed_cache: dict[tuple[str, str], frozenset[int]] = {}
        init_keys: list[tuple[str, int, int]] = []
        full_keys: list[tuple[str, int, int]] = []
        for i, d in enumerate(docs):
            py = d.pinyin
            for s in py.word_starts:
                init_keys.append((py.initials[s:], i, s))
                full_keys.append((py.full[py.ends[s - 1] if s else 0 :], i, s))
        kw_keys = sorted(
            {
                (initials, i, n)
                for i, d in enumerate(docs)
                for n, (initials, _) in enumerate(d.keyword_initials)
            }
        )
        init_keys.sort()
        full_keys.sort()
        self._kw_strs = [k[0] for k in kw_keys]
        self._kw_refs = [(k[1], k[2]) for k in kw_keys]
        self._init_strs = [k[0] for k in init_keys]
        self._init_refs = [(k[1], k[2]) for k in init_keys]
        self._full_strs = [k[0] for k in full_keys]
        self._full_refs = [(k[1], k[2]) for k in full_keys]

    @property
    def stats(self) -> IndexStats:
        return IndexStats(
            items=len(self.docs),
            terms=len(self.words),
            grams=len(self.grams),
            pinyin_keys=len(self._init_strs) + len(self._full_strs) + len(self._kw_strs),
            build_seconds=self.build_seconds,
            revision=self.fingerprint,
        )

    # --- query analysis ---------------------------------------------------------------------
    def analyse(self, text: str) -> _Query:
        text = normalise(text)[:MAX_QUERY_LENGTH]
        clauses: list[_Clause] = []
        rest: list[str] = []
        i = start = 0
        while i < len(text):
            for length in self._synonym_lengths:
                phrase = text[i : i + length]
                if len(phrase) == length and phrase in self.synonyms:
                    rest.append(text[start:i])
                    clauses.append(self._synonym_clause(phrase, self.synonyms[phrase]))
                    i += length
                    start = i
                    break
            else:
                i += 1
        rest.append(text[start:])
        words = [w for part in rest if part.strip() for w in _join_single(_segmenter.cut(part))]
        content = [w for w in words if w not in STOPWORDS]
        if not content and not clauses:
            content = words
        seen: set[str] = set()
        for word in content:
            if word not in seen:
                seen.add(word)
                clauses.append(self._word_clause(word))
        letters = re.sub(r"[\s']+", "", text)
        pinyin = letters if _PINYIN_QUERY.match(letters) and len(letters) >= 2 else ""
        return _Query(text, clauses, compact("".join(content)), pinyin)

    def _word_clause(
        self, word: str, weight: float = WHOLE_WEIGHT, clause: _Clause | None = None
    ) -> _Clause:
        clause = clause or _Clause(word)
        clause.add(word, weight)
        subs = _segmenter.subwords(word)
        # a known word's parts share a fixed weight (a long word must not outweigh a short
        # one just for having more parts); an unknown word is found through its parts only
        share = min(1.0, 2.0 / len(subs)) if subs and word in self.words else 1.0
        for sub in subs:
            clause.add(sub, weight * SUBWORD_WEIGHT * share)
        if word not in self.words:
            for gram in bigrams(word):
                clause.add(gram, weight * GRAM_WEIGHT, gram=True)
        return clause

    def _synonym_clause(self, phrase: str, terms: tuple[str, ...]) -> _Clause:
        """The phrase's own words plus its catalog terms; the first term listed is the one
        meant most often, so later terms weigh a little less."""
        clause = _Clause(phrase)
        for word in _segmenter.cut(phrase):
            if word not in STOPWORDS:
                clause.add(word, WHOLE_WEIGHT)
        for n, term in enumerate(terms):
            weight = SYNONYM_WEIGHT if n == 0 else SYNONYM_WEIGHT * LATER_SYNONYM_FACTOR
            for word in _segmenter.cut(term):
                self._word_clause(word, weight, clause)
        return clause

    # --- search -----------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        division_code: str | None = None,
        applicant_type: str | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        q = self.analyse(query)
        if not q.text or not self.docs:
            return []
        limit = max(1, min(int(limit), MAX_LIMIT))
        allowed = self.allowed(division_code, applicant_type)
        prior = self.prior
        scores, matched = self._score_clauses(q.clauses, limit)
        total = len(q.clauses)
        final: dict[int, float] = {}
        full_cover = False
        if total and scores:
            # coverage: a document matching more of the query's concepts ranks higher, and
            # one matching fewer than half of them (量子隧穿申报 → only 申报) is not a result
            cover = [(n / total) ** COVERAGE_EXPONENT for n in range(total + 1)]
            significant = sum(1 for c in q.clauses if len(c.label) >= 2)
            need = max(1, math.ceil(significant / 2))
            if allowed is None:
                final = {
                    d: s * cover[n] * prior[d]
                    for d, s in scores.items()
                    if (n := matched[d]) >= need
                }
            else:
                final = {
                    d: s * cover[n] * prior[d]
                    for d, s in scores.items()
                    if (n := matched[d]) >= need and d in allowed
                }
            full_cover = total in matched.values()
        boosted = self._name_bonuses(q.core, final) if q.core else set()
        extra_terms: dict[int, list[str]] = {}
        spans: dict[int, tuple[int, int]] = {}
        extra: dict[int, float] = {}
        if q.pinyin:
            self._pinyin_search(q.pinyin, extra, spans, extra_terms)
        elif not full_cover and len(q.core) >= 2 and _HAN_RUN.search(q.core):
            self._homophone_search(q.core, extra, spans)
        for d, value in extra.items():
            if allowed is None or d in allowed:
                final[d] = final.get(d, 0.0) + value * prior[d]
        code = self.by_code.get(q.text)
        if code is not None and (allowed is None or code in allowed):
            final[code] = max(final.values(), default=0.0) * 2 + 100.0
            extra_terms.setdefault(code, []).append(self.docs[code].code)
        pool = heapq.nlargest(max(4 * limit, 80), final, key=final.__getitem__)
        if len(q.core) >= 2:
            for d in pool:
                if d not in boosted:
                    name = self._compact_names[d]
                    if name.startswith(q.core):
                        final[d] *= PREFIX_BONUS
                    elif q.core in name:
                        final[d] *= CONTAINS_BONUS
        docs = self.docs
        pool.sort(key=lambda d: (-final[d], -docs[d].popularity, docs[d].code))
        return [self._hit(d, final[d], q, spans, extra_terms) for d in pool[:limit]]

    def _score_clauses(
        self, clauses: list[_Clause], limit: int
    ) -> tuple[dict[int, float], dict[int, int]]:
        """BM25 sum over the clauses and, per document, how many clauses it matched.

        Clauses are taken rarest first; inside a clause, whole words and synonym terms come
        before the parts of words (subwords, bigrams). Once there are plenty of candidates, a
        part that is common (登记, 许可 …) only adds to documents already found instead of
        walking its whole posting list: a document matching nothing but such a part would not
        reach the top anyway.
        """
        words, grams, idf, gram_idf = self.words, self.grams, self.idf, self.gram_idf
        enough = max(4 * limit, 100)

        def postings_of(alt: tuple[str, float, bool]) -> dict[int, float]:
            return (grams if alt[2] else words).get(alt[0]) or {}

        def rarity(clause: _Clause) -> int:
            sizes = [len(p) for alt in clause.alternatives if (p := postings_of(alt))]
            return min(sizes, default=1 << 30)

        scores: dict[int, float] = {}
        matched: dict[int, int] = {}
        for clause in sorted(clauses, key=rarity):
            part: dict[int, float] = {}
            ordered = sorted(
                clause.alternatives, key=lambda a: (a[1] < STRONG_WEIGHT, len(postings_of(a)))
            )
            for alt in ordered:
                postings = postings_of(alt)
                if not postings:
                    continue
                term, weight, gram = alt
                factor = weight * (gram_idf if gram else idf)[term]
                found = len(scores) + len(part)
                if weight < STRONG_WEIGHT and found >= enough and len(postings) > found:
                    get = postings.get
                    pool = scores.keys() | part.keys()
                    hits = {d: factor * w for d in pool if (w := get(d)) is not None}
                else:
                    hits = {d: factor * w for d, w in postings.items()}
                if not part:
                    part = hits
                else:
                    for d, value in hits.items():
                        part[d] = part.get(d, 0.0) + value
            if not part:
                continue
            if not scores:
                scores = part
                matched = dict.fromkeys(part, 1)
                continue
            for d, value in part.items():
                if d in scores:
                    scores[d] += value
                    matched[d] += 1
                else:
                    scores[d] = value
                    matched[d] = 1
        return scores, matched

    def allowed(
        self, division_code: str | None, applicant_type: str | None
    ) -> frozenset[int] | None:
        """Documents passing the filters (None: no filter); cached per filter."""
        if not division_code and not applicant_type:
            return None
        key = (division_code or "", applicant_type or "")
        cached = self._allowed_cache.get(key)
        if cached is not None:
            return cached
        chain = self.division_chain(division_code) if division_code else None
        result = frozenset(
            d
            for d, doc in enumerate(self.docs)
            if (chain is None or not doc.divisions.isdisjoint(chain))
            and (
                not applicant_type
                or not doc.applicant_types
                or applicant_type in doc.applicant_types
            )
        )
        if len(self._allowed_cache) >= 256:
            self._allowed_cache.clear()
        self._allowed_cache[key] = result
        return result

    def division_chain(self, code: str) -> frozenset[str]:
        """``code`` and its ancestors (from the division tree, else from the GB/T 2260 code)."""
        chain: list[str] = []
        node: str | None = code
        while node and node not in chain and len(chain) < 8:
            chain.append(node)
            node = self.division_parents.get(node)
        if code not in self.division_parents and re.fullmatch(r"\d{6}(\d{3})?", code):
            chain += [code[:6], code[:4] + "00", code[:2] + "0000"]
        return frozenset(chain)

    def _name_bonuses(self, core: str, final: dict[int, float]) -> set[int]:
        """Exact name (×2), or a whole item name inside the query (我要办出生登记); returns
        the documents boosted so the prefix/contains bonus is not added on top."""
        boosted = set()
        for d in self.by_name.get(core, ()):
            if d in final:
                final[d] *= EXACT_NAME_BONUS
                boosted.add(d)
        if len(core) >= 4:
            for length in range(min(len(core) - 1, 40), 3, -1):
                for i in range(len(core) - length + 1):
                    for d in self.by_name.get(core[i : i + length], ()):
                        if d in final and d not in boosted:
                            final[d] *= NAME_IN_QUERY_BONUS
                            boosted.add(d)
        return boosted

    def _prefix_refs(
        self, strs: list[str], refs: list[tuple[int, int]], key: str
    ) -> Iterable[tuple[int, int]]:
        i = bisect.bisect_left(strs, key)
        end = min(len(strs), i + 5000)
        while i < end and strs[i].startswith(key):
            yield refs[i]
            i += 1

    def _pinyin_search(
        self,
        q: str,
        scores: dict[int, float],
        spans: dict[int, tuple[int, int]],
        extra_terms: dict[int, list[str]],
    ) -> None:
        """Letters only: pinyin initials (``spjy``) or full pinyin (``shipin``) of names, at the
        start or at a word; initials of keywords (``sbk`` → 社保卡); one typo if nothing else."""
        found: dict[int, tuple[float, int, int]] = {}  # doc → (score, syllable, syllable count)

        def offer(d: int, value: float, start: int, count: int) -> None:
            if value > found.get(d, (0.0, 0, 0))[0]:
                found[d] = (value, start, count)

        docs = self.docs
        for d, s in self._prefix_refs(self._init_strs, self._init_refs, q):
            py = docs[d].pinyin
            offer(d, (16.0 if s == 0 else 10.0) + 8.0 * len(q) / len(py.initials), s, len(q))
        if len(q) >= 3:
            for d, s in self._prefix_refs(self._full_strs, self._full_refs, q):
                py = docs[d].pinyin
                base = py.ends[s - 1] if s else 0
                count = bisect.bisect_left(py.ends, base + len(q)) - s + 1
                value = (18.0 if s == 0 else 12.0) + 8.0 * len(q) / len(py.full)
                offer(d, value, s, count)
        keyword_hits: dict[int, tuple[float, str]] = {}
        for d, n in self._prefix_refs(self._kw_strs, self._kw_refs, q):
            initials, keyword = docs[d].keyword_initials[n]
            value = KEYWORD_PINYIN_SCORE + 6.0 * len(q) / len(initials)
            if value > keyword_hits.get(d, (0.0, ""))[0]:
                keyword_hits[d] = (value, keyword)
        if len(q) >= 4 and not found and not keyword_hits:
            for variant in typo_variants(q):
                for d, s in self._prefix_refs(self._init_strs, self._init_refs, variant):
                    py = docs[d].pinyin
                    value = (16.0 if s == 0 else 10.0) + 8.0 * len(variant) / len(py.initials)
                    offer(d, value * TYPO_FACTOR, s, len(variant))
        for d, (value, start, count) in found.items():
            scores[d] = scores.get(d, 0.0) + value
            spans[d] = self._syllable_span(d, start, count)
        for d, (value, keyword) in keyword_hits.items():
            if d not in found:
                scores[d] = scores.get(d, 0.0) + value
                extra_terms.setdefault(d, []).append(keyword)

    def _homophone_search(
        self, core: str, scores: dict[int, float], spans: dict[int, tuple[int, int]]
    ) -> None:
        """A Chinese query with a wrong character (出生登计): match its full pinyin."""
        han = "".join(_HAN_RUN.findall(core))
        if len(han) < 2:
            return
        key = "".join(_syllables(han))
        docs = self.docs
        for d, s in self._prefix_refs(self._full_strs, self._full_refs, key):
            py = docs[d].pinyin
            value = ((18.0 if s == 0 else 12.0) + 8.0 * len(key) / len(py.full)) * HOMOPHONE_FACTOR
            scores[d] = scores.get(d, 0.0) + value
            spans.setdefault(d, self._syllable_span(d, s, len(han)))

    def _syllable_span(self, d: int, start: int, count: int) -> tuple[int, int]:
        char_of = self.docs[d].pinyin.char_of
        if not char_of:
            return (0, 0)
        last = min(start + count, len(char_of)) - 1
        return (char_of[start], char_of[last] + 1)

    def _hit(
        self,
        d: int,
        score: float,
        q: _Query,
        pinyin_spans: dict[int, tuple[int, int]],
        extra_terms: dict[int, list[str]],
    ) -> SearchHit:
        doc = self.docs[d]
        terms: list[str] = []
        for clause in q.clauses:
            words = [t for t, _, g in clause.alternatives if not g and d in self.words.get(t, ())]
            if not words:
                words = [t for t, _, g in clause.alternatives if g and d in self.grams.get(t, ())]
            for t in words:
                if not any(t != o and t in o for o in words) and t not in terms:
                    terms.append(t)
        spans: list[tuple[int, int]] = []
        lowered = doc.norm_name
        if len(lowered) == len(doc.name):
            for t in terms:
                position = lowered.find(t)
                while position != -1:
                    spans.append((position, position + len(t)))
                    position = lowered.find(t, position + len(t))
            if d in pinyin_spans:
                start, end = pinyin_spans[d]
                if end > start:
                    spans.append((start, end))
                    piece = doc.name[start:end]
                    if piece not in terms:
                        terms.append(piece)
        terms.extend(t for t in extra_terms.get(d, ()) if t not in terms)
        return SearchHit(
            code=doc.code,
            name=doc.name,
            department_name=doc.department_name,
            score=round(score, 4),
            matched_terms=tuple(terms),
            highlight=_merge_spans(spans),
            item_type=doc.item_type,
        )


def _join_single(words: list[str]) -> list[str]:
    """Join runs of single Chinese characters the dictionary split apart (隧穿 → 隧, 穿) back
    into one unknown word, which is then searched by its bigrams; stopwords stay apart."""
    out: list[str] = []
    run = ""
    for word in [*words, ""]:
        if len(word) == 1 and word not in STOPWORDS and _ALL_HAN.match(word):
            run += word
            continue
        if run:
            out.append(run)
            run = ""
        if word:
            out.append(word)
    return out


def _idf(n: int, df: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def _merge_spans(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


# --- building -----------------------------------------------------------------------------------
def _fingerprint() -> Fingerprint:
    """(catalog revision, when the revision row last changed, newest item version id): one
    cheap query. The id catches versions written without an import; the timestamp tells
    apart two databases that happen to be at the same revision (tests roll back)."""
    qn = connection.ops.quote_name
    revision = qn(CatalogRevision._meta.db_table)
    sql = (
        f"SELECT (SELECT MAX({qn('number')}) FROM {revision}), "  # noqa: S608 - quoted identifiers only
        f"(SELECT MAX({qn('changed_at')}) FROM {revision}), "
        f"(SELECT MAX({qn(ItemVersion._meta.pk.column)}) FROM {qn(ItemVersion._meta.db_table)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    if not row:
        return (0, "", 0)
    return (int(row[0] or 0), str(row[1] or ""), int(row[2] or 0))


@dataclass(frozen=True)
class CatalogEntry:
    """What the index needs from one current item version."""

    code: str
    name: str
    department_name: str
    department_division: str
    item_type: str = ""
    keywords: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    result_name: str = ""
    applicant_types: tuple[str, ...] = ()
    popularity: int = 0
    implemented_in: tuple[str, ...] = ()
    materials: tuple[str, ...] = ()


def read_catalog() -> tuple[list[CatalogEntry], dict[str, str | None]]:
    """The current item versions (three queries) and the division tree (one query)."""
    implemented: dict[int, set[str]] = defaultdict(set)
    for item_id, division in Implementation.objects.values_list("item_id", "division__code"):
        implemented[item_id].add(division)
    materials: dict[int, list[str]] = defaultdict(list)
    for version_id, name in (
        Material.objects.filter(version__item__current_version=F("version"))
        .order_by("version_id", "order")
        .values_list("version_id", "name")
    ):
        materials[version_id].append(name)
    rows = selectors.published_versions().values(
        "pk",
        "item_id",
        "item__code",
        "name",
        "keywords",
        "themes",
        "popularity",
        "applicant_types",
        "item_type",
        "result_name",
        "department__name",
        "department__division__code",
    )
    entries = [
        CatalogEntry(
            code=row["item__code"],
            name=row["name"],
            department_name=row["department__name"],
            department_division=row["department__division__code"],
            item_type=row["item_type"],
            keywords=tuple(str(k) for k in row["keywords"] or ()),
            themes=tuple(str(t) for t in row["themes"] or ()),
            result_name=row["result_name"] or "",
            applicant_types=tuple(row["applicant_types"] or ()),
            popularity=row["popularity"] or 0,
            implemented_in=tuple(sorted(implemented.get(row["item_id"], ()))),
            materials=tuple(materials.get(row["pk"], ())),
        )
        for row in rows.order_by("item__code")
    ]
    parents = {d.code: (d.parent.code if d.parent else None) for d in selectors.list_divisions()}
    return entries, parents


def build_index(fingerprint: Fingerprint | None = None) -> SearchIndex:
    """Read the current item versions and build a fresh index (does not install it)."""
    started = time.perf_counter()
    fingerprint = _fingerprint() if fingerprint is None else fingerprint
    entries, parents = read_catalog()
    index = index_entries(entries, parents, fingerprint=fingerprint)
    index.build_seconds = time.perf_counter() - started
    logger.info(
        "search index built: %d items, %d terms in %.2f s",
        len(entries),
        len(index.words),
        index.build_seconds,
    )
    return index


def index_entries(
    entries: Sequence[CatalogEntry],
    division_parents: dict[str, str | None] | None = None,
    *,
    synonyms: dict[str, tuple[str, ...]] | None = None,
    fingerprint: Fingerprint = (0, "", 0),
) -> SearchIndex:
    """Build an index from catalog entries (pure: no database)."""
    started = time.perf_counter()
    synonyms = load_synonyms() if synonyms is None else synonyms
    user_words: set[str] = set()
    for entry in entries:
        user_words.update(_HAN_RUN.findall(normalise(entry.name)))
        user_words.update(normalise(k) for k in entry.keywords)
        user_words.update(normalise(t) for t in entry.themes)
    for phrase, terms in synonyms.items():
        user_words.add(phrase)
        user_words.update(terms)
    _segmenter.add_words(sorted(w for w in user_words if len(w) <= 30))

    # catalogs repeat themselves (departments, themes, keywords, 许可/登记 …): cut each text once
    cut_cache: dict[str, list[str]] = {}
    term_cache: dict[str, list[str]] = {}
    initials_cache: dict[str, str] = {}
    tokenizer = _segmenter._tk()

    def cut_of(key: str) -> list[str]:
        cached = cut_cache.get(key)
        if cached is None:
            cached = list(tokenizer.cut(key, HMM=False))
            cut_cache[key] = cached
        return cached

    def terms_of(text: str) -> list[str]:
        key = normalise(text)
        cached = term_cache.get(key)
        if cached is None:
            cached = []
            for word in cut_of(key):
                if _WORDY.search(word):
                    cached.append(word)
                    cached.extend(_segmenter.subwords(word))
            term_cache[key] = cached
        return cached

    def initials_of(key: str) -> str:
        cached = initials_cache.get(key)
        if cached is None:
            cached = name_pinyin(key, cut_of(key)).initials
            initials_cache[key] = cached
        return cached

    docs: list[_Doc] = []
    fields: list[dict[str, list[str]]] = []
    for entry in entries:
        norm_name = normalise(entry.name)
        keywords = [normalise(k) for k in entry.keywords]
        result = normalise(entry.result_name)
        fields.append(
            {
                "name": terms_of(norm_name),
                "keywords": [t for k in keywords for t in terms_of(k)],
                "result": terms_of(result),
                "themes": [t for k in entry.themes for t in terms_of(k)],
                "department": terms_of(entry.department_name),
                "materials": [t for m in entry.materials for t in terms_of(m)],
                "_grams_name": bigrams(norm_name),
                "_grams_keywords": [g for k in keywords for g in bigrams(k)],
                "_grams_result": bigrams(result),
            }
        )
        docs.append(
            _Doc(
                code=entry.code,
                name=entry.name,
                norm_name=norm_name,
                department_name=entry.department_name,
                item_type=entry.item_type,
                popularity=entry.popularity,
                applicant_types=frozenset(entry.applicant_types),
                divisions=frozenset({entry.department_division, *entry.implemented_in}),
                pinyin=name_pinyin(norm_name, cut_of(norm_name)),
                keyword_initials=tuple(
                    (initials, keyword)
                    for keyword, norm in zip(entry.keywords, keywords, strict=True)
                    if len(initials := initials_of(norm)) >= 2
                ),
            )
        )
    words = _postings(fields, FIELD_BOOSTS)
    grams = _postings(fields, {f"_grams_{name}": FIELD_BOOSTS[name] for name in GRAM_FIELDS})
    index = SearchIndex(docs, words, grams, synonyms, division_parents or {}, fingerprint)
    index.build_seconds = time.perf_counter() - started
    return index


def _postings(
    fields: list[dict[str, list[str]]], boosts: dict[str, float]
) -> dict[str, dict[int, float]]:
    """BM25 weight of every term in every document, field boosts applied per field."""
    averages: dict[str, float] = {}
    for name in boosts:
        lengths = [len(f[name]) for f in fields if f.get(name)]
        averages[name] = (sum(lengths) / len(lengths)) if lengths else 1.0
    postings: dict[str, dict[int, float]] = {}
    for d, per_field in enumerate(fields):
        for name, boost in boosts.items():
            tokens = per_field.get(name)
            if not tokens:
                continue
            norm = 1.0 - B + B * len(tokens) / averages[name]
            for term, tf in Counter(tokens).items():
                weight = boost * tf * (K1 + 1.0) / (tf + K1 * norm)
                entry = postings.setdefault(term, {})
                entry[d] = entry.get(d, 0.0) + weight
    return postings


# --- the shared, refreshed index ----------------------------------------------------------------
class _Holder:
    def __init__(self) -> None:
        self.index: SearchIndex | None = None
        self.lock = threading.Lock()


_holder = _Holder()


def _check_interval() -> float:
    value = getattr(settings, "TONGBAN_SEARCH_REFRESH_MS", None)
    if value is None:
        value = 0 if getattr(settings, "TESTING", False) else _DEFAULT_CHECK_INTERVAL_MS
    return max(0.0, float(value) / 1000.0)


def _rebuild_in_background() -> bool:
    value = getattr(settings, "TONGBAN_SEARCH_BACKGROUND_REBUILD", None)
    return not getattr(settings, "TESTING", False) if value is None else bool(value)


def get_index() -> SearchIndex:
    """The current index, rebuilt if the catalog changed since it was built.

    The catalog is checked at most once per ``TONGBAN_SEARCH_REFRESH_MS`` (default 1 s; every
    search when testing). The first index is built in the calling thread. A stale one keeps
    serving while a fresh one is built — by a background thread by default
    (``TONGBAN_SEARCH_BACKGROUND_REBUILD``, off when testing so results are deterministic), so
    no request waits for a rebuild after a catalog import; else by the first caller, while
    the other threads keep searching the previous index.
    """
    index = _holder.index
    now = time.monotonic()
    if index is not None and now - index.checked_at < _check_interval():
        return index
    fingerprint = _fingerprint()
    if index is not None and index.fingerprint == fingerprint:
        index.checked_at = now
        return index
    if index is not None:
        if not _holder.lock.acquire(blocking=False):
            return index  # being rebuilt
        if _rebuild_in_background():
            index.checked_at = now
            threading.Thread(
                target=_rebuild_then_release, args=(fingerprint,), name="search-index", daemon=True
            ).start()
            return index
    else:
        _holder.lock.acquire()
    try:
        current = _holder.index
        if current is not None and current.fingerprint == fingerprint:
            return current
        fresh = build_index(fingerprint)
        _holder.index = fresh
        return fresh
    finally:
        _holder.lock.release()


def _rebuild_then_release(fingerprint: Fingerprint) -> None:
    """Body of the background rebuild; the caller holds ``_holder.lock`` for it."""
    try:
        _holder.index = build_index(fingerprint)
    except Exception:
        logger.exception("search index rebuild failed; the previous index stays in use")
    finally:
        _holder.lock.release()
        connections.close_all()  # this thread's own connections


def rebuild_index() -> IndexStats:
    """Build and install a fresh index now (e.g. after a bulk load); returns its figures."""
    with _holder.lock:
        fresh = build_index()
        _holder.index = fresh
    return fresh.stats


def reset_index() -> None:
    """Forget the index; the next search builds a new one (tests use this between cases)."""
    with _holder.lock:
        _holder.index = None


def search_items(
    query: str,
    *,
    division_code: str | None = None,
    applicant_type: str | None = None,
    limit: int = 20,
) -> list[SearchHit]:
    """Items matching ``query``, best first. ``division_code`` keeps items implemented in that
    division or an ancestor of it; ``applicant_type`` (person/enterprise) keeps items serving
    that applicant. An empty or blank query finds nothing."""
    if not query or not query.strip():
        return []
    return get_index().search(
        query, division_code=division_code, applicant_type=applicant_type, limit=limit
    )

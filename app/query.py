"""Understanding a question before retrieval: language, scope, comparison, topic.

Everything here is rules a reviewer can read: a small privacy glossary for query
expansion (customers say "abroad", policies say "transferred internationally"; Chinese
customers say 国外, the policy says 境外/跨境), the scope a question names (a brand, a year,
a region), and cues of questions that are not about privacy at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.catalog import Catalog
from app.lexical import tokenize
from app.text import YEAR, language_of

# Each group: words that mean the same thing for our purposes. A question token from a
# group adds the group's other tokens to the BM25 query.
_GLOSSARY = [
    "国外 境外 海外 出境 跨境 国际",
    "传到 传输 转移 传送 发送",
    "删除 删掉 注销 清除",
    "保留 保存 存储 多久 期限",
    "卖 出售 销售 售卖",
    "未成年 未成年人 儿童 孩子 小孩 14",
    "联系 客服 联络 电话 邮件",
    "撤回 取消 拒绝",
    "复制 副本 拷贝",
    "更正 修改 更新",
    "位置 定位",
    "cookie cookies",
    "sell sale sold selling",
    "delete deletion erase erasure remove",
    "child children kid kids minor minors",
    "keep retain retention",
    "abroad overseas international internationally transfer transferred countries country",
    "contact reach phone email e-mail",
    "unsubscribe opt-out opt marketing",
    "correct correction update fix",
    "copy portability",
    "track tracking",
    "camera cctv surveillance video",
    "complain complaint",
    "breach incident hacked leak leaked",
    "card credit",
]
# Chinese words and the English ones policies use for them: a Chinese question about a policy
# that has no Chinese text (a follow-up "那美国呢？" about an English-only US policy) is searched
# in the policy's words. Only Chinese → English, and only when the allowed text has no Chinese.
_BILINGUAL = [
    ("国外 境外 海外 出境 跨境 国际", "abroad overseas international internationally transfer transferred countries"),
    ("传到 传输 转移 传送", "transfer transferred"),
    ("删除 删掉 注销 清除", "delete deletion erase remove"),
    ("保留 保存 存储 多久 期限", "keep retain retention period long"),
    ("卖 出售 销售 售卖", "sell sale sold selling"),
    ("未成年 未成年人 儿童 孩子 小孩", "child children minor minors"),
    ("联系 客服 联络 电话 邮件 邮箱", "contact phone email"),
    ("撤回 取消 拒绝 退订", "withdraw opt unsubscribe"),
    ("复制 副本 拷贝", "copy portability"),
    ("更正 修改 更新", "correct correction update"),
    ("位置 定位", "location"),
    ("营销 推送 广告", "marketing advertising"),
    ("安全 保护", "security secure protect"),
    ("共享 分享 披露", "share sharing disclose"),
    ("收集", "collect collected"),
    ("同意", "consent"),
    ("权利", "rights right"),
    ("访问 查阅", "access"),
    ("cookie", "cookies cookie"),
]
_ZH_TO_EN: dict[str, set[str]] = {}
for _zh, _en in _BILINGUAL:
    for _t in {t for w in _zh.split() for t in tokenize(w)}:
        _ZH_TO_EN.setdefault(_t, set()).update(tokenize(_en))


def in_english(tokens: list[str]) -> list[str]:
    """The tokens plus the English words policies use for their Chinese ones (each once)."""
    return _with_equivalents(tokens, _ZH_TO_EN)


_EXPANSION: dict[str, set[str]] = {}
for _group in _GLOSSARY:
    _toks = {t for w in _group.split() for t in tokenize(w)}
    for _t in _toks:
        _EXPANSION.setdefault(_t, set()).update(_toks)

# A comparison: asked for in so many words, or a change between two years the question names
# ("what changed between 2010 and 2024?"). "change" or "between" alone is no comparison: "how
# do I change my preferences?", "do you share data between affiliates?".
_COMPARE = re.compile(
    r"\b(differ|differs|difference|differences|compare|compared|comparison|versus|vs\.?)\b"
    r"|区别|有什么不同|有何不同|不同之处|对比|相比|比较",
    re.IGNORECASE,
)
_CHANGE = re.compile(r"\b(changed?|changes|between|different)\b|变化|变动|不同", re.IGNORECASE)
_OLD = re.compile(r"\b(old|older|previous|earlier|archived|former|superseded)\b|旧版|以前", re.IGNORECASE)
# Questions about shopping, not about personal data. They abstain unless they also
# carry a privacy cue ("do you keep my card number?").
_OFF_TOPIC = re.compile(
    r"\b(price|prices|cost|costs|how much|cheap|expensive|discount|sale price|open|opening|hours|closing|"
    r"return policy|returns?|refunds?|exchange|warranty|guarantee|repair cost|size|sizing|resize|in stock|"
    r"available|availability|shipping cost|delivery time|gift wrap|engrav\w*|boutique near|store near|repairs?|"
    r"paypal|apple pay|google pay|bitcoin|crypto|installments?|layaway|financing)\b"
    r"|价格|多少钱|营业时间|几点|退货|退款|换货|保修|尺寸|库存|优惠|折扣",
    re.IGNORECASE,
)
_PRIVACY = re.compile(
    r"\b(privacy policy|privacy notice|data|information|info|personal|privacy|private|cookies?|track\w*|"
    r"consent|delete|erase|account|"
    r"e-?mail|phone number|share|sharing|sell|sold|marketing|newsletter|opt|rights?|retain|keep|"
    r"transfer\w*|children|child|minor|security|secure|breach|cctv|camera|location|recorded|recording|"
    r"card number|card details|profil\w*|gdpr|ccpa|pipl)\b"
    r"|个人信息|信息|数据|隐私|删除|同意|账户|账号|共享|传输|境外|国外|儿童|未成年|安全|定位|位置",
    re.IGNORECASE,
)


# What kind of answer a question wants, and what an answering sentence then contains.
_ANSWER_TYPES = (
    (
        re.compile(
            r"\bhow long\b|\bretention period\b|\bhow many (days|months|years)\b|多久|多长时间|期限|几年|多少天", re.I
        ),
        re.compile(r"\b(years?|months?|days?|lifetime|period|as long as)\b|\d+\s*(天|个月|年)|期限|直至|为止", re.I),
    ),
    (
        re.compile(r"\be-?mail address\b|\bemail\b|\bcontact\b|\breach\b|邮箱|邮件地址|联系", re.I),
        re.compile(r"@|\+?\d[\d ()-]{6,}\d|\b1 800\b"),
    ),
    (
        re.compile(r"\bphone\b|\bcall\b|\bnumber\b|电话", re.I),
        re.compile(r"\+?\d[\d ()-]{6,}\d|\b1 800 [A-Z]+"),
    ),
    (
        re.compile(r"\bhow old\b|\bage\b|\bminors?\b|\bchild(ren)?\b|\bkids?\b|几岁|年龄|未成年|儿童", re.I),
        re.compile(r"\b(under|age|aged)\s*(of\s*)?\d+|\d+\s*(years old|周岁|岁)", re.I),
    ),
)


_ASKS_NUMBER = re.compile(
    r"\bhow many\b|\bhow much time\b|\bwithin how\b|\bafter \d+ (days|months|years)\b|几年|几天|多少天|多少个月|多少年",
    re.IGNORECASE,
)
NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|sixty|ninety|hundred|once|twice)\b"
    r"|[一二三四五六七八九十百]",
    re.IGNORECASE,
)


def answer_shape(question: str) -> re.Pattern[str] | None:
    """For "how long", "which e-mail", "how old" questions: the shape of an answering sentence."""
    for asks, shape in _ANSWER_TYPES:
        if asks.search(question):
            return shape
    return None


@dataclass(frozen=True)
class QueryPlan:
    """What retrieval and composition need to know about one question."""

    text: str
    lang: str
    tokens: list[str]  # for BM25: content tokens and their glossary equivalents
    terms: list[str]  # the question's own content tokens
    doc_ids: frozenset[str] | None  # documents the question names; None: any current one
    compare: bool
    off_topic: bool
    shape: re.Pattern[str] | None = None
    needs_number: bool = False  # "how many days…": an answer without a figure is no answer


def synonyms(token: str) -> set[str]:
    """The token and its glossary equivalents."""
    return _EXPANSION.get(token, set()) | {token}


def has_synonyms(token: str) -> bool:
    """Whether the glossary knows the token (so it is a privacy word, whatever the corpus says)."""
    return token in _EXPANSION


def expand(tokens: list[str]) -> list[str]:
    """The question's tokens plus their glossary equivalents (each added once)."""
    return _with_equivalents(tokens, _EXPANSION)


def _with_equivalents(tokens: list[str], table: dict[str, set[str]]) -> list[str]:
    """The tokens, then each one's equivalents from ``table`` not already there, in order."""
    out = list(tokens)
    seen = set(tokens)
    for t in tokens:
        for extra in sorted(table.get(t, ())):
            if extra not in seen:
                seen.add(extra)
                out.append(extra)
    return out


def content_tokens(question: str, documents: Catalog) -> list[str]:
    """The question's tokens less brand names, years and the word "policy"."""
    scope = documents.scope_tokens
    return [t for t in tokenize(question) if t not in scope and not YEAR.fullmatch(t)]


def plan(question: str, documents: Catalog, explicit_doc: bool) -> QueryPlan:
    """Analyse a question against the metadata of the indexed documents."""
    lang = language_of(question)
    tokens = content_tokens(question, documents) or tokenize(question)
    doc_ids = None if explicit_doc else _named_documents(question, documents, lang)
    asks = bool(_COMPARE.search(question)) or (
        bool(_CHANGE.search(question)) and len({m.group(0) for m in YEAR.finditer(question)}) >= 2
    )
    compare = asks and (doc_ids is None or len(doc_ids) != 1)
    off_topic = bool(_OFF_TOPIC.search(question)) and not _PRIVACY.search(question)
    return QueryPlan(
        question,
        lang,
        expand(tokens),
        tokens,
        doc_ids,
        compare,
        off_topic,
        answer_shape(question),
        bool(_ASKS_NUMBER.search(question)),
    )


def _named_documents(question: str, documents: Catalog, lang: str) -> frozenset[str] | None:
    """Documents a question points at by brand, year or region; None when it names none."""
    current = documents.default(lang)  # naming a brand does not name its regional policies
    named_brands = documents.named_brands(question)
    years = {m.group(0) for m in YEAR.finditer(question)}
    selected: set[str] = set()
    if years:
        selected |= {d for d, m in documents.items() if any(y in m.effective_date or y in d for y in years)}
    if _OLD.search(question):
        selected |= documents.superseded
    if named_brands:
        by_brand = set().union(*(documents.by_brand[b] for b in named_brands))
        if selected:
            # "Cartier's 2010 policy" names the year; "Cartier vs Harry Winston in 2015" adds the brand
            selected |= {
                d
                for d in by_brand & current
                if documents[d].brand.lower() not in {documents[s].brand.lower() for s in selected}
            }
        else:  # a brand whose policies are all regional is named by its regional ones
            selected = (by_brand & current) or (by_brand & documents.current)
    regions = {d for d in documents.named_regions(question) if d in documents.current}
    if named_brands:
        regions = {d for d in regions if documents[d].brand.lower() in named_brands}
    if regions:
        if years:
            selected |= regions
        else:  # the region's version replaces its brand's other current ones
            brands = {documents[d].brand.lower() for d in regions}
            selected = {d for d in selected if documents[d].brand.lower() not in brands} | regions
    return frozenset(selected) if selected else None

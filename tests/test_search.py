"""Catalog search: segmentation, synonyms, pinyin, refresh, filters — and relevance.

Relevance is checked against the sample catalog shipped for ``make demo`` (indexed straight
from its YAML, no database) with more than forty query → item cases, colloquial ones included,
and against a small fixture catalog through ``search_items`` and the database (refresh when the
catalog revision changes, division and applicant filters, query counts).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.db.models import F

from tongban.catalog import search
from tongban.catalog.document import CatalogDocument
from tongban.catalog.models import CatalogRevision, Implementation, Item, ItemVersion, Material
from tongban.demo.sample import catalog_paths
from tongban.identity.models import Department, Division


@pytest.fixture(autouse=True)
def fresh_index() -> Iterator[None]:
    search.reset_index()
    yield
    search.reset_index()


# --- text processing ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def segmenter() -> search.Segmenter:
    """A tokenizer of its own, so words other tests added to the shared one do not interfere."""
    return search.Segmenter()


def test_normalise_folds_full_width_and_case() -> None:
    assert search.normalise("  ＣＳＤＪ（新办） ") == "csdj(新办)"


def test_compact_keeps_letters_digits_and_chinese() -> None:
    assert search.compact("食品经营许可(餐饮服务) 2024") == "食品经营许可餐饮服务2024"


def test_bigrams_of_chinese_runs() -> None:
    assert search.bigrams("出生登记(补)") == ["出生", "生登", "登记"]


def test_segmenter_cuts_words_and_drops_punctuation(segmenter: search.Segmenter) -> None:
    assert segmenter.cut("不动产转移登记（一般）") == ["不动产", "转移", "登记", "一般"]


def test_user_words_keep_catalog_terms_whole(segmenter: search.Segmenter) -> None:
    segmenter.add_words(["残疾人两项补贴"])
    assert segmenter.cut("残疾人两项补贴申请") == ["残疾人两项补贴", "申请"]


def test_index_terms_include_the_words_inside_a_long_word(segmenter: search.Segmenter) -> None:
    segmenter.add_words(["城镇职工基本养老保险"])
    terms = segmenter.terms("城镇职工基本养老保险")
    assert terms[0] == "城镇职工基本养老保险"
    assert {"城镇职工", "养老保险", "养老", "保险"} <= set(terms)


def test_adding_a_word_twice_adds_it_once(segmenter: search.Segmenter) -> None:
    assert segmenter.add_words(["一件事联办", "一件事联办"]) == 1
    assert segmenter.add_words(["一件事联办"]) == 0


# --- pinyin -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "initials"),
    [("出生登记", "csdj"), ("食品经营", "spjy"), ("社会保障卡", "shbzk"), ("银行", "yh")],
)
def test_pinyin_initials(text: str, initials: str) -> None:
    assert search.pinyin_initials(text) == initials


def test_name_pinyin_is_aligned_with_characters_and_words() -> None:
    py = search.name_pinyin(search.normalise("食品经营许可（餐饮服务）"))
    assert py.initials == "spjyxkcyfw"
    assert py.full.startswith("shipinjingyingxuke")
    assert py.char_of[6] == 7  # 餐 follows the bracket
    assert 0 in py.word_starts


def test_typo_variants_are_one_edit_away() -> None:
    variants = search.typo_variants("csdj")
    assert {"sdj", "scdj", "cadj", "csdjj"} <= variants
    assert "csdj" not in variants


# --- synonyms -----------------------------------------------------------------------------------
def test_synonym_file_has_forty_entries_or_more() -> None:
    data = yaml.safe_load(Path(settings.TONGBAN_SEARCH_SYNONYMS).read_text("utf-8"))
    assert len(data["synonyms"]) >= 40


@pytest.mark.parametrize(
    ("phrase", "terms"),
    [
        ("开饭店", {"餐饮", "食品经营许可"}),
        ("开餐馆", {"餐饮", "食品经营许可"}),
        ("生孩子", {"出生登记", "出生医学证明"}),
        ("生娃", {"出生登记", "出生医学证明"}),
        ("新生儿", {"出生登记"}),
        ("上户口", {"户口登记", "户籍"}),
        ("开公司", {"企业开办", "营业执照", "设立登记"}),
        ("办执照", {"营业执照"}),
        ("买房过户", {"不动产转移登记"}),
        ("退休", {"养老保险待遇", "退休"}),
        ("结婚", {"婚姻登记"}),
        ("残疾补贴", {"残疾人两项补贴"}),
    ],
)
def test_synonyms_map_everyday_words_to_catalog_terms(phrase: str, terms: set[str]) -> None:
    assert terms <= set(search.load_synonyms()[phrase])


def test_missing_synonym_file_means_no_synonyms(tmp_path: Path) -> None:
    assert search.load_synonyms(tmp_path / "absent.yaml") == {}


def test_malformed_synonym_entry_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "synonyms.yaml"
    path.write_text("synonyms:\n  - phrases: 开饭店\n    terms: [餐饮]\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"synonyms\[0\]"):
        search.load_synonyms(path)


def _tiny_index() -> search.SearchIndex:
    entries = [
        search.CatalogEntry(
            code="A", name="出生登记", department_name="公安局", department_division="330100"
        )
    ]
    return search.index_entries(entries, {}, synonyms=search.load_synonyms())


def test_query_analysis_drops_how_people_ask() -> None:
    query = _tiny_index().analyse("我想开饭店怎么办")
    assert [c.label for c in query.clauses] == ["开饭店"]


def test_query_analysis_finds_each_colloquial_phrase_once() -> None:
    query = _tiny_index().analyse("生孩子了上户口")
    assert [c.label for c in query.clauses] == ["生孩子", "上户口"]


def test_unknown_characters_are_searched_as_one_word() -> None:
    query = _tiny_index().analyse("量子隧穿申报")
    assert [c.label for c in query.clauses] == ["量子", "隧穿", "申报"]


def test_letters_are_also_read_as_pinyin() -> None:
    assert _tiny_index().analyse("CS DJ").pinyin == "csdj"


# --- relevance on the sample catalog (no database) ----------------------------------------------
def _sample_entries() -> tuple[list[search.CatalogEntry], dict[str, str | None]]:
    documents = [
        CatalogDocument.model_validate(yaml.safe_load(p.read_text(encoding="utf-8")))
        for p in catalog_paths()
    ]
    departments = {d.code: d for doc in documents for d in doc.departments}
    parents = {d.code: d.parent for doc in documents for d in doc.divisions}
    implemented: dict[str, list[str]] = {}
    for doc in documents:
        for impl in doc.implementations:
            implemented.setdefault(impl.item, []).append(impl.division)
    entries = [
        search.CatalogEntry(
            code=item.code,
            name=item.name,
            department_name=departments[item.department].name,
            department_division=departments[item.department].division,
            item_type=item.type,
            keywords=tuple(item.keywords),
            themes=tuple(item.themes),
            result_name=item.result_name,
            applicant_types=tuple(item.applicant_types),
            popularity=item.popularity,
            implemented_in=tuple(implemented.get(item.code, ())),
            materials=tuple(m.name for m in item.materials),
        )
        for doc in documents
        for item in doc.items
    ]
    return entries, parents


@pytest.fixture(scope="module")
def sample_index() -> search.SearchIndex:
    entries, parents = _sample_entries()
    return search.index_entries(entries, parents)


# (query, expected item code suffix, best rank it must reach)
SAMPLE_RELEVANCE = [
    # colloquial phrasing and synonyms
    ("开饭店", "food-business-licence", 1),
    ("我想开饭店怎么办", "food-business-licence", 1),
    ("开餐馆", "food-business-licence", 1),
    ("生孩子", "birth-registration", 3),
    ("生孩子", "birth-medical-certificate", 3),
    ("生娃了上户口", "birth-registration", 1),
    ("上户口", "birth-registration", 1),
    ("开公司", "company-registration", 1),
    ("办执照", "company-registration", 1),
    ("买房过户", "real-estate-transfer", 1),
    ("退休", "retirement-pension", 1),
    ("结婚", "marriage-registration", 1),
    ("残疾补贴", "disability-subsidies", 1),
    ("提公积金", "housing-fund-withdrawal", 1),
    ("异地看病", "out-of-area-medical-filing", 1),
    ("低保", "minimum-living-allowance", 1),
    ("孩子上学", "primary-school-enrolment", 1),
    ("开养老院", "elderly-care-institution-filing", 1),
    ("刻章", "seal-engraving-filing", 1),
    ("开发票", "new-taxpayer-invoices", 1),
    ("无犯罪证明", "no-criminal-record-certificate", 1),
    ("上班受伤", "work-injury-recognition", 1),
    ("老人补贴", "senior-allowance", 1),
    ("开超市", "prepackaged-food-filing", 1),
    ("公司不开了", "simplified-deregistration", 1),
    ("开理发店", "public-place-hygiene-licence", 1),
    ("家人去世", "death-deregistration", 3),
    ("办残疾证", "disability-card", 1),
    # catalog words
    ("出生登记", "birth-registration", 1),
    ("我要办出生登记", "birth-registration", 1),
    ("食品经营许可", "food-business-licence", 1),
    ("营业执照", "company-registration", 3),
    ("个体户", "individual-business-registration", 1),
    ("施工许可证", "construction-permit", 1),
    ("夜间施工", "night-construction-permit", 1),
    ("环评", "eia-approval", 1),
    ("契税", "deed-tax-declaration", 1),
    ("四六级", "cet-score-query", 1),
    ("新生儿医保", "resident-medical-insurance-enrolment", 1),
    ("社保卡", "social-security-card", 1),
    ("公积金", "housing-fund-withdrawal", 2),
    # pinyin initials, full pinyin, typos
    ("csdj", "birth-registration", 1),
    ("cssdj", "birth-registration", 1),
    ("spjy", "food-business-licence", 1),
    ("shipinjingying", "food-business-licence", 1),
    ("sbk", "social-security-card", 1),
    ("zfgjjtq", "housing-fund-withdrawal", 1),
    ("出生登计", "birth-registration", 1),
]


@pytest.mark.parametrize(("query", "expected", "rank"), SAMPLE_RELEVANCE)
def test_sample_catalog_relevance(
    sample_index: search.SearchIndex, query: str, expected: str, rank: int
) -> None:
    codes = [h.code.rsplit(".", 1)[-1] for h in sample_index.search(query, limit=10)]
    assert expected in codes[:rank], f"{query!r} → {codes[:5]}"


@pytest.mark.parametrize("query", ["量子隧穿申报", "独角兽饲养许可", "xqzvw"])
def test_queries_about_nothing_find_nothing(sample_index: search.SearchIndex, query: str) -> None:
    assert sample_index.search(query) == []


def test_pinyin_hit_highlights_the_matching_characters(sample_index: search.SearchIndex) -> None:
    hit = sample_index.search("spjy", limit=1)[0]
    assert hit.name.startswith("食品经营许可")
    assert hit.highlight == ((0, 4),)
    assert hit.matched_terms == ("食品经营",)


def test_keyword_pinyin_names_the_keyword(sample_index: search.SearchIndex) -> None:
    hit = sample_index.search("sbk", limit=1)[0]
    assert "社保卡" in hit.matched_terms


def test_colloquial_hit_names_the_catalog_terms(sample_index: search.SearchIndex) -> None:
    hit = sample_index.search("开饭店", limit=1)[0]
    assert "餐饮" in hit.matched_terms


# --- through the database: search_items -----------------------------------------------------------
# A small, realistic catalog of a city (杭州市) and a district (西湖区), written straight to the
# database; one item belongs to another city's district (鄞州区) and two are also carried out in
# districts (实施清单), so the division filter has something to filter.
DIVISIONS = [
    ("330000", "浙江省", "province", None),
    ("330100", "杭州市", "city", "330000"),
    ("330106", "西湖区", "district", "330100"),
    ("330106003", "翠苑街道", "street", "330106"),
    ("330200", "宁波市", "city", "330000"),
    ("330212", "鄞州区", "district", "330200"),
]

DEPARTMENTS = [
    ("SCJG", "杭州市市场监督管理局", "330100"),
    ("GAJ", "杭州市公安局", "330100"),
    ("MZJ", "杭州市民政局", "330100"),
    ("RSJ", "杭州市人力资源和社会保障局", "330100"),
    ("WJW", "杭州市卫生健康委员会", "330100"),
    ("GHZY", "杭州市规划和自然资源局", "330100"),
    ("CLJ", "杭州市残疾人联合会", "330100"),
    ("GJJ", "杭州住房公积金管理中心", "330100"),
    ("YBJ", "杭州市医疗保障局", "330100"),
    ("JTYS", "杭州市交通运输局", "330100"),
    ("JYJ", "杭州市教育局", "330100"),
    ("SWJ", "国家税务总局杭州市税务局", "330100"),
    ("XH-SCJG", "杭州市西湖区市场监督管理局", "330106"),
    ("YZ-MZJ", "宁波市鄞州区民政局", "330212"),
]

# fmt: off
# (code, name, department, type, applicants, keywords, themes, result name, popularity)
ITEMS: list[tuple[str, str, str, str, list[str], list[str], list[str], str, int]] = [
    ("SC-001", "食品经营许可（餐饮服务）", "SCJG", "licensing", ["enterprise", "person"],
     ["餐饮", "饭店", "餐馆"], ["开办企业", "准营"], "食品经营许可证", 900),
    ("SC-002", "食品经营许可（预包装食品销售）", "SCJG", "licensing", ["enterprise", "person"],
     ["超市", "便利店"], ["准营"], "食品经营许可证", 400),
    ("SC-003", "食品生产许可", "SCJG", "licensing", ["enterprise"],
     ["食品厂", "生产"], ["准营"], "食品生产许可证", 200),
    ("SC-004", "企业设立登记", "SCJG", "licensing", ["enterprise"],
     ["开公司", "注册公司", "营业执照"], ["开办企业"], "营业执照", 950),
    ("SC-005", "企业变更登记", "SCJG", "licensing", ["enterprise"],
     ["改名", "变更法定代表人"], ["企业变更"], "营业执照", 500),
    ("SC-006", "企业注销登记", "SCJG", "licensing", ["enterprise"],
     ["注销公司"], ["企业注销"], "准予注销登记通知书", 300),
    ("SC-007", "个体工商户设立登记", "XH-SCJG", "licensing", ["person"],
     ["个体户", "开店"], ["开办企业"], "营业执照（个体工商户）", 800),
    ("SC-008", "药品零售企业经营许可", "SCJG", "licensing", ["enterprise"],
     ["药店", "药房"], ["准营"], "药品经营许可证", 150),
    ("SC-009", "营业执照遗失补领", "SCJG", "other_administrative", ["enterprise", "person"],
     ["营业执照丢了"], ["企业变更"], "营业执照", 100),
    ("GA-001", "出生登记", "GAJ", "confirmation", ["person"],
     ["新生儿落户", "报户口"], ["出生", "户籍"], "户口簿", 980),
    ("GA-002", "户口迁移（市内迁移）", "GAJ", "confirmation", ["person"],
     ["迁户口"], ["户籍"], "户口簿", 600),
    ("GA-003", "死亡注销户口", "GAJ", "confirmation", ["person"],
     ["销户"], ["身后事", "户籍"], "", 200),
    ("GA-004", "居民身份证换领", "GAJ", "confirmation", ["person"],
     ["身份证到期"], ["证件"], "居民身份证", 700),
    ("GA-005", "居民身份证挂失补领", "GAJ", "confirmation", ["person"],
     ["身份证丢失"], ["证件"], "居民身份证", 400),
    ("GA-006", "机动车驾驶证期满换证", "GAJ", "confirmation", ["person"],
     ["驾驶证到期"], ["交通出行"], "机动车驾驶证", 500),
    ("GA-007", "电动自行车登记", "GAJ", "confirmation", ["person"],
     ["电瓶车"], ["交通出行"], "电动自行车号牌", 650),
    ("GA-008", "无犯罪记录证明开具", "GAJ", "public_service", ["person"],
     ["无犯罪证明"], ["证明"], "无犯罪记录证明", 450),
    ("WJ-001", "《出生医学证明》首次签发", "WJW", "public_service", ["person"],
     ["出生证"], ["出生"], "出生医学证明", 850),
    ("WJ-002", "公共场所卫生许可", "WJW", "licensing", ["enterprise", "person"],
     ["宾馆", "理发店", "美容院"], ["准营"], "公共场所卫生许可证", 300),
    ("WJ-003", "医疗机构执业登记", "WJW", "licensing", ["enterprise"],
     ["诊所", "医院"], ["准营"], "医疗机构执业许可证", 100),
    ("MZ-001", "内地居民婚姻登记", "MZJ", "confirmation", ["person"],
     ["结婚登记", "离婚登记"], ["婚育"], "结婚证", 800),
    ("MZ-002", "补领婚姻登记证", "MZJ", "confirmation", ["person"],
     ["结婚证遗失"], ["婚育"], "结婚证", 150),
    ("MZ-003", "最低生活保障对象认定", "MZJ", "payment", ["person"],
     ["低保"], ["社会救助"], "", 500),
    ("MZ-004", "养老机构备案", "MZJ", "filing", ["enterprise"],
     ["养老院"], ["养老服务"], "备案回执", 60),
    ("MZ-005", "高龄津贴发放", "YZ-MZJ", "payment", ["person"],
     ["老年人补贴"], ["养老服务"], "", 300),
    ("CL-001", "残疾人两项补贴申请", "CLJ", "payment", ["person"],
     ["困难残疾人生活补贴", "重度残疾人护理补贴"], ["社会救助", "残疾人服务"], "", 600),
    ("CL-002", "残疾人证办理", "CLJ", "confirmation", ["person"],
     ["残疾人证"], ["残疾人服务"], "中华人民共和国残疾人证", 400),
    ("RS-001", "城镇职工基本养老保险待遇申领", "RSJ", "payment", ["person"],
     ["退休", "养老金"], ["退休"], "", 900),
    ("RS-002", "失业保险金申领", "RSJ", "payment", ["person"],
     ["失业金"], ["就业创业"], "", 600),
    ("RS-003", "社会保障卡申领", "RSJ", "public_service", ["person"],
     ["社保卡"], ["社保"], "社会保障卡", 750),
    ("RS-004", "工伤认定申请", "RSJ", "confirmation", ["person", "enterprise"],
     ["工伤"], ["社保"], "认定工伤决定书", 250),
    ("RS-005", "一次性吸纳就业补贴申领", "RSJ", "payment", ["enterprise"],
     ["招用补贴"], ["就业创业"], "", 200),
    ("RS-006", "劳务派遣经营许可", "RSJ", "licensing", ["enterprise"],
     ["劳务派遣"], ["准营"], "劳务派遣经营许可证", 80),
    ("YB-001", "异地就医备案", "YBJ", "public_service", ["person"],
     ["异地就医", "外地看病"], ["医保"], "", 700),
    ("YB-002", "生育津贴申领", "YBJ", "payment", ["person"],
     ["生育保险"], ["婚育"], "", 400),
    ("GH-001", "不动产转移登记", "GHZY", "confirmation", ["person", "enterprise"],
     ["过户", "二手房"], ["不动产"], "不动产权证书", 850),
    ("GH-002", "不动产抵押登记", "GHZY", "confirmation", ["person", "enterprise"],
     ["抵押"], ["不动产"], "不动产登记证明", 500),
    ("GH-003", "不动产首次登记", "GHZY", "confirmation", ["person", "enterprise"],
     ["新房"], ["不动产"], "不动产权证书", 400),
    ("GH-004", "建设工程规划许可证核发", "GHZY", "licensing", ["enterprise"],
     ["规划许可"], ["工程建设"], "建设工程规划许可证", 120),
    ("GJ-001", "住房公积金提取", "GJJ", "public_service", ["person"],
     ["公积金提取", "取公积金"], ["住房"], "", 880),
    ("GJ-002", "住房公积金贷款", "GJJ", "public_service", ["person"],
     ["公积金贷款"], ["住房"], "", 500),
    ("JT-001", "道路货物运输经营许可", "JTYS", "licensing", ["enterprise"],
     ["货运", "运输"], ["准营"], "道路运输经营许可证", 150),
    ("JY-001", "义务教育阶段新生入学", "JYJ", "public_service", ["person"],
     ["入学报名"], ["教育"], "", 820),
    ("SW-001", "发票领用", "SWJ", "other_administrative", ["enterprise"],
     ["领发票"], ["税费"], "", 600),
]
# fmt: on

# Items also carried out in districts (实施清单), for the division filter.
IMPLEMENTED_IN = {"SC-001": ["330106"], "GA-001": ["330106", "330212"]}


def make_catalog() -> None:
    divisions: dict[str, Division] = {}
    for code, name, level, parent in DIVISIONS:
        divisions[code] = Division.objects.create(
            code=code, name=name, level=level, parent=divisions.get(parent) if parent else None
        )
    departments = {
        code: Department.objects.create(
            code=code, name=name, short_name=name[:8], division=divisions[division]
        )
        for code, name, division in DEPARTMENTS
    }
    for code, name, dept, kind, applicants, keywords, themes, result, popularity in ITEMS:
        item = Item.objects.create(code=code)
        version = ItemVersion.objects.create(
            item=item,
            number=1,
            content_hash=code,
            name=name,
            item_type=kind,
            department=departments[dept],
            legal_basis="示例",
            acceptance_conditions="示例",
            promised_limit_days=5,
            fee="不收费",
            result_kind="document",
            result_name=result,
            handling_mode="promised",
            online_depth=3,
            required_trips=1,
            applicant_types=applicants,
            keywords=keywords,
            themes=themes,
            popularity=popularity,
        )
        item.current_version = version
        item.save(update_fields=["current_version"])
        for division in IMPLEMENTED_IN.get(code, []):
            Implementation.objects.create(item=item, division=divisions[division])
    bump_revision()


def bump_revision() -> int:
    revision, _ = CatalogRevision.objects.get_or_create(pk=1)
    CatalogRevision.objects.filter(pk=1).update(number=F("number") + 1)
    revision.refresh_from_db()
    return revision.number


@pytest.fixture
def catalog(db: None) -> None:
    make_catalog()


def codes(
    query: str, division_code: str | None = None, applicant_type: str | None = None
) -> list[str]:
    hits = search.search_items(query, division_code=division_code, applicant_type=applicant_type)
    return [h.code for h in hits]


FIXTURE_RELEVANCE = [
    ("开饭店", "SC-001"),
    ("生娃了上户口", "GA-001"),
    ("开公司", "SC-004"),
    ("买房过户", "GH-001"),
    ("退休", "RS-001"),
    ("结婚", "MZ-001"),
    ("残疾补贴", "CL-001"),
    ("驾照", "GA-006"),
    ("电动车上牌", "GA-007"),
    ("cssdj", "GA-001"),
    ("spjy", "SC-001"),
    ("GA-004", "GA-004"),
    ("ga-004", "GA-004"),
]


@pytest.mark.parametrize(("query", "expected"), FIXTURE_RELEVANCE)
def test_search_items_ranks_the_expected_item_first(
    catalog: None, query: str, expected: str
) -> None:
    assert codes(query)[:1] == [expected]


@pytest.mark.parametrize("query", ["", "   ", "\t\n"])
def test_empty_query_finds_nothing_without_touching_the_database(
    catalog: None, django_assert_num_queries: object, query: str
) -> None:
    with django_assert_num_queries(0):  # type: ignore[operator]
        assert search.search_items(query) == []


def test_hit_carries_name_department_terms_and_highlight(catalog: None) -> None:
    hit = search.search_items("出生登记")[0]
    assert (hit.code, hit.name, hit.department_name) == ("GA-001", "出生登记", "杭州市公安局")
    assert "出生登记" in hit.matched_terms
    assert hit.highlight == ((0, 4),)
    assert hit.score > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.score = 0  # type: ignore[misc]


def test_limit_caps_the_results(catalog: None) -> None:
    assert len(search.search_items("登记", limit=3)) == 3


def test_a_search_costs_one_query_once_the_index_is_built(
    catalog: None, django_assert_num_queries: object
) -> None:
    search.search_items("出生登记")
    with django_assert_num_queries(1):  # type: ignore[operator]
        search.search_items("结婚")


def test_no_query_at_all_within_the_check_interval(
    catalog: None, settings: object, django_assert_num_queries: object
) -> None:
    settings.TONGBAN_SEARCH_REFRESH_MS = 60_000  # type: ignore[attr-defined]
    search.search_items("出生登记")
    with django_assert_num_queries(0):  # type: ignore[operator]
        search.search_items("结婚")


def _rename(code: str, number: int, name: str) -> ItemVersion:
    item = Item.objects.get(code=code)
    current = item.current_version
    assert current is not None
    current.pk = None
    current.number = number
    current.name = name
    current.save()
    item.current_version = current
    item.save(update_fields=["current_version"])
    return current


def test_index_refreshes_when_the_catalog_revision_changes(catalog: None) -> None:
    first = _rename("GA-004", 2, "居民身份证换领（新版）")
    bump_revision()
    _rename("GA-004", 3, "居民身份证换领（第三版）")
    bump_revision()
    assert "居民身份证换领（第三版）" in [h.name for h in search.search_items("身份证换领")]
    # back to an earlier version: no new version row, only the revision tells
    Item.objects.filter(code="GA-004").update(current_version=first)
    names = [h.name for h in search.search_items("身份证换领")]
    assert "居民身份证换领（第三版）" in names
    bump_revision()
    names = [h.name for h in search.search_items("身份证换领")]
    assert "居民身份证换领（新版）" in names
    assert "居民身份证换领（第三版）" not in names


def test_index_notices_a_new_version_without_an_import(catalog: None) -> None:
    search.search_items("出生登记")
    _rename("GA-002", 2, "户口迁移（跨省通办）")
    assert "GA-002" in codes("跨省通办")


def test_stale_index_is_served_within_the_check_interval(catalog: None, settings: object) -> None:
    settings.TONGBAN_SEARCH_REFRESH_MS = 60_000  # type: ignore[attr-defined]
    search.search_items("出生登记")
    _rename("GA-002", 2, "户口迁移（跨省通办）")
    bump_revision()
    assert "GA-002" not in codes("跨省通办")
    search.reset_index()
    assert "GA-002" in codes("跨省通办")


def test_division_filter_keeps_items_of_the_division_and_its_ancestors(catalog: None) -> None:
    assert "MZ-005" in codes("高龄津贴", division_code="330212")  # 鄞州区's own item
    assert "MZ-005" not in codes("高龄津贴", division_code="330106")  # another district
    assert "GA-001" in codes("出生登记", division_code="330106003")  # street under 西湖区
    assert "GA-001" in codes("出生登记", division_code="330212")  # implemented there


def test_division_filter_does_not_reach_down_to_descendants(catalog: None) -> None:
    # 出生登记 is a 杭州 item also carried out in 鄞州区, but that does not make it 宁波's
    assert "GA-001" not in codes("出生登记", division_code="330200")


def test_unknown_division_code_falls_back_to_its_gbt2260_ancestors(catalog: None) -> None:
    assert "GA-001" in codes("出生登记", division_code="330199")
    assert codes("出生登记", division_code="440100") == []


def test_applicant_type_filter(catalog: None) -> None:
    enterprise = codes("登记", applicant_type="enterprise")
    assert "SC-004" in enterprise
    assert "GA-001" not in enterprise
    person = codes("登记", applicant_type="person")
    assert "GA-001" in person
    assert "SC-004" not in person


def test_materials_are_searched_too(catalog: None) -> None:
    version = Item.objects.get(code="MZ-003").current_version
    Material.objects.create(
        version=version,
        order=0,
        key="proof",
        name="家庭经济状况核对授权书",
        source="applicant",
        requirement="required",
        formats=["pdf"],
    )
    bump_revision()
    assert codes("经济状况核对")[:1] == ["MZ-003"]


# --- concurrency (no database: the builder is replaced) ---------------------------------------------
def test_concurrent_searches_share_one_build_per_revision(monkeypatch: pytest.MonkeyPatch) -> None:
    revision = [1]
    builds: list[tuple[int, str, int]] = []
    entries = [
        search.CatalogEntry(
            code="GA-001", name="出生登记", department_name="公安局", department_division="330100"
        )
    ]

    def slow_build(fingerprint: tuple[int, str, int] | None = None) -> search.SearchIndex:
        assert fingerprint is not None
        builds.append(fingerprint)
        revision[0] = 2  # the catalog changes while the first index is being built
        time.sleep(0.05)
        return search.index_entries(entries, {}, synonyms={}, fingerprint=fingerprint)

    monkeypatch.setattr(search, "_fingerprint", lambda: (revision[0], "", 1))
    monkeypatch.setattr(search, "build_index", slow_build)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                results.append([h.code for h in search.search_items("出生登记")])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(r == ["GA-001"] for r in results)
    assert len(results) == 40
    assert [b[0] for b in builds] == [1, 2]


def test_background_rebuild_keeps_serving_the_previous_index(
    monkeypatch: pytest.MonkeyPatch, settings: object
) -> None:
    settings.TONGBAN_SEARCH_BACKGROUND_REBUILD = True  # type: ignore[attr-defined]
    revision = [1]
    names = {1: "出生登记", 2: "出生登记（新生儿入户）"}
    release = threading.Event()

    def build(fingerprint: tuple[int, str, int] | None = None) -> search.SearchIndex:
        assert fingerprint is not None
        if fingerprint[0] == 2:
            assert release.wait(5)
        entry = search.CatalogEntry(
            code="GA-001",
            name=names[fingerprint[0]],
            department_name="公安局",
            department_division="330100",
        )
        return search.index_entries([entry], {}, synonyms={}, fingerprint=fingerprint)

    monkeypatch.setattr(search, "_fingerprint", lambda: (revision[0], "", 1))
    monkeypatch.setattr(search, "build_index", build)
    assert search.search_items("出生登记")[0].name == "出生登记"  # first build: in this thread
    revision[0] = 2
    assert search.search_items("出生登记")[0].name == "出生登记"  # stale, not waiting
    release.set()
    deadline = time.monotonic() + 5
    while search.get_index().fingerprint[0] != 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert search.search_items("出生登记")[0].name == "出生登记（新生儿入户）"

"""A deterministic, realistic synthetic catalog for benchmarks: departments × objects × actions.

Names are built the way real 事项 names are (``道路运输经营许可（变更）``, ``特种设备使用登记``,
``残疾人两项补贴申领（跨省通办）``): each department has its own objects, item types and
keywords; actions and qualifiers are shared. The same seed always gives the same catalog. Items
are written with ``bulk_create`` (Item, ItemVersion, Implementation) into whatever database is
current — benchmarks call this inside their throw-away database only — and the catalog revision
is bumped like an import does.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from tongban.bench.base import seeded_random
from tongban.catalog.models import CatalogRevision, Implementation, Item, ItemVersion
from tongban.identity.models import Department, Division


@dataclass(frozen=True)
class DepartmentSpec:
    code: str
    name: str
    item_type: str
    applicants: tuple[str, ...]
    objects: tuple[str, ...]
    actions: tuple[str, ...]
    keywords: tuple[str, ...]
    themes: tuple[str, ...]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


LICENCE_ACTIONS = _words(
    "许可 许可（新办） 许可（变更） 许可（延续） 许可（注销） 许可证补领 许可证核发"
)
REGISTRATION_ACTIONS = _words("登记 变更登记 注销登记 备案 备案变更 证明开具 信息查询 资格认定")
PAYMENT_ACTIONS = _words("申领 补贴申领 待遇申领 资格认定 发放 标准调整 停发 恢复发放")
QUALIFIERS = (
    "",
    *_words("（个人） （单位） （跨省通办） （告知承诺制） （首次申请） （延续） （线上）"),
)

# (code, department, item type, applicants, objects, actions, keywords, themes)
# fmt: off
DEPARTMENTS: tuple[DepartmentSpec, ...] = (
    DepartmentSpec(
        "SCJG", "市场监督管理局", "licensing", ("enterprise", "person"),
        _words("食品经营 食品生产 特种设备使用 计量器具型式批准 工业产品生产 医疗器械经营 化妆品生产 药品零售 食品小作坊 网络餐饮服务 广告发布 检验检测机构资质 企业名称 个体工商户 农民专业合作社 股权出质 动产抵押"),
        (*LICENCE_ACTIONS, *_words("登记 变更登记 注销登记 备案")),
        _words("开饭店 开超市 营业执照 开公司 办执照"), _words("开办企业 准营"),
    ),
    DepartmentSpec(
        "GAJ", "公安局", "confirmation", ("person",),
        _words("户口 出生 居民身份证 居住证 机动车 机动车驾驶证 电动自行车 犬只 出入境证件 往来港澳通行证 无犯罪记录证明 暂住 枪支持有 剧毒化学品购买"),
        (*REGISTRATION_ACTIONS, *_words("换领 补领 迁移 注销")),
        _words("上户口 办身份证 驾照 电动车上牌"), _words("户籍 证件 交通出行"),
    ),
    DepartmentSpec(
        "MZJ", "民政局", "confirmation", ("person",),
        _words("婚姻 收养 最低生活保障 特困人员供养 临时救助 养老机构 社会团体 民办非企业单位 基金会 殡葬服务 地名命名 慈善组织 高龄津贴 困境儿童"),
        (*REGISTRATION_ACTIONS, *_words("申领 补贴申领 待遇申领 资格认定")),
        _words("结婚 低保 养老院 老人补贴"), _words("婚育 社会救助 养老服务"),
    ),
    DepartmentSpec(
        "RSJ", "人力资源和社会保障局", "payment", ("person", "enterprise"),
        _words("城镇职工基本养老保险 失业保险 工伤保险 职业技能鉴定 就业失业 社会保障卡 人力资源服务 劳务派遣经营 职业培训 一次性吸纳就业补贴 创业担保贷款 技能人才评价 专业技术人员职称 养老保险关系转移 企业年金"),
        (*PAYMENT_ACTIONS, *_words("登记 关系转移 参保登记")),
        _words("退休 失业金 社保卡 交社保"), _words("社保 就业创业 退休"),
    ),
    DepartmentSpec(
        "WJW", "卫生健康委员会", "licensing", ("enterprise", "person"),
        _words("出生医学证明 医疗机构执业 医师执业 护士执业 公共场所卫生 放射诊疗 母婴保健技术服务 生活饮用水卫生 计划生育奖励扶助 独生子女父母奖励 消毒产品生产"),
        (*LICENCE_ACTIONS, *_words("签发 补发 注册 变更注册")),
        _words("生孩子 开诊所 开理发店"), _words("出生 准营 卫生健康"),
    ),
    DepartmentSpec(
        "GHZY", "规划和自然资源局", "confirmation", ("person", "enterprise"),
        _words("不动产首次 不动产转移 不动产抵押 不动产变更 预告 查封 建设用地规划 建设工程规划 乡村建设规划 临时用地 采矿权 探矿权 测绘资质 地质灾害危险性评估"),
        _words("登记 登记（一般） 登记（预告） 许可 许可证核发 许可（变更） 注销登记 更正登记 异议登记"),
        _words("买房过户 房产证 宅基地"), _words("不动产 工程建设"),
    ),
    DepartmentSpec(
        "ZJJ", "住房和城乡建设局", "licensing", ("enterprise",),
        _words("建筑工程施工 建筑业企业资质 房地产开发企业资质 商品房预售 城市建筑垃圾处置 燃气经营 城镇污水排入排水管网 物业服务 白蚁防治 建设工程消防验收 房屋租赁"),
        (*LICENCE_ACTIONS, *_words("备案 核准")),
        _words("盖厂房 开工 排污水"), _words("工程建设 住房"),
    ),
    DepartmentSpec(
        "JTYS", "交通运输局", "licensing", ("enterprise", "person"),
        _words("道路运输经营 道路货物运输 道路旅客运输 网络预约出租汽车经营 出租汽车驾驶员 机动车维修经营 驾驶员培训 超限运输车辆行驶公路 港口经营 船舶营运 公路建设项目施工"),
        (*LICENCE_ACTIONS, *_words("从业资格 备案")),
        _words("拉货 网约车 跑运输"), _words("交通出行 准营"),
    ),
    DepartmentSpec(
        "STHJ", "生态环境局", "licensing", ("enterprise",),
        _words("排污 建设项目环境影响评价 危险废物经营 辐射安全 放射性同位素转让 固体废物跨省转移 突发环境事件应急预案 环境影响登记表"),
        (*LICENCE_ACTIONS, *_words("审批 备案")),
        _words("排污 环评"), _words("生态环境"),
    ),
    DepartmentSpec(
        "SWJ", "税务局", "other_administrative", ("enterprise", "person"),
        _words("发票 纳税申报 增值税一般纳税人 税务注销 跨区域涉税事项 出口退税 个人所得税汇算 契税 车船税 房产税 完税证明 税收优惠"),
        _words("领用 申报 登记 备案 开具 办理 核定 退抵 代开 确认"),
        _words("开发票 报税 交税"), _words("税费"),
    ),
    DepartmentSpec(
        "YBJ", "医疗保障局", "public_service", ("person",),
        _words("异地就医 生育津贴 门诊慢特病 医疗费用 城乡居民医保 职工医保 医保关系转移 定点医药机构 长期护理保险 医疗救助"),
        _words("备案 申领 报销 参保登记 待遇认定 资格认定 变更 终止"),
        _words("异地看病 医保报销 生育报销"), _words("医保"),
    ),
    DepartmentSpec(
        "CLJ", "残疾人联合会", "payment", ("person",),
        _words("残疾人两项补贴 困难残疾人生活补贴 重度残疾人护理补贴 残疾人证 残疾人辅助器具 残疾儿童康复救助 残疾人就业保障金 无障碍改造"),
        (*PAYMENT_ACTIONS, *_words("办理 换领 迁移")),
        _words("残疾补贴 残疾证"), _words("残疾人服务 社会救助"),
    ),
    DepartmentSpec(
        "GJJ", "住房公积金管理中心", "public_service", ("person", "enterprise"),
        _words("住房公积金 公积金贷款 公积金缴存 公积金个人账户 异地转移接续 缴存基数"),
        _words("提取 申请 登记 变更 封存 启封 调整 证明开具 还款"),
        _words("提公积金 公积金贷款"), _words("住房"),
    ),
    DepartmentSpec(
        "JYJ", "教育局", "public_service", ("person", "enterprise"),
        _words("义务教育新生 民办学校 教师资格 学生资助 校外培训机构 转学 幼儿园 中等职业学校 学籍 普通话水平测试"),
        _words("入学 设立 认定 申请 备案 审批 变更 证明开具"),
        _words("孩子上学 开培训班"), _words("教育"),
    ),
    DepartmentSpec(
        "WGL", "文化广电旅游局", "licensing", ("enterprise",),
        _words("娱乐场所 互联网上网服务营业场所 营业性演出 旅行社 文物保护单位 广播电视节目制作经营 卫星电视广播地面接收设施 艺术品经营 出版物零售"),
        (*LICENCE_ACTIONS, *_words("备案 审批")),
        _words("开网吧 开旅行社"), _words("准营 文化旅游"),
    ),
    DepartmentSpec(
        "NYNC", "农业农村局", "licensing", ("enterprise", "person"),
        _words("农药经营 兽药经营 种子生产经营 动物防疫条件 渔业捕捞 拖拉机和联合收割机 农村宅基地 生猪定点屠宰 农作物种子 水产苗种生产"),
        (*LICENCE_ACTIONS, *_words("登记 审批")),
        _words("打鱼 卖农药 宅基地"), _words("农业农村"),
    ),
    DepartmentSpec(
        "YJGL", "应急管理局", "licensing", ("enterprise",),
        _words("危险化学品经营 烟花爆竹经营 安全生产 非药品类易制毒化学品 生产安全事故应急预案 特种作业操作证"),
        (*LICENCE_ACTIONS, *_words("备案")),
        _words("卖烟花 危化品"), _words("安全生产"),
    ),
    DepartmentSpec(
        "TYJ", "退役军人事务局", "payment", ("person",),
        _words("退役士兵 优抚对象 伤残抚恤 烈士褒扬 军人军属 退役军人就业创业"),
        (*PAYMENT_ACTIONS, *_words("认定 登记 移交")),
        _words("退伍 当兵"), _words("退役军人服务"),
    ),
    DepartmentSpec(
        "CGJ", "城市管理局", "licensing", ("enterprise", "person"),
        _words("城市道路占用 户外广告设施设置 城市生活垃圾经营性清扫 城市绿地占用 城市树木砍伐 临时占道经营 建筑垃圾运输"),
        (*LICENCE_ACTIONS, *_words("审批 备案")),
        _words("占道 砍树 挂广告"), _words("城市管理"),
    ),
    DepartmentSpec(
        "SFJ", "司法局", "public_service", ("person", "enterprise"),
        _words("法律援助 公证 律师执业 人民调解 司法鉴定 基层法律服务工作者执业"),
        _words("申请 办理 核准 变更 注销 备案 证明开具"),
        _words("打官司 请律师"), _words("法律服务"),
    ),
)
# fmt: on

DISTRICTS = (
    ("330102", "上城区"),
    ("330105", "拱墅区"),
    ("330106", "西湖区"),
    ("330108", "滨江区"),
    ("330109", "萧山区"),
    ("330110", "余杭区"),
)


def _names(seed: int) -> Iterator[tuple[DepartmentSpec, str]]:
    """Every (department, name) combination once, in a seeded order."""
    combos: list[tuple[DepartmentSpec, str]] = []
    seen: set[str] = set()
    for spec in DEPARTMENTS:
        for obj, action, qualifier in itertools.product(spec.objects, spec.actions, QUALIFIERS):
            name = f"{obj}{action}{qualifier}"
            if name not in seen:
                seen.add(name)
                combos.append((spec, name))
    rng = seeded_random(seed)
    rng.shuffle(combos)
    # plain names (no qualifier) first, so a small catalog still looks like a real one
    combos.sort(key=lambda c: c[1].endswith("）") and "（" in c[1][-7:])
    yield from combos


def max_items() -> int:
    return sum(1 for _ in _names(0))


@dataclass(frozen=True)
class GeneratedCatalog:
    items: int
    departments: int
    implementations: int
    names: tuple[str, ...]


def _division(code: str, name: str, level: str, parent: Division | None) -> Division:
    division, _ = Division.objects.get_or_create(
        code=code, defaults={"name": name, "level": level, "parent": parent}
    )
    return division


@transaction.atomic
def generate_catalog(
    count: int, *, seed: int = 20261123, prefix: str = "BENCH"
) -> GeneratedCatalog:
    """Write ``count`` items (current version 1 each) with departments and implementations."""
    rng = seeded_random(seed)
    province = _division("330000", "浙江省", "province", None)
    city = _division("330100", "杭州市", "city", province)
    districts = [_division(code, name, "district", city) for code, name in DISTRICTS]
    departments: dict[str, Department] = {}
    for spec in DEPARTMENTS:
        departments[spec.code], _ = Department.objects.get_or_create(
            code=f"{prefix}-{spec.code}",
            defaults={"name": f"杭州市{spec.name}", "short_name": spec.name[:8], "division": city},
        )
    chosen = list(itertools.islice(_names(seed), count))
    if len(chosen) < count:
        raise ValueError(f"the generator makes at most {len(chosen)} distinct items")
    items = Item.objects.bulk_create(
        [Item(code=f"{prefix}-{n:05d}") for n in range(len(chosen))], batch_size=1000
    )
    versions = []
    for item, (spec, name) in zip(items, chosen, strict=True):
        popularity = int(1000 * rng.paretovariate(1.2)) % 5000 if rng.random() < 0.6 else 0
        keywords = rng.sample(spec.keywords, k=min(len(spec.keywords), rng.randint(0, 2)))
        versions.append(
            ItemVersion(
                item=item,
                number=1,
                content_hash=hashlib.sha256(name.encode()).hexdigest(),
                name=name,
                item_type=spec.item_type,
                department=departments[spec.code],
                legal_basis="示例数据（基准测试生成）",
                acceptance_conditions="示例数据（基准测试生成）",
                statutory_limit_days=20,
                promised_limit_days=rng.choice((1, 3, 5, 10)),
                fee="不收费",
                result_kind="document",
                result_name=name if "许可" in name else "",
                handling_mode=rng.choice(("immediate", "promised")),
                online_depth=rng.choice((3, 4)),
                required_trips=rng.choice((0, 1)),
                applicant_types=list(spec.applicants),
                keywords=keywords,
                themes=list(spec.themes[: rng.randint(1, len(spec.themes))]),
                popularity=popularity,
                sample_note="基准测试生成的示例事项",
            )
        )
    ItemVersion.objects.bulk_create(versions, batch_size=1000)
    for item, version in zip(items, versions, strict=True):
        item.current_version = version
    Item.objects.bulk_update(items, ["current_version"], batch_size=1000)
    implementations = [
        Implementation(item=item, division=district)
        for item in items
        for district in rng.sample(districts, k=rng.choice((0, 0, 1, 2, 3)))
    ]
    Implementation.objects.bulk_create(implementations, batch_size=1000)
    bump_revision()
    return GeneratedCatalog(
        items=len(items),
        departments=len(departments),
        implementations=len(implementations),
        names=tuple(name for _, name in chosen),
    )


def bump_revision() -> int:
    """Bump ``CatalogRevision`` the way a catalog import does (search indexes refresh)."""
    CatalogRevision.objects.get_or_create(pk=1)
    CatalogRevision.objects.filter(pk=1).update(number=F("number") + 1)
    return int(CatalogRevision.objects.values_list("number", flat=True).get(pk=1))

"""A small catalog written as YAML text, shared by the catalog tests."""

from __future__ import annotations

from pathlib import Path

BODIES = """\
schema: tongban-catalog/1
divisions:
  - {code: "330000", name: 浙江省, level: province}
  - {code: "330100", name: 杭州市, level: city, parent: "330000"}
  - {code: "330106", name: 西湖区, level: district, parent: "330100"}
  - {code: "330106001", name: 北山街道, level: street, parent: "330106"}
departments:
  - {code: 3301-SCJG, name: 杭州市市场监督管理局, short_name: 市场监管局, division: "330100"}
  - {code: 330106-SCJG, name: 西湖区市场监督管理局, division: "330106"}
  - {code: 3301-GA, name: 杭州市公安局, division: "330100"}
service_centres:
  - code: XH-ZWZX
    name: 西湖区政务服务中心
    division: "330106"
    windows:
      - {number: "1", name: 综合受理窗口, kind: general, departments: [330106-SCJG, 3301-GA]}
data_elements:
  - {code: id_number, name: 身份证号, type: text, validator: id_number}
  - {code: person_name, name: 姓名, type: text, max_length: 64}
  - {code: area, name: 面积, type: decimal}
"""

FOOD = """\
schema: tongban-catalog/1
items:
  - code: SC-FOOD-001
    name: 食品经营许可（餐饮服务）
    type: licensing
    department: 3301-SCJG
    legal_basis: 《中华人民共和国食品安全法》第三十五条
    acceptance_conditions: 有与经营食品品种、数量相适应的经营场所
    statutory_limit_days: 20
    promised_limit_days: 10
    result: licence
    result_name: 食品经营许可证
    result_licence_type: LT-FOOD-BUSINESS
    applicant_types: [enterprise, person]
    allows_commitment: true
    keywords: [开饭店, 餐馆]
    extension_max_days: 10
    review_stages:
      - name: 材料审查
        tasks:
          - {department: 3301-SCJG, name: 食品安全审查, limit_days: 3}
          - {department: 3301-GA, name: 消防安全核查, limit_days: 2}
      - name: 现场核查
        tasks:
          - {department: 3301-SCJG, limit_days: 4}
    questions:
      - key: entity
        text: 申请主体类型
        type: choice
        options: [{value: company, label: 企业}, {value: individual, label: 个体工商户}]
      - {key: area, text: 经营场所面积（平方米）, type: number}
      - key: cold
        text: 是否制售冷食类食品
        type: yes_no
        when: {q: area, gt: 0}
      - key: cold_room
        text: 是否设有专间
        type: yes_no
        when: {q: cold, eq: true}
    materials:
      - {key: application, name: 食品经营许可申请书, originals: 1}
      - {key: business_licence, name: 营业执照, source: government, licence_type: LT-BUSINESS-LICENCE, when: {q: entity, eq: company}}
      - {key: id_card, name: 经营者身份证明, source: government, data_source: hukou, when: {q: entity, eq: individual}}
      - {key: layout, name: 经营场所平面布局图, when: {q: area, gt: 300}}
      - {key: cold_process, name: 冷食类食品加工制作流程, when: {q: cold, eq: true}}
      - {key: cold_room_plan, name: 专间设置说明, requirement: tolerable, when: {q: cold_room, eq: true}}
    fields:
      - {key: operator_name, label: 经营者姓名, element: person_name, prefill: identity}
      - {key: operator_id, label: 经营者身份证号, element: id_number, prefill: identity}
      - {key: site_area, label: 经营面积, element: area, when: {q: area, gt: 0}}
implementations:
  - {item: SC-FOOD-001, division: "330106", handling_department: 330106-SCJG, promised_limit_days: 3, service_centre: XH-ZWZX, windows: 1号综合受理窗口}
"""


# 告知承诺 and 容缺: an item that allows both, handled by 3301-SCJG with one review task.
DRAINAGE = """\
schema: tongban-catalog/1
items:
  - code: SW-DRAIN-001
    name: 城镇污水排入排水管网许可
    type: licensing
    department: 3301-SCJG
    legal_basis: 《城镇排水与污水处理条例》第二十一条
    acceptance_conditions: 排水户符合排水管理要求
    statutory_limit_days: 15
    promised_limit_days: 5
    applicant_types: [enterprise, person]
    allows_commitment: true
    allows_tolerance: true
    materials:
      - {key: application, name: 排水许可申请表}
      - {key: drainage_plan, name: 排水管网图, commitment_replaceable: true}
      - {key: water_report, name: 排水水质检测报告, requirement: tolerable, commitment_replaceable: true}
"""


def write_catalog(folder: Path, **files: str) -> list[Path]:
    """Write ``name=text`` pairs as ``name.yaml`` under ``folder``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files.items():
        path = folder / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def sample(folder: Path) -> list[Path]:
    return write_catalog(folder, bodies=BODIES, food=FOOD)

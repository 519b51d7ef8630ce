"""Chinese names for generated places and people: plausible, deterministic, not real persons."""
from __future__ import annotations

import numpy as np

# Public names of sub-districts (街道) per district; districts not listed get generated names.
SUBDISTRICTS = {
    "武侯区": ["机投桥街道", "浆洗街街道", "望江路街道", "玉林街道", "跳伞塔街道", "火车南站街道",
             "簇桥街道", "红牌楼街道", "晋阳街道", "金花桥街道", "簇锦街道", "华兴街道", "芳草街街道"],
    "锦江区": ["督院街街道", "盐市口街道", "春熙路街道", "书院街街道", "合江亭街道", "牛市口街道",
             "龙舟路街道", "双桂路街道", "莲新街道", "沙河街道", "东光街道", "狮子山街道", "成龙路街道"],
    "青羊区": ["太升路街道", "草市街街道", "西御河街道", "汪家拐街道", "少城街道", "府南街道",
             "光华街道", "金沙街道", "黄田坝街道", "苏坡街道", "文家街道", "蔡桥街道"],
    "金牛区": ["西华街道", "荷花池街道", "驷马桥街道", "茶店子街道", "抚琴街道", "西安路街道",
             "营门口街道", "金泉街道", "沙河源街道", "天回镇街道", "凤凰山街道", "九里堤街道", "五块石街道"],
    "成华区": ["万年场街道", "猛追湾街道", "双桥子街道", "府青路街道", "二仙桥街道", "跳蹬河街道",
             "建设路街道", "圣灯街道", "保和街道", "青龙街道", "龙潭街道", "白莲池街道"],
    "郫都区": ["犀浦街道", "郫筒街道", "合作街道", "红光街道", "安靖街道", "团结街道", "德源街道"],
    "双流区": ["东升街道", "西航港街道", "九江街道", "黄甲街道", "彭镇", "黄水镇", "怡心街道"],
    "温江区": ["柳城街道", "公平街道", "天府街道", "涌泉街道", "金马街道", "永宁街道", "万春镇"],
    "崇州市": ["崇阳街道", "羊马街道", "三江街道", "江源街道", "怀远镇", "元通镇"],
}
# Public community names from the domain brief, used first where they belong.
COMMUNITIES = {
    "机投桥街道": ["白佛社区"], "犀浦街道": ["犀和社区", "龙梓社区"],
    "东升街道": ["三义桥社区", "紫东阁社区", "龙桥社区", "双桂社区"],
    "柳城街道": ["大学城社区", "东街社区", "凤溪大道社区", "恒大城社区", "南街社区", "光华社区"],
    "崇阳街道": ["明湖社区"], "万年场街道": ["双福路社区"],
}

_PLACE_A = list("锦桂蜀华兴龙凤祥和安福新盛康泰清金玉银武文永长顺瑞丰青红白石花江河桥林")
_PLACE_B = list("城苑园桥湾坝堰林湖塘坪街路溪港门庄院坊里亭岗")
_ESTATE_A = ["锦绣", "蜀汉", "华润", "金沙", "翡翠", "凯德", "龙湖", "望江", "香榭", "清水", "玉林",
             "红星", "芳草", "紫荆", "银杏", "桂花", "南城", "西城", "东方", "天府", "兴业", "和美",
             "幸福", "康乐", "长寿", "机电", "纺织", "电力", "铁路", "交通"]
_ESTATE_B = ["花园", "小区", "家园", "苑", "院落", "公寓", "新村", "雅居", "名城", "宿舍"]
_PHASE = ["", "", "", "一期", "二期", "三期", "六期"]
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢")
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌云芬琴梅兵鹏辉宇浩晨欣怡婷雪琳")
_DEDICATED = {"school": ["实验小学", "外国语学校", "第二中学", "幼儿园"],
              "market": ["农贸市场", "综合市场"], "office": ["商务中心", "金融大厦", "科技园"],
              "hospital": ["社区医院", "人民医院分院"], "business_street": ["美食街", "商业步行街"]}


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def place_name(rng: np.random.Generator, used: set[str], suffix: str) -> str:
    """Return an unused two-character place name plus suffix, e.g. '桂溪社区'."""
    for _ in range(500):
        name = _pick(rng, _PLACE_A) + _pick(rng, _PLACE_B) + suffix
        if name not in used:
            used.add(name)
            return name
    name = f"{_pick(rng, _PLACE_A)}{len(used)}号{suffix}"
    used.add(name)
    return name


def estate_name(rng: np.random.Generator, used: set[str]) -> str:
    """Return an unused residential compound name, e.g. '华润花园二期'."""
    for _ in range(500):
        name = _pick(rng, _ESTATE_A) + _pick(rng, _ESTATE_B) + _pick(rng, _PHASE)
        if name not in used:
            used.add(name)
            return name
    name = f"{_pick(rng, _ESTATE_A)}{len(used)}号院"
    used.add(name)
    return name


def dedicated_name(rng: np.random.Generator, community: str, kind: str) -> str:
    """Return a dedicated-grid name for a school, market, office tower … in a community."""
    return community.removesuffix("社区") + _pick(rng, _DEDICATED[kind])


def person_name(rng: np.random.Generator) -> str:
    """Return a plausible Chinese personal name (2 or 3 characters)."""
    given = _pick(rng, _GIVEN) + (_pick(rng, _GIVEN) if rng.random() < 0.7 else "")
    return _pick(rng, _SURNAMES) + given


def phone_number(rng: np.random.Generator) -> str:
    """Return a fake mobile number in the 199-00xx block, never shown unmasked in the demo."""
    return "19900" + "".join(str(int(d)) for d in rng.integers(0, 10, 6))
